"""Where one online booking's time goes at `big`: statements, transactions and a pyinstrument profile, in-process.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \
          .venv/bin/python bench/booking_profile.py [--rounds 20] [--profile]
(`big` seeded there already: `bench/bookings.py` or `manage.py seed_load`). Never run as a test.

Production settings (DEBUG off, persistent connection, Redis for the cache and the task queue; no Celery worker),
the request through Django's test client — the whole stack but the HTTP server. For an open day (every answer a
201) and a full one (nearly every answer a 409 with alternatives) it prints the median wall and CPU time per
request, every statement of one request with its time (the day's plan marked apart: it is being cached elsewhere),
the transactions that wrote (each a WAL flush on PostgreSQL with synchronous_commit on), and with --profile
pyinstrument's tree of one request. Its own bookings and refusals (marked) are deleted before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.update(
    DJANGO_SETTINGS_MODULE="cxhost.settings",
    DEBUG="0",
    CONN_MAX_AGE="60",
    HTTPS="0",
    SECRET_KEY="bench-" + "k" * 20 + "x9Z2q",
    ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    PUBLIC_THROTTLE_RATE="1000000/min",
    # The benchmark's bookings come from one address and one number range: not an abuser's (public_caps.py).
    PUBLIC_BOOKINGS_PER_PHONE_PER_DAY="1000000",
    PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY="1000000",
    PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY="1000000",
    SMS_BACKEND="file",
    SMS_FILE_PATH=os.devnull,
)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from reservations.models import Refusal, Reservation, Restaurant  # noqa: E402

MARK = "bench/booking_profile.py"
URL = "/api/v1/restaurants/big/reservations/"
SLOTS = [f"{h:02d}:{m:02d}" for h in range(11, 23) for m in (0, 15, 30, 45) if (h, m) <= (22, 30)]
PLAN_TABLES = ("reservations_reservationtable", "reservations_tablehold", "recovery_")  # the day's plan reads


class Watch:
    """Every statement (sql, ms, inside a transaction block) and every commit (ms) of the connection."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float, bool]] = []
        self.commits: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, (time.perf_counter() - began) * 1000, connection.in_atomic_block))


def label(sql: str) -> str:
    text = " ".join(sql.split())
    verb = text.split(" ", 1)[0].upper()
    tables = re.findall(r'(?:FROM|INTO|UPDATE|JOIN) "([a-z_]+)"', text)
    if verb == "SELECT" and "pg_" in text and not tables:
        return text[:60]
    return f"{verb} {tables[0] if tables else text[:60]}"


def post(client: Client, day, slot: str, n: int):
    body = {
        "start": f"{day.isoformat()}T{slot}",
        "party_size": 2,
        "channel": "online",
        "notes": MARK,
        "guest": {"name": f"Profile {n}", "phone": f"+38063{n:07d}"},
    }
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_HOST="127.0.0.1",
        HTTP_IDEMPOTENCY_KEY=f"profile-{n}-{time.time_ns()}",
    )


def watched(client: Client, day, slot: str, n: int):
    watch = Watch()
    real_commit = connection.commit

    def commit():
        began = time.perf_counter()
        try:
            return real_commit()
        finally:
            watch.commits.append((time.perf_counter() - began) * 1000)

    connection.commit = commit
    try:
        with connection.execute_wrapper(watch):
            wall, cpu = time.perf_counter(), time.process_time()
            response = post(client, day, slot, n)
            wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    finally:
        del connection.commit
    return response, watch, wall, cpu


WRITES = ("INSERT", "UPDATE", "DELETE")


def report(kind: str, samples: list, show: bool) -> None:
    walls = [s[2] for s in samples]
    cpus = [s[3] for s in samples]
    statuses: dict[int, int] = {}
    for response, *_ in samples:
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    response, watch, wall, cpu = samples[len(samples) // 2]
    plan = [(s, ms) for s, ms, _ in watch.statements if any(t in s for t in PLAN_TABLES) and s.startswith("SELECT")]
    sql_ms = sum(ms for _, ms, _ in watch.statements)
    # A write outside a block commits by itself; a block commits once however many it holds.
    writing = sum(1 for s, _, inside in watch.statements if not inside and s.split(" ", 1)[0].upper() in WRITES)
    print(f"\n## {kind}: {len(samples)} requests {statuses}")
    print(f"wall p50 {statistics.median(walls):.1f} ms, CPU p50 {statistics.median(cpus):.1f} ms (this process)")
    print(
        f"one request ({response.status_code}, {wall:.1f} ms wall): {len(watch.statements)} statements "
        f"taking {sql_ms:.1f} ms (the day's plan: {len(plan)}, {sum(ms for _, ms in plan):.1f} ms), "
        f"{len(watch.commits)} block commits ({', '.join(f'{ms:.1f}' for ms in watch.commits)} ms) "
        f"+ {writing} writes in autocommit"
    )
    if show:
        for sql, ms, inside in watch.statements:
            print(f"  {'T' if inside else ' '} {ms:6.2f} ms  {label(sql)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="pyinstrument's tree of one request of each kind")
    parser.add_argument("--quiet", action="store_true", help="no statement list")
    parser.add_argument(
        "--guests",
        type=int,
        default=7_000_000,
        help="the first guest's number (+38063…): a number not used before books a new guest",
    )
    args = parser.parse_args()
    big = Restaurant.objects.get(slug="big")
    today = timezone.localdate(timezone=big.tz)

    def clean() -> None:
        Reservation.objects.filter(restaurant=big, notes=MARK).delete()
        Refusal.objects.filter(restaurant=big, guest_name__startswith="Profile ").delete()

    clean()
    client = Client()
    try:
        for i in range(6):  # warm the set-up cache, the connection, the imports
            post(client, today + timedelta(days=90), SLOTS[i * 5], 8_000_000 + i)
        for kind, day, first in (
            ("open day (201)", today + timedelta(days=70), args.guests),
            ("full day (409)", today + timedelta(days=25), args.guests + 100_000),
        ):
            samples = [watched(client, day, SLOTS[(i * 7) % len(SLOTS)], first + i) for i in range(args.rounds)]
            report(kind, samples, not args.quiet)
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                with profiler:
                    post(client, day, SLOTS[(args.rounds * 7 + 3) % len(SLOTS)], first + args.rounds)
                print(profiler.output_text(unicode=True, color=False, show_all=False))
    finally:
        clean()


if __name__ == "__main__":
    main()
