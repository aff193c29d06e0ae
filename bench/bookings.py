"""Bookings at `big` through the production worker shape, PostgreSQL against SQLite: one table, ratios to /healthz/.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/bookings.py [--reseed]
(a PostgreSQL database of your own; `make bench-chain` runs it). Never run as a test.

Both databases hold the SAME seed (`seed_load`, the defaults below unless --days/--per-day/--history-days say
otherwise): PostgreSQL's `big` is (re)built when its counts differ from the seed's, SQLite's once into
/tmp/cxhost-bench-big-<seed>.sqlite3 (bulk_create: a few minutes) and copied afresh for every run, so each run
starts from the seed. The bookings this bench makes at PostgreSQL's `big` (marked by their notes) are deleted
before and after it.

For each database it starts gunicorn with gunicorn.conf.py (gthread, 2 workers × 8 threads, CONN_MAX_AGE on,
DEBUG off, Redis for the cache and the task queue, as `make prod` does; no Celery worker, so the confirmations
only queue), measures /healthz/ alone, then online bookings for a party of 2 (times spread over the day, so the
full evening refuses some with alternatives and lunch takes others; each with its own Idempotency-Key):
- one client, sequential, on one day;
- 8 clients at once, each on a day of its own ("different days");
- 8 clients at once, all on one day ("one evening": every booking waits for that day's lock);
each on the seed's full days (1,200 bookings: only 11:00–11:30 still takes a party of 2, so nearly every
answer is a 409 with alternatives, the costly path) and on open days past the seed (every answer a 201).
Every request opens its own HTTP connection, /healthz/ too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from harness import free_port, stop_server  # bench/harness.py

PROJECT = Path(__file__).resolve().parent.parent
PY = str(PROJECT / ".venv" / "bin" / "python")
GUNICORN = str(PROJECT / ".venv" / "bin" / "gunicorn")
MARK = "bench/bookings.py"  # the notes of every booking this bench makes
TZ = ZoneInfo("Europe/Kyiv")  # big's (reservations/services/load.py)
HEALTH_ROUNDS = 100
ONE_CLIENT = 30
CLIENTS = 8
PER_CLIENT = 10
WORKERS, THREADS = 2, 8
# The day's slots a booking asks for: every 15 minutes from opening to the last seating (load.py).
SLOTS = [f"{h:02d}:{m:02d}" for h in range(11, 23) for m in (0, 15, 30, 45) if (h, m) <= (22, 30)]


def request(port: int, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, float]:
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Host": "127.0.0.1"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = key or secrets.token_hex(8)
        conn.request("POST" if body is not None else "GET", path,
                     body=json.dumps(body).encode() if body is not None else None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - began) * 1000
    finally:
        conn.close()


def booking(day: date, slot: str, n: int) -> dict:
    return {"start": f"{day.isoformat()}T{slot}", "party_size": 2, "channel": "online", "notes": MARK,
            "guest": {"name": f"Bench {n}", "phone": f"+38063{n:07d}"}}


def manage(env: dict, *args: str, quiet: bool = True) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=PROJECT, env=env, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def django_env(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL", "DEBUG", "CONN_MAX_AGE")}
    # The volley books from one address and one number range: not an abuser's (reservations/services/public_caps.py).
    UNCAPPED = {f"PUBLIC_BOOKINGS_PER_{k}_PER_DAY": "1000000" for k in ("PHONE", "PREFIX", "ADDRESS")}
    env.update(DATABASE_URL=database_url, CONN_MAX_AGE="60", DJANGO_SETTINGS_MODULE="cxhost.settings", HTTPS="0",
               SECRET_KEY="bench-" + "k" * 20 + "x9Z2q", ALLOWED_HOSTS="127.0.0.1,localhost",
               PUBLIC_THROTTLE_RATE="1000000/min", GUNICORN_ACCESS_LOG="", SMS_BACKEND="file",
               SMS_FILE_PATH=os.devnull, **UNCAPPED)
    return env


SEED_CHECK = """
from reservations.models import Reservation, Restaurant
from django.utils import timezone
big = Restaurant.objects.filter(slug="big").first()
if big is None:
    print("missing")
