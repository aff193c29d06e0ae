"""The recovery-offer sweep (`offers_sweep`, beat runs it every 30 s) with thousands of open turned-away cases.

Run: .venv/bin/python bench/offer_sweep.py                                   (SQLite)
     DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db of your own> .venv/bin/python bench/offer_sweep.py
It builds a throw-away test database (`test_<db>`) with the demo restaurant, every table held back all day
(so nothing is free to offer and no run makes an offer: each run is the sweep's steady state, the beat's
every 30 s), and seeds open `turned_away` cases — refusals with a phone, a third for past days (cases nobody
closed), the rest over the next 20 days, a few for the next hour. Each row: the sweep's time over RUNS runs
(after one warm-up), its queries, and the offers it made. Never run as a test.
"""

from __future__ import annotations

import os
import random
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

from recovery.models import RecoveryCase, RecoveryOffer  # noqa: E402
from recovery.services.offers import offers_sweep  # noqa: E402
from reservations.models import HoldBackRule, Refusal, Table  # noqa: E402
from reservations.services.demo import demo_restaurant_reset  # noqa: E402

SIZES = (2_350, 10_000)
RUNS = 5


def seed(restaurant, count: int, now: datetime, start_at: int) -> None:
    """`count` more open turned-away cases (refusals numbered from `start_at`)."""
    rng = random.Random(start_at)
    today = timezone.localdate(now, restaurant.tz)
    refusals = []
    for n in range(start_at, start_at + count):
        if n % 50 == 0:  # a few for the next hour
            start = now + timedelta(minutes=15 * rng.randint(1, 4))
        else:
            day = today + timedelta(days=rng.randint(-10, -1) if n % 3 == 0 else rng.randint(0, 20))
            start = datetime.combine(day, clock(18)).replace(tzinfo=restaurant.tz) + timedelta(
                minutes=15 * rng.randint(0, 15))
        start = start.replace(second=0, microsecond=0, minute=start.minute - start.minute % 15)
        refusals.append(Refusal(restaurant=restaurant, start=start, party_size=2, channel="online",
                                reasons=["fully_booked"], guest_name=f"Guest {n}", guest_phone=f"+38067{n:07d}",
                                phone_verified=True))  # proven: an unproven number is never offered
    refusals = Refusal.objects.bulk_create(refusals, batch_size=1000)
    for refusal in refusals:  # refused a day before the time they asked for, or a minute ago if that is later
        refusal.created_at = min(refusal.start - timedelta(days=1), now - timedelta(minutes=1))
    Refusal.objects.bulk_update(refusals, ["created_at"], batch_size=1000)
    RecoveryCase.objects.bulk_create([
        RecoveryCase(restaurant=restaurant, kind="turned_away", refusal=r, summary="turned away",
                     opened_at=r.created_at, respond_by=r.created_at + timedelta(minutes=15))
        for r in refusals], batch_size=1000)


def measure(now: datetime) -> dict:
    offers_sweep(now=now)  # warm-up
    times, queries = [], []
    for _ in range(RUNS):
        counted: list[int] = []

        def count(execute, sql, params, many, context, counted=counted):
            counted.append(1)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            began = time.perf_counter()
            offers_sweep(now=now)
            times.append((time.perf_counter() - began) * 1000)
        queries.append(len(counted))
    return {"p50": statistics.median(times), "max": max(times), "queries": max(queries),
            "offers": RecoveryOffer.objects.count()}


def main() -> None:
    settings.SMS_BACKEND = "console"
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        samna = demo_restaurant_reset()
        rule = HoldBackRule.objects.create(restaurant=samna, name="everything, all day", weekdays=list(range(7)),
                                           starts=clock(0), ends=clock(23, 59), release_minutes_before=0)
        rule.tables.set(Table.objects.filter(restaurant=samna))
        now = timezone.now()
        rows, seeded = [], 0
        for size in SIZES:
            seed(samna, size - seeded, now, seeded)
            seeded = size
            rows.append((size, measure(now)))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"\n{connection.vendor}: offers_sweep with open turned_away cases ({RUNS} runs after a warm-up)\n")
    print("| open cases | sweep p50 ms | sweep max ms | queries | offers made |")
    print("|---|---|---|---|---|")
    for size, m in rows:
        print(f"| {size:,} | {m['p50']:.0f} | {m['max']:.0f} | {m['queries']} | {m['offers']} |")


if __name__ == "__main__":
    main()
