"""Day availability at `big` on SQLite, with and without a year of history: flat, or growing with history?

Run (one SQLite file per history, each built with seed_load):
  DEBUG=1 DATABASE_URL=sqlite:////tmp/big_h0.sqlite3 .venv/bin/python manage.py migrate
  DEBUG=1 DATABASE_URL=sqlite:////tmp/big_h0.sqlite3 .venv/bin/python manage.py seed_load --history-days 0
  (the same for /tmp/big_h365.sqlite3 with --history-days 365)
  .venv/bin/python bench/sqlite_history.py /tmp/big_h0.sqlite3 /tmp/big_h365.sqlite3 [-n 30]
Each file is measured in its own process (in-process requests, Django's test client, DEBUG off): the median
of N requests for party 2 and 8 on day+5, /healthz/ for scale, the query count and SQLite's plan for the day's
bookings. Never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def measure(n: int) -> dict:
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("PUBLIC_THROTTLE_RATE", "1000000/min")
    for _cap in ("PHONE", "PREFIX", "ADDRESS"):  # one address, one number range: not an abuser's
        os.environ.setdefault(f"PUBLIC_BOOKINGS_PER_{_cap}_PER_DAY", "1000000")
    os.environ.setdefault("HTTPS", "0")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reservations.models import Reservation, Restaurant

    big = Restaurant.objects.get(slug="big")
    day = timezone.localdate(timezone=big.tz) + timedelta(days=5)
    client = Client()
    result: dict = {"bookings": Reservation.objects.filter(restaurant=big).count()}
    for name, url in [("healthz", "/healthz/")] + [
        (f"party {p}", f"/api/v1/restaurants/big/availability/?date={day.isoformat()}&party_size={p}") for p in (2, 8)
    ]:
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        times = []
        for _ in range(n):
            began = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        result[name] = (statistics.median(times), len(captured))
        if name == "party 2":
            sql = next(q["sql"] for q in captured.captured_queries if '"reservations_reservation"' in q["sql"]
                       and "LEFT OUTER JOIN" in q["sql"])
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                result["plan"] = cursor.fetchall()[0][-1]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.n)))
        return
    print(f"SQLite, in-process, median of {args.n}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'database':34} {'bookings':>9} {'healthz ms':>10} {'party 2 ms (x)':>16} {'party 8 ms (x)':>16} "
          "queries  plan")
    for path in args.files:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{path}")
        out = subprocess.run([sys.executable, __file__, "--measure", "-n", str(args.n)], env=env, cwd=PROJECT,
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        base = r["healthz"][0]
        print(f"{path:34} {r['bookings']:>9} {base:>10.2f} "
              + " ".join(f"{r[p][0]:>8.1f} ({r[p][0] / base:>4.0f}x)" for p in ("party 2", "party 8"))
              + f" {r['party 2'][1]:>7}  {r['plan']}")


if __name__ == "__main__":
    main()