else:
    Reservation.objects.filter(restaurant=big, notes={mark!r}).delete()
    from reservations.models import Refusal
    Refusal.objects.filter(restaurant=big, guest_name__startswith="Bench ").delete()
    today = timezone.localdate(timezone=big.tz)
    ahead = Reservation.objects.filter(restaurant=big, status__in=["booked", "confirmed"]).count()
    done = Reservation.objects.filter(restaurant=big, status="completed").count()
    print(f"{{ahead}} {{done}} {{today.isoformat()}}")
"""


def seed_state(env: dict) -> str:
    """Deletes this bench's own bookings, then says what `big` holds: 'ahead completed seeded-today'."""
    out = subprocess.run([PY, "manage.py", "shell", "-c", SEED_CHECK.format(mark=MARK)], cwd=PROJECT, env=env,
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1] if out else ""  # the last line: Django's shell may announce its imports first


def start_server(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = open(f"/tmp/cxhost-bench-bookings-{port}.log", "wb")  # noqa: SIM115 - open while the server runs
    process = subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py", "--workers", str(WORKERS), "--threads",
                                str(THREADS), "--bind", f"127.0.0.1:{port}", "cxhost.wsgi"],
                               cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            if request(port, "/healthz/")[0] == 200:
                return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            sys.exit(f"gunicorn did not start: see {log.name}")
        time.sleep(0.3)


