"""Where 8 clients' bookings at `big` spend the machine: CPU per booking by process, and what PostgreSQL waits on.

Run after `bench/bookings.py` (it builds both seeds):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> BENCH_REDIS_URL=redis://127.0.0.1:6379/<n> \
        .venv/bin/python bench/bookings_where.py [--rounds 3]
Never run as a test.

The same server as bench/bookings.py (gunicorn gthread 2×8, production settings) on each database, 8 clients on 8
different open days (every answer a 201), `--rounds` volleys of 80 bookings. Around them it reads the CPU time
(/proc) of the gunicorn processes, of PostgreSQL's backends serving this database and of this client process, each
divided by the bookings made. Then one more volley while a separate connection samples `pg_stat_activity` every
2 ms for this database's backends: on CPU (active, no wait event), idle in a transaction (the worker's Python
between statements), waiting for a lock, for the WAL (a commit's flush), or anything else.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import redis
from bookings import CLIENTS, PER_CLIENT, TZ, django_env, seed_state, start_server, volley  # bench/bookings.py
from harness import stop_server  # bench/harness.py

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (the fields after the command's name)
    return total / TICK


def gunicorn_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def backend_pids(conninfo: str, dbname: str) -> list[int]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [dbname]
        ).fetchall()
    return [pid for (pid,) in rows]


def sample_waits(conninfo: str, dbname: str, stop: threading.Event, seen: Counter) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not stop.is_set():
            for state, kind, event in conn.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                [dbname],
            ):
                if state == "idle" and event == "ClientRead":
                    seen["idle (between requests, or autocommit between statements)"] += 1
                elif state == "idle in transaction":
                    seen["idle in transaction (the worker's Python inside a transaction)"] += 1
                elif state == "active" and kind is None:
                    seen["active on CPU"] += 1
                else:
                    seen[f"{state}: {kind}/{event}"] += 1
            time.sleep(0.002)


def run(label: str, env: dict, pg_conninfo: str | None, dbname: str, today, rounds: int) -> None:
    process, port = start_server(env)
    try:
        volley(port, [today + timedelta(days=60)] * CLIENTS, 2, 9_100_000)  # warm every thread's connection
        web = gunicorn_pids(process.pid)
        db = backend_pids(pg_conninfo, dbname) if pg_conninfo else []
        web0, db0, me0 = cpu_seconds(web), cpu_seconds(db), resource.getrusage(resource.RUSAGE_SELF)
        began, made = time.perf_counter(), 0
        for r in range(rounds):
            days = [today + timedelta(days=41 + 10 * r + i) for i in range(CLIENTS)]
            rate, ms, statuses = volley(port, days, PER_CLIENT, 6_000_000 + r * 100_000)
            made += len(ms)
        wall = time.perf_counter() - began
        me1 = resource.getrusage(resource.RUSAGE_SELF)
        web_cpu, db_cpu = cpu_seconds(web) - web0, cpu_seconds(db) - db0
        me_cpu = (me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)
        seen: Counter = Counter()
        if pg_conninfo:
            stop = threading.Event()
            sampler = threading.Thread(target=sample_waits, args=(pg_conninfo, dbname, stop, seen))
            sampler.start()
            volley(port, [today + timedelta(days=41 + 10 * rounds + i) for i in range(CLIENTS)], PER_CLIENT, 6_900_000)
            stop.set()
            sampler.join()
        print(
            f"\n{label}: {made} bookings in {wall:.1f} s = {made / wall:.1f}/s; CPU ms per booking: gunicorn "
            f"{web_cpu / made * 1000:.1f}, PostgreSQL backends {db_cpu / made * 1000:.1f}, this client "
            f"{me_cpu / made * 1000:.1f} (2 cores: {2 * wall / made * 1000:.1f} ms of CPU per booking exist)"
        )
        total = sum(seen.values()) or 1
        for what, n in seen.most_common():
            print(f"  {n / total:6.1%}  {what}")
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pg_url = os.environ["DATABASE_URL"]
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    cache = redis.Redis.from_url(redis_url)
    dbname = pg_url.rsplit("/", 1)[1]
    conninfo = pg_url.replace("postgres://", "postgresql://")
    today = datetime.now(TZ).date()
    pg_env = django_env(pg_url)
    template = sorted(Path("/tmp").glob(f"cxhost-bench-big-30x1200-h365-{today.isoformat()}.sqlite3"))
    if not template:
        sys.exit("Run bench/bookings.py first: it builds today's SQLite seed.")
    run_copy = Path("/tmp/cxhost-bench-where-run.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run_copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template[0], run_copy)
    seed_state(pg_env)
    try:
        cache.flushdb()
        run("PostgreSQL", dict(pg_env, REDIS_URL=redis_url), conninfo, dbname, today, args.rounds)
        cache.flushdb()
        run("SQLite", dict(django_env(f"sqlite:///{run_copy}"), REDIS_URL=redis_url), None, dbname, today, args.rounds)
    finally:
        seed_state(pg_env)  # deletes the bench's bookings (bench/bookings.py's mark)
        cache.flushdb()


if __name__ == "__main__":
    main()
