"""How long a booking holds the restaurant-day lock, and how many bookings a day's plan loads.

Run: DATABASE_URL=postgres://... .venv/bin/python bench/lock_scope.py   (SQLite without DATABASE_URL)
It builds a throw-away test database, the demo restaurant grown to 200 tables, each turned
five times a day (about 1,000 bookings a day) for ten days either side of the measured day, then, in process
(Django's test client, so no network and no server; every figure is also given as a ratio to `/healthz/`
measured the same way in the same run):
  - `/healthz/`, and the day's availability (party of 2), with how many bookings the day's plan loads;
  - a booking that is made (201) and one that is refused (409, with its alternatives): the whole request, how
    long the day lock was held (from the first locking statement to the commit), and the statements run under it.
Never run as a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.test_settings")  # a throw-away database, like the tests

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from reservations import selectors  # noqa: E402
from reservations.models import Reservation, ReservationTable, Table  # noqa: E402
from reservations.services import locking  # noqa: E402
from reservations.services.demo import demo_restaurant_reset  # noqa: E402

ROUNDS = 30
TABLES = 200  # the demo's 12 and 188 more
DAYS_EITHER_SIDE = 10


def lock_held() -> bool:
    owner = locking._transaction_owner()
    return owner is not None and getattr(connection, locking._LOCK_OWNER, None) is owner


class LockWatch:
    """Times the day lock from its first statement to the commit of the transaction that took it."""

    def __init__(self) -> None:
        self.taken: float | None = None
        self.released: float | None = None
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        if lock_held():
            self.statements += 1
            if self.taken is None:
                self.taken = time.perf_counter()
        return execute(sql, params, many, context)

    def commit(self, real):
        def wrapped():
            # The first commit once the lock is taken ends the transaction that took it (no request here runs a
            # transaction around the service's own).
            real()
            if self.taken is not None and self.released is None:
                self.released = time.perf_counter()
        return wrapped


def grow(restaurant, day) -> None:
    tables = Table.objects.bulk_create(
        Table(restaurant=restaurant, name=f"X{i}", min_covers=1, max_covers=4) for i in range(TABLES - 12))
    tz = restaurant.tz
    bookings = []
    for offset in range(-DAYS_EITHER_SIDE, DAYS_EITHER_SIDE + 1):
        for _table in tables:
            # Every table turned five times from noon; free from 19:30, so a party of two still books at 20:00.
            for turn in range(5):
                start = datetime.combine(day + timedelta(days=offset), clock(12)).replace(tzinfo=tz)
                start += timedelta(minutes=90 * turn)
                bookings.append(Reservation(restaurant=restaurant, party_size=2, start=start,
                                            end=start + timedelta(minutes=90), channel="phone"))
    Reservation.objects.bulk_create(bookings, batch_size=2000)
    ReservationTable.objects.bulk_create(
        (ReservationTable(reservation=r, table=tables[(i // 5) % len(tables)], start=r.start, end=r.end)
         for i, r in enumerate(bookings)), batch_size=2000)
    restaurant.save()


def median_ms(fn) -> float:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def booking_rounds(client, body: dict, status: int) -> tuple[float, float, float]:
    """Median request ms, median lock-held ms, statements under the lock (the last round's)."""
    total, held, statements = [], [], 0
    real_commit = connection.commit
    for _ in range(ROUNDS):
        watch = LockWatch()
        connection.commit = watch.commit(real_commit)
        try:
            with connection.execute_wrapper(watch):
                began = time.perf_counter()
                response = client.post("/api/v1/restaurants/samna/reservations/", body, format="json")
                ended = time.perf_counter()
        finally:
            del connection.commit
        assert response.status_code == status, response.content
        total.append((ended - began) * 1000)
        held.append(((watch.released or ended) - watch.taken) * 1000)
        statements = watch.statements
    return statistics.median(total), statistics.median(held), statements


def main() -> None:
    setup_test_environment()
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = os.devnull
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        client = APIClient()
        day = timezone.localdate() + timedelta(days=15)
        samna = demo_restaurant_reset()
        grow(samna, day)
        plan = selectors.day_plan(samna, day)
        loaded = len(plan.bookings)
        on_day = Reservation.objects.filter(restaurant=samna, start__date=day).count()
        at = datetime.combine(day, clock(20)).replace(tzinfo=samna.tz).isoformat()
        eight = {"start": at, "party_size": 8, "channel": "online",
                 "guest": {"name": "Eight", "phone": "+380671110000"}}
        two = {**eight, "party_size": 2, "guest": {"name": "Two", "phone": "+380671110002"}}
        assert client.post("/api/v1/restaurants/samna/reservations/", eight, format="json").status_code == 201

        health = median_ms(lambda: client.get("/healthz/"))
        url = f"/api/v1/restaurants/samna/availability/?date={day.isoformat()}&party_size=2"
        availability = median_ms(lambda: client.get(url))
        refused = booking_rounds(client, eight, 409)
        made = booking_rounds(client, two, 201)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"Lock scope and one day's book — {connection.vendor}, in process, median of {ROUNDS} rounds; "
          f"{TABLES} tables, {on_day} bookings on the day\n")
    header = f"{'measure':44} {'ms':>8} {'vs /healthz/':>13} {'lock held ms':>13} {'stmts locked':>13}"
    print(header)
    print("-" * len(header))
    print(f"{'/healthz/':44} {health:>8.2f} {1:>12.1f}x")
    print(f"{f'availability, party 2 ({loaded} bookings loaded)':44} {availability:>8.2f} "
          f"{availability / health:>12.1f}x")
    for name, (ms, held, statements) in (("booking refused (409, alternatives)", refused),
                                         ("booking made (201)", made)):
        print(f"{name:44} {ms:>8.2f} {ms / health:>12.1f}x {held:>13.2f} {statements:>13}")


if __name__ == "__main__":
    main()
