"""The public rate limit holds when requests arrive together, in the Redis every process shares.

DRF's stock throttle reads the client's history, decides, and writes it back: simultaneous requests all read the
same history and all pass. Ours increments one counter atomically (reservations/api/throttling.py). Both are run
here against the same Redis, with every cache round trip slowed a little, as between machines, so the
requests really overlap: the stock one lets through more than the limit, ours exactly the limit.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.core.cache import cache
from django.db import connections
from django.test import Client
from rest_framework.throttling import AnonRateThrottle

from reservations.api import views
from tests.conftest import next_weekday

# The machine's Redis, as the background-work tests use it (the Makefile's REDIS_TEST_URL); keys of its own, removed.
REDIS_URL = os.environ.get("CXHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
LIMIT = 5
CLIENTS = 8
ROUND_TRIP_SECONDS = 0.05


class SlowCache:
    """The shared cache, each call held back a little first: a request's reads and writes then interleave
    with the others' as they would across processes and machines under load."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def slowly(*args, **kwargs):
            time.sleep(ROUND_TRIP_SECONDS)
            return attribute(*args, **kwargs)
        return slowly


class StockThrottle(AnonRateThrottle):
    """DRF's own, as CX Host used it before: the control."""

    scope = "public"


@pytest.fixture
def shared_redis(settings):
    prefix = f"cxhost-throttle-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": prefix}}
    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    yield
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"{prefix}*"):
        connection.delete(key)


def volley(monkeypatch, throttle_class) -> list[int]:
    """CLIENTS requests from one address, released at once, through the availability endpoint."""
    monkeypatch.setattr(throttle_class, "THROTTLE_RATES", {"public": f"{LIMIT}/min"})
    monkeypatch.setattr(throttle_class, "cache", SlowCache(cache))
    monkeypatch.setattr(views.AvailabilityView, "throttle_classes", [throttle_class])
    url = f"/api/v1/restaurants/samna/availability/?date={next_weekday(5).isoformat()}&party_size=2"
    start = threading.Barrier(CLIENTS)

    def one_client(_) -> int:
        start.wait()
        try:
            return Client().get(url, REMOTE_ADDR="192.0.2.10").status_code
        finally:
            connections.close_all()  # this thread's own; the test database is dropped afterwards

    with ThreadPoolExecutor(CLIENTS) as pool:
        return sorted(pool.map(one_client, range(CLIENTS)))


@pytest.mark.django_db(transaction=True)
def test_simultaneous_clients_get_exactly_the_limit_through(samna, shared_redis, monkeypatch):
    statuses = volley(monkeypatch, views.PublicThrottle)
    print(f"atomic throttle: {statuses.count(200)} of {CLIENTS} simultaneous requests through a limit of {LIMIT}")

    assert statuses == [200] * LIMIT + [429] * (CLIENTS - LIMIT), statuses
    # One counter, in Redis, where every process counts.
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(match="*throttle_public_192.0.2.10*")]
    assert len(keys) == 1, keys


@pytest.mark.django_db(transaction=True)
def test_control_drfs_stock_throttle_lets_more_than_the_limit_through(samna, shared_redis, monkeypatch):
    statuses = volley(monkeypatch, StockThrottle)
    print(f"DRF's stock throttle: {statuses.count(200)} of {CLIENTS} simultaneous requests through a limit of {LIMIT}")

    assert statuses.count(200) > LIMIT, statuses


@pytest.mark.django_db
def test_a_throttled_answer_is_json_with_retry_after(samna, shared_redis, monkeypatch, anon_api):
    monkeypatch.setattr(views.PublicThrottle, "THROTTLE_RATES", {"public": "2/min"})
    url = f"/api/v1/restaurants/samna/availability/?date={next_weekday(5).isoformat()}&party_size=2"
    answers = [anon_api.get(url) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    last = answers[-1]
    assert last["Content-Type"].startswith("application/json")
    assert last.json()["code"] == "too_many_requests" and last.json()["detail"]
    assert int(last["Retry-After"]) == 60  # at most a minute: the window's length


@pytest.mark.django_db
def test_the_limit_is_per_client_address_and_a_forged_header_is_not_one(samna, shared_redis, monkeypatch):
    monkeypatch.setattr(views.PublicThrottle, "THROTTLE_RATES", {"public": "2/min"})
    url = f"/api/v1/restaurants/samna/availability/?date={next_weekday(5).isoformat()}&party_size=2"
    client = Client()
    forged = [client.get(url, REMOTE_ADDR="192.0.2.20", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
              for i in range(3)]
    other = client.get(url, REMOTE_ADDR="192.0.2.21").status_code

    assert forged == [200, 200, 429]
    assert other == 200
