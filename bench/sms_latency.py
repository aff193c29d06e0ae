"""Booking → confirmation SMS handed to the backend, with a real Celery worker on Redis: p50 / p95.

Run: .venv/bin/python bench/sms_latency.py   (DATABASE_URL=postgres://... for PostgreSQL; BENCH_REDIS_URL to
choose the broker, default redis://127.0.0.1:6379/9, a database number of its own that the bench empties).
It builds a throw-away database, starts `celery worker` (file backend) on it, makes bookings at a steady
pace and in a burst, and prints one table. The latency is the message's `sent_at` (the backend returned)
minus the booking's `created_at` (inside its transaction), both from this machine's clock. Never run as a test.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.test_settings")  # a throw-away database, like the tests
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ["REDIS_URL"] = REDIS  # this process publishes to Redis, as the web process does
WORK = Path(tempfile.mkdtemp(prefix="cxhost-bench-sms-"))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The worker is another process: the database must be a file, not SQLite's in-memory test database.
    settings.DATABASES["default"]["TEST"] = {"NAME": str(WORK / "bench.sqlite3")}
django.setup()

import redis  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from reservations.models import OutboundMessage  # noqa: E402
from reservations.services.booking import reservation_create  # noqa: E402
from reservations.services.demo import demo_restaurant_reset  # noqa: E402
from reservations.services.guests import GuestDetails  # noqa: E402

TIMES = [f"{h:02d}:{m:02d}" for h in range(12, 22) for m in (0, 30)]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(str(s["PASSWORD"]), safe="")
    return f"postgres://{auth + '@' if auth else ''}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def start_worker(outbox: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": REDIS, "SMS_BACKEND": "file",
           "SMS_FILE_PATH": str(outbox), "CONN_MAX_AGE": "0"}
    log = (WORK / "worker.log").open("wb")
    worker = subprocess.Popen([str(PROJECT / ".venv" / "bin" / "celery"), "-A", "cxhost", "worker", "--loglevel=INFO",
                               "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while b"ready." not in (WORK / "worker.log").read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not start:\n" + (WORK / "worker.log").read_text()[-3000:])
        time.sleep(0.1)
    return worker


def book(samna, day, i: int):
    return reservation_create(restaurant=samna, start=_at(samna, day + timedelta(days=i // len(TIMES)),
                                                           TIMES[i % len(TIMES)]),
                              party_size=2, channel="phone", guest=GuestDetails(name=f"G{i}", phone=f"+3806700{i:05d}"))


def _at(restaurant, day, hhmm):
    from datetime import datetime

    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=restaurant.tz)


def measure(name: str, ids: list[int]) -> tuple:
    deadline = time.monotonic() + 60
    while OutboundMessage.objects.filter(reservation_id__in=ids, status="sent").count() < len(ids):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    rows = OutboundMessage.objects.filter(reservation_id__in=ids, status="sent").select_related("reservation")
    ms = sorted((m.sent_at - m.reservation.created_at).total_seconds() * 1000 for m in rows)
    if not ms:
        return name, len(ids), 0, "-", "-", "-"
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return name, len(ids), len(ms), f"{statistics.median(ms):.0f}", f"{p95:.0f}", f"{ms[-1]:.0f}"


def main() -> None:
    redis.Redis.from_url(REDIS, socket_connect_timeout=3).flushdb()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    worker = None
    try:
        samna = demo_restaurant_reset()
        day = timezone.localdate() + timedelta(days=14)
        worker = start_worker(WORK / "sms.jsonl")
        book(samna, day, 0)  # warm the worker's imports and connections
        time.sleep(1)
        steady = []
        for i in range(1, 51):
            steady.append(book(samna, day, i).pk)
            time.sleep(0.1)
        burst = [book(samna, day, i).pk for i in range(51, 151)]
        rows = [measure("steady, 10 bookings/s", steady), measure("burst, back to back", burst)]
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
        connection.creation.destroy_test_db(old_name, verbosity=0)
    header = ("run", "bookings", "sent", "p50 ms", "p95 ms", "max ms")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"booking → SMS handed to the backend, real worker on {REDIS} ({connection.vendor})")
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
