"""Bookings from 8 clients at once: one evening against 8 different days (the day lock's cost under contention).

Run: DATABASE_URL=postgres://... .venv/bin/python bench/one_evening.py
8 forked processes (threads would only measure the GIL), each with its own database connection and Django test
client, each sending 20 bookings
(alternately a party of 8 that is refused with alternatives — T9+T10 are taken — and a party of 2 that is booked).
Builds the same 200-table restaurant as bench/lock_scope.py. Prints requests per second for both and their ratio.
Never run as a test.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta
from datetime import time as clock

import lock_scope  # noqa: F401  (sets up Django and the path, like the other benches)
from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.services.demo import demo_restaurant_reset

CLIENTS = 8
PER_CLIENT = 20
URL = "/api/v1/restaurants/samna/reservations/"


def body(restaurant, day, party_size: int, n: int) -> dict:
    at = datetime.combine(day, clock(20)).replace(tzinfo=restaurant.tz).isoformat()
    return {"start": at, "party_size": party_size, "channel": "online",
            "guest": {"name": f"Guest {n}", "phone": f"+38067{n:07d}"}}


def run(restaurant, days) -> tuple[float, dict]:
    answers: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()

    def client_loop(index: int) -> None:
        connection.close()  # never share the parent's socket: each client opens its own connection
        client = APIClient()
        for i in range(PER_CLIENT):
            size = 8 if i % 2 == 0 else 2
            answers.put(client.post(URL, body(restaurant, days[index], size, index * 1000 + i), format="json"
                                    ).status_code)
        connection.close()

    connection.close()
    context = multiprocessing.get_context("fork")
    clients = [context.Process(target=client_loop, args=(i,)) for i in range(CLIENTS)]
    began = time.perf_counter()
    for c in clients:
        c.start()
    statuses: dict[int, int] = {}
    for _ in range(CLIENTS * PER_CLIENT):
        status = answers.get(timeout=300)
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - began
    for c in clients:
        c.join()
    return CLIENTS * PER_CLIENT / elapsed, statuses


def main() -> None:
    setup_test_environment()
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = "/dev/null"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        day = timezone.localdate() + timedelta(days=15)
        samna = demo_restaurant_reset()
        lock_scope.grow(samna, day)
        client = APIClient()
        evening = [day + timedelta(days=1)] * CLIENTS
        different = [day + timedelta(days=2 + i) for i in range(CLIENTS)]
        for d in {*evening, *different}:  # the party of 8 takes T9+T10 first, so the next ones are refused
            assert client.post(URL, body(samna, d, 8, 9_000_000 + d.toordinal() % 1000), format="json"
                               ).status_code == 201
        connection.close()
        one_rate, one_statuses = run(samna, evening)
        diff_rate, diff_statuses = run(samna, different)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"Bookings from {CLIENTS} clients x {PER_CLIENT} — {connection.vendor}, in process\n")
    print(f"{'workload':28} {'requests/s':>11} {'answers':>24}")
    print(f"{'8 different days':28} {diff_rate:>11.1f} {str(diff_statuses):>24}")
    print(f"{'one evening':28} {one_rate:>11.1f} {str(one_statuses):>24}")
    print(f"\none evening / different days: {one_rate / diff_rate:.2f}")


if __name__ == "__main__":
    main()
