"""Many restaurants on one deployment (issue 9): a chain's 20 sites, the set-up cache and the throttle shared
by all processes or not, measured from outside against a real gunicorn on PostgreSQL.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> BENCH_REDIS_URL=redis://127.0.0.1:6379/<n> \
      .venv/bin/python bench/sites.py [--seed] [-n 400]
(a database of your own, migrated by it; the Redis database BENCH_REDIS_URL is flushed). It builds the chain with
`seed_load --sites 20` when asked or missing, then starts the production shape (gunicorn.conf.py's gthread,
2 processes x 8 threads, CONN_MAX_AGE 60, DEBUG off, plain http) twice: with REDIS_URL (one shared cache) and
without (each process its own). In each it times day availability round-robin over the 20 sites with 1 client
and with 8, against /healthz/ p50 in the same run, and counts the set-up loads of all processes together from
PostgreSQL's own statistics (each load reads the restaurant's turn times once, and nothing else on this path
does). Then, with PUBLIC_THROTTLE_RATE 50/min, several clients hammer one site: how many are let through.
The queries per request (cold, set-up from the shared cache, warm) are counted in-process. Never a test.

gunicorn's max_requests recycling is switched off here (GUNICORN_MAX_REQUESTS=0) so a recycled worker's
fresh start does not blur the load counts; everything else is gunicorn.conf.py's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from datetime import timedelta
from pathlib import Path

from harness import free_port, get, percentiles, stop_server, wait_healthy  # bench/harness.py

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
for name in ("REDIS_URL", "CACHE_URL", "DEBUG"):  # this process: its own cache; the servers get theirs below
    os.environ.pop(name, None)
os.environ["DJANGO_SETTINGS_MODULE"] = "cxhost.settings"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a production-shaped server, DEBUG off
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ["HTTPS"] = "0"  # plain http on this machine: no redirect to https

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, in-process: no collected static here

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from reservations import selectors  # noqa: E402
from reservations.models import Reservation, Restaurant  # noqa: E402

SITES = 20
THROTTLE_RATE = 50  # a minute
THROTTLE_CLIENTS = 6
THROTTLE_REQUESTS = 300  # in all, well within the minute
GUNICORN = ["-c", "gunicorn.conf.py", "--workers", "2", "--threads", "8"]
WORKERS = 2


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen:
    log = open(f"/tmp/cxhost-bench-sites-{port}.log", "wb")  # noqa: SIM115 - open while the server runs
    process = subprocess.Popen(
        [str(PROJECT / ".venv" / "bin" / "gunicorn"), "cxhost.wsgi", "--bind", f"127.0.0.1:{port}", *GUNICORN,
         "--timeout", "120"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_healthy(port, process, log=log.name)
    return process


def setup_loads(database_url: str) -> int:
    """Set-up loads so far by every process on this database: each reads the turn times once (selectors)."""
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
        return db.execute("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                          "WHERE relname = 'reservations_turntime'").fetchone()[0]


def volley(port: int, paths: list[str], clients: int, per_client: int) -> tuple[list[float], Counter, float]:
    """`clients` threads, each its `per_client` requests round-robin over `paths` from its own starting site."""
    samples: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def run(first: int) -> None:
        mine, seen = [], Counter()
        for i in range(per_client):
            status, ms = get(port, paths[(first + i) % len(paths)])
            mine.append(ms)
            seen[status] += 1
        with lock:
            samples.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=run, args=(c * len(paths) // clients,)) for c in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, statuses, time.perf_counter() - began


def queries_per_request(path: str, redis_url: str | None) -> str:
    """In-process: cold (nothing cached anywhere) / another process's first (set-up in the shared cache only;
    with no shared cache that is cold again) / warm."""
    caches = ({"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                           "KEY_PREFIX": "cxhost-cache"}} if redis_url else
              {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"}})
    client = Client()
    counts = []
    with override_settings(CACHES=caches):
        selectors.clear_config_cache()
        for step in ("cold", "other process", "warm"):
            if step == "other process":
                with selectors._cache_lock:  # this process forgets; the shared copy (if any) stays
                    selectors._CONFIG_CACHE.clear()
                selectors.forget_day_plans()  # day plans are never shared: another process reads the day itself
                if not redis_url:  # without Redis the "shared" copy is this process's own memory: another lacks it
                    cache.clear()
            with CaptureQueriesContext(connection) as captured:
                status = client.get(path).status_code
            assert status == 200, (path, status)
            counts.append(len(captured))
        selectors.clear_config_cache()
    return "/".join(map(str, counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", action="store_true", help="rebuild the 20 sites first (seed_load --sites 20)")
    parser.add_argument("-n", type=int, default=400, help="timed availability requests per volley (400)")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if connection.vendor != "postgresql" or not database_url.startswith("postgres"):
        raise SystemExit("bench/sites.py measures PostgreSQL: set DATABASE_URL=postgres://… (a database of your own)")
    if not redis_url.startswith("redis"):
        raise SystemExit("Set BENCH_REDIS_URL=redis://127.0.0.1:6379/<n>: a Redis database of your own (flushed).")

    call_command("migrate", verbosity=0)  # a database of its own may be new
    seed_seconds = None
    slugs = [f"site-{n:02d}" for n in range(1, SITES + 1)]
    if args.seed or Restaurant.objects.filter(slug__in=slugs).count() < SITES:
        began = time.perf_counter()
        call_command("seed_load", sites=SITES)
        seed_seconds = time.perf_counter() - began
    sites = list(Restaurant.objects.filter(slug__in=slugs).order_by("slug"))
    day = timezone.localdate(timezone=sites[0].tz) + timedelta(days=1)
    per_day = Reservation.objects.filter(restaurant=sites[0], start__date__range=(day - timedelta(days=1),
                                                                                  day + timedelta(days=1)))
    bookings_that_day = sum(1 for s in per_day.values_list("start", flat=True) if s.astimezone(sites[0].tz).date()
                            == day)
    tables = sites[0].tables.count()
    paths = [f"/api/v1/restaurants/{s.slug}/availability/?date={day.isoformat()}&party_size=2" for s in sites]
    flush = redis.Redis.from_url(redis_url)
    flush.flushdb()
    query_counts = {"shared": queries_per_request(paths[0], redis_url), "own": queries_per_request(paths[0], None)}
    connection.close()  # its statistics flushed now, not into the first server's count
    time.sleep(1.5)

    base_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL", "DEBUG")}
    base_env.update(CONN_MAX_AGE="60", GUNICORN_ACCESS_LOG="", GUNICORN_MAX_REQUESTS="0")
    modes = [("shared", "one Redis for both processes (REDIS_URL)", {"REDIS_URL": redis_url}),
             ("own", "each process its own (no REDIS_URL)", {})]
    rows = []
    for key, label, extra in modes:
        flush.flushdb()
        loads_before = setup_loads(database_url)
        port = free_port()
        server = start_server(port, dict(base_env, PUBLIC_THROTTLE_RATE="1000000/min", **extra))
        try:
            for _ in range(10):
                get(port, "/healthz/")
            health = [get(port, "/healthz/")[1] for _ in range(100)]
            one, one_statuses, _ = volley(port, paths, 1, args.n)
            eight, eight_statuses, eight_seconds = volley(port, paths, 8, args.n // 8)
        finally:
            stop_server(server)
        assert set(one_statuses) == {200} and set(eight_statuses) == {200}, (one_statuses, eight_statuses)
        time.sleep(1.5)  # the server's connections have closed and flushed their statistics
        loads = setup_loads(database_url) - loads_before

        # The throttle: THROTTLE_CLIENTS threads hammer one site at 50 a minute, across both workers.
        flush.flushdb()
        port = free_port()
        server = start_server(port, dict(base_env, PUBLIC_THROTTLE_RATE=f"{THROTTLE_RATE}/min", **extra))
        try:
            _, throttled, throttle_seconds = volley(port, paths[:1], THROTTLE_CLIENTS,
                                                    THROTTLE_REQUESTS // THROTTLE_CLIENTS)
        finally:
            stop_server(server)
        assert throttle_seconds < 50, "the volley outlasted the throttle's window: the count means nothing"
        base = statistics.median(health)
        rows.append((label, base, *percentiles(one), *percentiles(eight), len(eight) / eight_seconds, loads,
                     query_counts[key], throttled))
    flush.flushdb()

    print(f"\nMany restaurants on one deployment — PostgreSQL, gunicorn {' '.join(GUNICORN)} (CONN_MAX_AGE 60, "
          f"DEBUG off), load average {os.getloadavg()[0]:.1f}")
    print(f"{SITES} sites of {tables} tables in one group, {bookings_that_day} bookings on {day} (day+1) at each"
          + (f"; seed_load --sites {SITES} took {seed_seconds:.1f} s" if seed_seconds is not None else ""))
    print(f"Day availability, party 2, round-robin over the {SITES} sites: {args.n} requests with 1 client, "
          f"{args.n // 8 * 8} with 8. Set-up loads: all processes together, from PostgreSQL's statistics "
          f"(expected: {SITES} shared, up to {SITES} × {WORKERS} processes without). Queries per request: cold / "
          f"first in another process / warm. Throttle: {THROTTLE_CLIENTS} clients, {THROTTLE_REQUESTS} requests to "
          f"one site at {THROTTLE_RATE}/min.\n")
    print("| cache | /healthz/ p50 ms | 1 client p50 ms (× healthz) | 1 client p95 ms (×) | 8 clients p50 ms (×) "
          "| 8 clients p95 ms (×) | 8 clients req/s | set-up loads, all processes | queries cold/other/warm "
          "| throttle: 200s (429s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, base, p50, p95, p50_8, p95_8, rate, loads, counts, throttled in rows:
        print(f"| {label} | {base:.1f} | {p50:.1f} ({p50 / base:.1f}×) | {p95:.1f} ({p95 / base:.1f}×) "
              f"| {p50_8:.1f} ({p50_8 / base:.1f}×) | {p95_8:.1f} ({p95_8 / base:.1f}×) | {rate:.0f} | {loads} "
              f"| {counts} | {throttled.get(200, 0)} ({throttled.get(429, 0)}) |")


if __name__ == "__main__":
    main()
