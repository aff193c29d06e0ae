"""How long the server takes to render the front desk for a full evening: the demo restaurant, or `big`.

Run: .venv/bin/python bench/desk.py   (or DATABASE_URL=postgres://... .venv/bin/python bench/desk.py)
It builds a throw-away test database, seeds the demo restaurant and its users, books a full Saturday
(60 parties, through the booking service, so every rule holds) and a quiet Tuesday (10), then times the
whole desk page and the polled board, as a logged-in host, and prints one table. Never run as a test.
The issue's target: a full evening well under 200 ms.

`--big`: the same at `big` (1,200 bookings a day, a year of history) in DATABASE_URL's own database, built
with `seed_load` when it is missing (`make bench-chain`), as a host of `big` (created once, `bench-host`).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "--big" in sys.argv:  # DATABASE_URL's own database, with production's settings (DEBUG off, plain http)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 20 + "x9Z2q")
    os.environ.setdefault("HTTPS", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.test_settings")  # a throw-away database, like the tests

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from reservations.services.demo import demo_restaurant_reset, demo_users_reset, steakhouse_reset  # noqa: E402
from reservations.services.demo_evening import demo_evening_book  # noqa: E402

ROUNDS = 30
PASSWORD = "bench-password-1"


def next_weekday(weekday: int) -> object:
    start = timezone.localdate() + timedelta(weeks=2)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def timed(fn, rounds: int = ROUNDS) -> tuple[float, float]:
    """Median wall-clock and median CPU milliseconds: on a shared machine the CPU time is the render's own cost,
    the wall clock adds whatever else the cores were doing."""
    wall, cpu = [], []
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def big_rows(rounds: int) -> list[tuple]:
    """The desk at `big`, in DATABASE_URL's database: day+5 (a full day) and today, both views."""
    from django.core.management import call_command

    from reservations import selectors
    from reservations.models import Reservation, Restaurant, StaffMembership

    if not Restaurant.objects.filter(slug="big").exists():
        call_command("seed_load")
    big = Restaurant.objects.get(slug="big")
    host, _ = get_user_model().objects.get_or_create(username="bench-host")
    StaffMembership.objects.get_or_create(user=host, restaurant=big, defaults={"role": StaffMembership.Role.HOST})
    client = Client()
    client.force_login(host)
    today = timezone.localdate(timezone=big.tz)
    rows = []
    for label, day in (("big, today", today), ("big, day+5", today + timedelta(days=5))):
        count = Reservation.objects.filter(restaurant=big, start__range=selectors.local_day_range(big, day)).count()
        for view in ("timeline", "list"):
            for part, url in (("page", f"/desk/big/?date={day}&view={view}&service=0"),
                              ("board (polled)", f"/desk/big/board/?date={day}&view={view}&service=0")):
                assert client.get(url).status_code == 200
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url)
                count_queries = len(queries)
                median, cpu = timed(lambda url=url: client.get(url), rounds)
                rows.append((label, count, view, part, count_queries, len(response.content) // 1024, median, cpu))
    return rows


def main() -> None:
    if "--big" in sys.argv:
        rounds = 10
        rows = big_rows(rounds)
        print(f"The front desk at big, server render as a logged-in host — {connection.vendor}, {rounds} rounds "
              "each (one service: the day's only one)\n")
        print_rows(rows)
        return
    setup_test_environment()
    settings.SMS_BACKEND = "file"  # the confirmations go to a file, not the console
    settings.SMS_FILE_PATH = os.devnull
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        samna = demo_restaurant_reset()
        steakhouse_reset()
        demo_users_reset(password=PASSWORD)
        host = get_user_model().objects.get(username="host")
        saturday, tuesday = next_weekday(5), next_weekday(1)
        full = demo_evening_book(restaurant=samna, day=saturday, parties=60, by=host)
        quiet = demo_evening_book(restaurant=samna, day=tuesday, parties=10, by=host)
        client = Client()
        client.force_login(host)  # no password check: the login lockout is not what is measured
        rows = []
        for label, day, count in (("quiet Tuesday", tuesday, len(quiet)), ("full Saturday", saturday, len(full))):
            for view in ("timeline", "list"):
                for part, url in (("page", f"/desk/samna/?date={day}&view={view}"),
                                  ("board (polled)", f"/desk/samna/board/?date={day}&view={view}")):
                    assert client.get(url).status_code == 200
                    with CaptureQueriesContext(connection) as queries:
                        response = client.get(url)
                    count_queries = len(queries)  # now: the log is read lazily, and the next request clears it
                    median, cpu = timed(lambda url=url: client.get(url))
                    rows.append((label, count, view, part, count_queries, len(response.content) // 1024, median,
                                 cpu))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"The front desk, server render as a logged-in host — {connection.vendor}, {ROUNDS} rounds each\n")
    print_rows(rows)
    print(f"\nMedians of {ROUNDS} rounds. The same number of queries for 10 and 60 bookings: nothing is looked up "
          "per booking.")


def print_rows(rows: list[tuple]) -> None:
    header = (f"{'evening':14} {'bookings':>8} {'view':>9} {'part':>15} {'queries':>8} {'KiB':>5} "
              f"{'wall ms':>8} {'CPU ms':>7}")
    print(header)
    print("-" * len(header))
    for label, count, view, part, queries, size, median, cpu in rows:
        print(f"{label:14} {count:>8} {view:>9} {part:>15} {queries:>8} {size:>5} {median:>8.1f} {cpu:>7.1f}")


if __name__ == "__main__":
    main()
