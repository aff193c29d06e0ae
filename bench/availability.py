"""How a day's availability costs as the restaurant grows: time and queries, against the demo as baseline.

Run: make bench   (or DATABASE_URL=postgres://... .venv/bin/python bench/availability.py)
It builds a throw-away test database, measures the demo restaurant (the
baseline) and the same restaurant grown 10x and 30x in tables and bookings,
and prints one table. Never run as a test.
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

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from reservations import engine, selectors  # noqa: E402
from reservations.models import Reservation, ReservationTable, Table  # noqa: E402
from reservations.services.demo import demo_restaurant_reset  # noqa: E402

ROUNDS = 30


def grow(restaurant, factor: int, day) -> None:
    base = Table.objects.filter(restaurant=restaurant, name__startswith="T").count()
    have = Table.objects.filter(restaurant=restaurant).count()
    tables = Table.objects.bulk_create(
        Table(restaurant=restaurant, name=f"X{i}", min_covers=1, max_covers=4) for i in range(have, base * factor)
    )
    tz = restaurant.tz
    bookings = []
    for days_back in range(60):
        for i in range(len(tables)):
            start = datetime.combine(day - timedelta(days=days_back), clock(12)).replace(tzinfo=tz)
            start += timedelta(minutes=90 * (i % 7))
            bookings.append(Reservation(restaurant=restaurant, party_size=2, start=start,
                                        end=start + timedelta(minutes=90), channel="phone"))
    Reservation.objects.bulk_create(bookings, batch_size=2000)
    ReservationTable.objects.bulk_create(
        (ReservationTable(reservation=r, table=tables[i % len(tables)], start=r.start, end=r.end)
         for i, r in enumerate(bookings)),
        batch_size=2000,
    )
    restaurant.save()


def timed(fn) -> float:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def measure(restaurant, day, client) -> dict:
    url = f"/api/v1/restaurants/{restaurant.slug}/availability/?date={day.isoformat()}&party_size=2"

    def engine_only():
        plan = selectors.day_plan(restaurant, day)
        engine.availability(plan, party_size=2, channel="phone", now=timezone.now())

    def cold():
        selectors.clear_config_cache()
        engine_only()

    selectors.clear_config_cache()
    with CaptureQueriesContext(connection) as cold_queries:
        client.get(url)
    with CaptureQueriesContext(connection) as warm_queries:
        client.get(url)
    return {
        "tables": Table.objects.filter(restaurant=restaurant).count(),
        "bookings": Reservation.objects.filter(restaurant=restaurant).count(),
        "queries": f"{len(cold_queries)}/{len(warm_queries)}",
        "warm_ms": timed(engine_only),
        "cold_ms": timed(cold),
        "http_ms": timed(lambda: client.get(url)),
    }


def main() -> None:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        client = APIClient()
        day = timezone.localdate() + timedelta(days=15)
        samna = demo_restaurant_reset()
        rows = [("demo (baseline)", measure(samna, day, client))]
        for factor in (10, 30):
            grow(samna, factor, day)
            rows.append((f"{factor}x tables, 60 days of history", measure(samna, day, client)))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    base = rows[0][1]
    print(f"Availability for one day, party of 2 — {connection.vendor}, median of {ROUNDS} rounds\n")
    header = (f"{'restaurant':34} {'tables':>6} {'bookings':>8} {'queries cold/warm':>18} {'warm ms':>8} "
              f"{'cold ms':>8} {'HTTP ms':>8} {'HTTP vs baseline':>17}")
    print(header)
    print("-" * len(header))
    for name, r in rows:
        print(f"{name:34} {r['tables']:>6} {r['bookings']:>8} {r['queries']:>18} {r['warm_ms']:>8.2f} "
              f"{r['cold_ms']:>8.2f} {r['http_ms']:>8.2f} {r['http_ms'] / base['http_ms']:>16.2f}x")
    print("\nwarm: day plan with the set-up cached + engine; cold: set-up loaded from the database too.")


if __name__ == "__main__":
    main()
