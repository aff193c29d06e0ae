"""Chain scale (issue 9): `big` at full stretch, measured from outside against a real gunicorn on PostgreSQL.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/chain.py [--seed] [-n 200]
It seeds `big` with `seed_load` when asked (or when it is missing) and times that, starts gunicorn in one of two
shapes (`--shape production`, the default: gunicorn.conf.py's gthread, 2 processes x 8 threads, connections kept
60 s; `--shape issue`: 4 sync workers and a new connection per request, as the issue first measured), times N
sequential requests per URL after a warm-up — the last URL with one of the day's bookings changed before each
request, so that every request finds its process's day plan stale — counts each request's queries in-process
(cold: set-up and day plans forgotten; the day changed; warm), and prints one table where every figure is
also a ratio to `/healthz/` p50 measured in the same run (absolute times drift on a shared machine).
Never run as a test.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from harness import free_port, get, percentiles, stop_server, wait_healthy  # bench/harness.py

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a production-shaped server, DEBUG off
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("PUBLIC_THROTTLE_RATE", "1000000/min")  # the benchmark's volley is not an abuser
for _cap in ("PHONE", "PREFIX", "ADDRESS"):  # one address, one number range: not an abuser's
    os.environ.setdefault(f"PUBLIC_BOOKINGS_PER_{_cap}_PER_DAY", "1000000")
os.environ.setdefault("HTTPS", "0")  # plain http on this machine: no redirect to https

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from reservations import selectors  # noqa: E402
from reservations.models import Reservation, Restaurant  # noqa: E402

# (gunicorn arguments, CONN_MAX_AGE). gunicorn reads ./gunicorn.conf.py in every shape; the arguments win.
SHAPES = {
    "production": (["-c", "gunicorn.conf.py", "--workers", "2", "--threads", "8"], "60"),
    "issue": (["--workers", "4", "--worker-class", "sync", "--threads", "1"], "0"),
}


def start_server(port: int, shape: str) -> subprocess.Popen:
    arguments, conn_max_age = SHAPES[shape]
    process = subprocess.Popen(
        [str(PROJECT / ".venv" / "bin" / "gunicorn"), "cxhost.wsgi", "--bind", f"127.0.0.1:{port}",
         *arguments, "--timeout", "120", "--preload"],
        cwd=PROJECT, env=dict(os.environ, CONN_MAX_AGE=conn_max_age, GUNICORN_ACCESS_LOG=""),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_healthy(port, process)
    return process


def queries(path: str) -> str:
    """The request's queries in-process: cold (set-up and day plans forgotten) / the day changed since this
    process read it (its plan stale) / warm."""
    client = Client()
    counts = []
    for forget in (selectors.clear_config_cache, selectors.forget_day_plans, lambda: None):
        forget()
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path).status_code
        assert status == 200, (path, status)
        counts.append(len(captured))
    return "/".join(map(str, counts))


class Writer:
    """Touches one of the day's bookings (its notes, through another connection) before each request, so that
    every request finds the day changed since its process last read it: the day plan cache's worst case."""

    def __init__(self, restaurant: Restaurant, day) -> None:
        import psycopg

        self.connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        self.pk = Reservation.objects.filter(restaurant=restaurant, start__date=day, status="booked") \
            .values_list("pk", flat=True).first()

    def __call__(self) -> None:
        self.connection.execute("UPDATE reservations_reservation SET notes = %s WHERE id = %s",
                                [secrets.token_hex(4), self.pk])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", action="store_true", help="rebuild big first (seed_load), and time it")
    parser.add_argument("-n", type=int, default=200, help="timed requests per URL (200)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="production",
                        help="production (gthread, connections reused; default) or issue (4 sync, no reuse)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/chain.py measures PostgreSQL: set DATABASE_URL=postgres://…")

    seed_seconds = None
    if args.seed or not Restaurant.objects.filter(slug="big").exists():
        began = time.perf_counter()
        call_command("seed_load")
        seed_seconds = time.perf_counter() - began
    big = Restaurant.objects.get(slug="big")
    day = timezone.localdate(timezone=big.tz) + timedelta(days=5)
    bookings_that_day = sum(
        1 for s in Reservation.objects.filter(restaurant=big, start__date__range=(day - timedelta(days=1),
                                                                                 day + timedelta(days=1)))
        .values_list("start", flat=True) if s.astimezone(big.tz).date() == day)
    urls = [("/healthz/", "/healthz/", False)] + [
        (f"availability party {party}, day+5",
         f"/api/v1/restaurants/big/availability/?date={day.isoformat()}&party_size={party}", False)
        for party in (2, 8)
    ] + [("availability party 2, day changed", f"/api/v1/restaurants/big/availability/?date={day.isoformat()}"
          "&party_size=2", True)]
    counts = {name: (queries(path) if name != "/healthz/" else "-") for name, path, _ in urls}
    write = Writer(big, day)

    port = free_port()
    server = start_server(port, args.shape)
    try:
        rows = []
        for name, path, changed in urls:
            for _ in range(10):  # warm-up: every worker has loaded its set-up cache
                get(port, path)
            samples = []
            for _ in range(args.n):
                if changed:
                    write()  # not timed: the request after it is
                status, ms = get(port, path)
                assert status == 200, (path, status)
                samples.append(ms)
            rows.append((name, *percentiles(samples)))
    finally:
        stop_server(server)

    base = rows[0][1]
    total = Reservation.objects.filter(restaurant=big).count()
    arguments, conn_max_age = SHAPES[args.shape]
    print(f"Chain scale — PostgreSQL, gunicorn {' '.join(arguments)} (CONN_MAX_AGE {conn_max_age}), "
          f"{args.n} sequential requests per URL, one client, load average {os.getloadavg()[0]:.1f}")
    print(f"big: {total} bookings in all, {bookings_that_day} on {day} (day+5)"
          + (f"; seed_load took {seed_seconds:.1f} s" if seed_seconds is not None else "") + "\n")
    header = f"{'request':34} {'p50 ms':>8} {'p95 ms':>8} {'p50 ×healthz':>13} {'p95 ×healthz':>13} " \
             f"{'queries cold/day changed/warm':>30}"
    print(header)
    print("-" * len(header))
    for name, p50, p95 in rows:
        print(f"{name:34} {p50:>8.1f} {p95:>8.1f} {p50 / base:>12.1f}× {p95 / base:>12.1f}× {counts[name]:>30}")


if __name__ == "__main__":
    main()
