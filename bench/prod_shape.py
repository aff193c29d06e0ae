"""The production worker model and connection reuse, measured from outside: one table, ratios to /healthz/.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxhost_bench .venv/bin/python bench/prod_shape.py
(a database of your own: it is migrated and the demo restaurant seeded into it). Never run as a test.

For each shape it starts gunicorn with the production settings (plain http) on the demo restaurant, then
measures /healthz/ and another day's availability alone, and again while one Saturday's book lock is held by
this script and BLOCKED bookings for that Saturday wait on it (as a busy evening does).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from harness import free_port  # bench/harness.py

PROJECT = Path(__file__).resolve().parent.parent
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"
ROUNDS = 60
BLOCKED = 8
HOLD_SECONDS = 6.0
SYNC = ["--workers", "4", "--worker-class", "sync", "--threads", "1"]
SHAPES = [
    # (label, gunicorn arguments, CONN_MAX_AGE). gunicorn reads ./gunicorn.conf.py in every shape; the arguments win.
    ("before: 4 sync workers, new connection per request", SYNC, "0"),
    ("4 sync workers, connections reused", SYNC, "60"),
    ("after: gthread 2 workers x 8 threads, reused (gunicorn.conf.py)", ["-c", "gunicorn.conf.py",
                                                                          "--workers", "2", "--threads", "8"], "60"),
]


def get(port: int, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of your own (it is migrated and seeded).")
    base_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL", "DEBUG")}
    base_env.update(DJANGO_SETTINGS_MODULE="cxhost.settings", HTTPS="0", SECRET_KEY="bench-" + "k" * 20 + "x9Z2q",
                    PUBLIC_THROTTLE_RATE="1000000/min", GUNICORN_ACCESS_LOG="",
                    # One address, one number range: not an abuser's (reservations/services/public_caps.py).
                    **{f"PUBLIC_BOOKINGS_PER_{k}_PER_DAY": "1000000" for k in ("PHONE", "PREFIX", "ADDRESS")})
    py = str(PROJECT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT, env=base_env, check=True)
    subprocess.run([py, "manage.py", "seed_demo", "--empty"], cwd=PROJECT, env=base_env, check=True,
                   stdout=subprocess.DEVNULL)
    saturday = date.today() + timedelta(days=(5 - date.today().weekday()) % 7 + 7)
    other_day = saturday + timedelta(days=3)
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
        restaurant_id = db.execute("SELECT id FROM reservations_restaurant WHERE slug = 'samna'").fetchone()[0]
        db.execute("INSERT INTO reservations_bookday (restaurant_id, date) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                   (restaurant_id, saturday))
    availability = f"/api/v1/restaurants/samna/availability/?date={other_day.isoformat()}&party_size=2"
    rows = []
    for label, arguments, conn_max_age in SHAPES:
        port = free_port()
        env = dict(base_env, CONN_MAX_AGE=conn_max_age)
        log = open(f"/tmp/cxhost-bench-gunicorn-{port}.log", "wb")  # noqa: SIM115 - open while the server runs
        process = subprocess.Popen([str(GUNICORN), *arguments, "--bind", f"127.0.0.1:{port}", "cxhost.wsgi"],
                                   cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if get(port, "/healthz/")[0] == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"gunicorn did not start: see {log.name}")
                time.sleep(0.3)
            for _ in range(10):  # warm every worker
                get(port, "/healthz/"), get(port, availability)
            health = [get(port, "/healthz/")[1] for _ in range(ROUNDS)]
            other = [get(port, availability)[1] for _ in range(ROUNDS // 2)]

            # A busy evening: this script holds Saturday's lock; BLOCKED bookings for Saturday wait on it.
            with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as holder:
                holder.execute("SELECT 1 FROM reservations_bookday WHERE restaurant_id = %s AND date = %s FOR UPDATE",
                               (restaurant_id, saturday))
                waits: list[tuple[int, float]] = []

                def book(i: int, port: int = port, waits: list = waits) -> None:
                    waits.append(get(port, "/api/v1/restaurants/samna/reservations/", "POST", {
                        "start": f"{saturday.isoformat()}T19:00", "party_size": 2, "channel": "online",
                        "guest": {"name": f"Bench {i}", "phone": f"+38067123{4000 + i}"}}))

                threads = [threading.Thread(target=book, args=(i,)) for i in range(BLOCKED)]
                for thread in threads:
                    thread.start()
                # The lock is let go on the clock, however long the requests below take (a stalled site too).
                release = threading.Timer(HOLD_SECONDS, holder.rollback)
                release.start()
                time.sleep(0.5)
                busy_health, busy_other = [], []
                until = time.monotonic() + HOLD_SECONDS - 1
                while time.monotonic() < until and len(busy_health) < ROUNDS:
                    busy_health.append(get(port, "/healthz/")[1])
                    busy_other.append(get(port, availability)[1])
                release.join()
            for thread in threads:
                thread.join()
            base = p50(health)
            rows.append((label, base, p50(other) / base, p50(busy_health), p50(busy_health) / base,
                         max(busy_health), p50(busy_other) / base, min(ms for _, ms in waits),
                         sorted({status for status, _ in waits})))
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)

    print(f"\nDemo restaurant, PostgreSQL; Saturday's lock held {HOLD_SECONDS:.0f} s, {BLOCKED} bookings waiting.\n")
    print("| shape | /healthz/ p50 ms | other day avail. p50 (x healthz) | /healthz/ while locked p50 ms (x) "
          "| /healthz/ while locked max ms | other day while locked p50 (x) | blocked bookings waited ms "
          "| their statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for label, base, other, busy, busy_ratio, busy_max, busy_other, waited, statuses in rows:
        print(f"| {label} | {base:.1f} | {other:.1f}x | {busy:.1f} ({busy_ratio:.1f}x) | {busy_max:.0f} "
              f"| {busy_other:.1f}x | {waited:.0f} | {statuses} |")


if __name__ == "__main__":
    main()
