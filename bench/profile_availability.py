"""Where a day's availability at `big` spends its time: pyinstrument over N in-process requests.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/profile_availability.py [-n 50]
(`big` must exist: `manage.py seed_load`). Prints the mean time per request with and without the profiler's
overhead and the profile's heaviest frames. Dev only (pyinstrument is in requirements-dev.txt); never a test.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxhost.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # DEBUG off, as served
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("PUBLIC_THROTTLE_RATE", "1000000/min")
os.environ.setdefault("HTTPS", "0")  # plain http on this machine, no redirect

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from reservations.models import Restaurant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--party", type=int, default=2)
    parser.add_argument("--depth", type=int, default=40, help="lines of the profile to print")
    args = parser.parse_args()
    big = Restaurant.objects.get(slug="big")
    day = timezone.localdate(timezone=big.tz) + timedelta(days=5)
    url = f"/api/v1/restaurants/big/availability/?date={day.isoformat()}&party_size={args.party}"
    client = Client()
    for _ in range(5):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(args.n):
        began = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(args.n):
            client.get(url)
    print(f"{url}: median {statistics.median(times):.1f} ms per request in-process (unprofiled), "
          f"load average {os.getloadavg()[0]:.1f}")
    text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
    print("\n".join(text.splitlines()[: args.depth]))


if __name__ == "__main__":
    main()