def volley(port: int, days: list[date], per_client: int, first: int) -> tuple[float, list[float], dict]:
    """len(days) clients at once, client i booking on days[i]: (bookings/s, every latency, statuses)."""
    url = "/api/v1/restaurants/big/reservations/"
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(len(days) + 1)

    def client(index: int) -> None:
        start_gate.wait()
        for i in range(per_client):
            slot = SLOTS[(index * 7 + i * 5) % len(SLOTS)]
            answer = request(port, url, booking(days[index], slot, first + index * 1000 + i))
            with lock:
                results.append(answer)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(days))]
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return len(results) / elapsed, [ms for _, ms in results], statuses


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(label: str, env: dict, today: date, cache: redis.Redis) -> list[tuple]:
    cache.flushdb()  # the set-up cache is keyed by ids: nothing of the other database's `big` may be read
    process, port = start_server(env)
    try:
        for _ in range(10):
            request(port, "/healthz/")
        health = [request(port, "/healthz/")[1] for _ in range(HEALTH_ROUNDS)]
        base = statistics.median(health)
        # Warm every thread's connection and set-up cache on days nobody measures.
        volley(port, [today + timedelta(days=20)] * CLIENTS, 2, 9_000_000)
        volley(port, [today + timedelta(days=60)] * CLIENTS, 2, 9_100_000)
        rows = [(label, "/healthz/", 1, len(health), None, base, p(health, 0.95), {200: len(health)}, base)]
        for workload, days, per_client, first in (
            ("1 client, a full day", [today + timedelta(days=6)], ONE_CLIENT, 1_000_000),
            ("1 client, an open day", [today + timedelta(days=40)], ONE_CLIENT, 1_100_000),
            ("8 clients, 8 different full days", [today + timedelta(days=7 + i) for i in range(CLIENTS)],
             PER_CLIENT, 2_000_000),
            ("8 clients, one full evening", [today + timedelta(days=16)] * CLIENTS, PER_CLIENT, 3_000_000),
            ("8 clients, 8 different open days", [today + timedelta(days=41 + i) for i in range(CLIENTS)],
             PER_CLIENT, 4_000_000),
            ("8 clients, one open evening", [today + timedelta(days=50)] * CLIENTS, PER_CLIENT, 5_000_000),
        ):
            rate, ms, status = volley(port, days, per_client, first)
            rows.append((label, workload, len(days), len(ms), rate, statistics.median(ms), p(ms, 0.95), status,
                         base, max(ms)))
        return rows
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=1200)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--reseed", action="store_true", help="rebuild both databases' big first")
    args = parser.parse_args()
    pg_url = os.environ.get("DATABASE_URL", "")
    if not pg_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of your own (big is built there when missing).")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    cache = redis.Redis.from_url(redis_url)
    seed = ["--days", str(args.days), "--per-day", str(args.per_day), "--history-days", str(args.history_days)]
    name = f"{args.days}x{args.per_day}-h{args.history_days}"  # no "+": a URL would read it as a space

    pg_env = django_env(pg_url)
    manage(pg_env, "migrate", "--noinput", "-v0")
    state = seed_state(pg_env).split()
    today = datetime.now(TZ).date()
    expected = [str(args.days * args.per_day), str(args.history_days * args.per_day), today.isoformat()]
    if args.reseed or state != expected:
        print(f"PostgreSQL: seed_load {' '.join(seed)} (big holds {state})", flush=True)
        manage(pg_env, "seed_load", *seed, quiet=False)

    template = Path(f"/tmp/cxhost-bench-big-{name}-{today.isoformat()}.sqlite3")
    if args.reseed or not template.exists():
        print(f"SQLite: seed_load {' '.join(seed)} into {template} (once a day)", flush=True)
        building = template.with_suffix(".building")
        building.unlink(missing_ok=True)
        sqlite_env = django_env(f"sqlite:///{building}")
        manage(sqlite_env, "migrate", "--noinput", "-v0")
        began = time.perf_counter()
        manage(sqlite_env, "seed_load", *seed, quiet=False)
        print(f"  {time.perf_counter() - began:.0f} s", flush=True)
        building.rename(template)
    manage(django_env(f"sqlite:///{template}"), "migrate", "--noinput", "-v0")  # a template built before a migration
    run_copy = Path("/tmp/cxhost-bench-bookings-run.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run_copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, run_copy)

    rows = []
    try:
        rows += measure("PostgreSQL", dict(pg_env, REDIS_URL=redis_url), today, cache)
        rows += measure("SQLite", dict(django_env(f"sqlite:///{run_copy}"), REDIS_URL=redis_url), today, cache)
    finally:
        seed_state(pg_env)  # PostgreSQL's big back to the seed
        cache.flushdb()  # the queued confirmations (no worker ran) and the cache

    print(f"\nBookings at big ({args.per_day} a day for {args.days} days, {args.history_days} days of history; "
          f"the same seed on both) — gunicorn gthread {WORKERS}×{THREADS}, CONN_MAX_AGE on, DEBUG off, "
          f"online party of 2\n")
    print("| database | workload | clients | requests | req/s | p50 ms | p95 ms | p50 × healthz | answers |")
    print("|---|---|--:|--:|--:|--:|--:|--:|---|")
    rates = {}
    for label, workload, clients, n, rate, p50, p95, statuses, base, *worst in rows:
        rates[(label, workload)] = rate
        print(f"| {label} | {workload} | {clients} | {n} | {'-' if rate is None else f'{rate:.1f}'} | {p50:.1f} "
              f"| {p95:.1f} | {p50 / base:.1f}× | {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))}"
              + (f" (worst {worst[0]:.0f} ms)" if worst else "") + " |")
    for kind in ("full", "open"):
        pg_diff = rates[("PostgreSQL", f"8 clients, 8 different {kind} days")]
        sq_diff = rates[("SQLite", f"8 clients, 8 different {kind} days")]
        pg_one = rates[("PostgreSQL", f"8 clients, one {kind} evening")]
        sq_one = rates[("SQLite", f"8 clients, one {kind} evening")]
        print(f"\n{kind} days: PostgreSQL / SQLite on different days {pg_diff / sq_diff:.2f}× (target ≥ 2); "
              f"one evening / different days: PostgreSQL {pg_one / pg_diff:.2f}, SQLite {sq_one / sq_diff:.2f} "
              f"(target ≥ 0.70)")


if __name__ == "__main__":
    main()
