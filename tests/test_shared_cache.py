"""The cache every process shares (Redis with REDIS_URL): a set-up loaded once serves every process, and a
Redis that is down costs guests nothing — availability still answers from the database, uncounted."""

from __future__ import annotations

import os
import socket

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations import selectors
from tests.conftest import next_weekday

MACHINE_REDIS = os.environ.get("CXHOST_PROD_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def redis_cache(location: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location,
                        "KEY_PREFIX": "cxhost-cache-test", "OPTIONS": {"socket_connect_timeout": 1}}}


def dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


def availability(client) -> tuple[int, int]:
    url = f"/api/v1/restaurants/samna/availability/?date={next_weekday(5).isoformat()}&party_size=2"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    assert response.json()["slots"]
    return response.status_code, len(queries)


@pytest.mark.django_db
def test_a_set_up_loaded_by_one_process_serves_another(samna, anon_api, settings):
    try:
        redis.Redis.from_url(MACHINE_REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {MACHINE_REDIS}")
    settings.CACHES = redis_cache(MACHINE_REDIS)
    selectors.clear_config_cache()  # this process's copies and their shared ones
    _, cold = availability(anon_api)
    _, warm = availability(anon_api)
    assert cold > warm

    # Another process: nothing in its own memory, the shared copy in Redis.
    selectors._CONFIG_CACHE.clear()
    _, other_process = availability(anon_api)
    assert other_process == warm
    selectors.clear_config_cache()


@pytest.mark.django_db
def test_availability_answers_when_the_shared_cache_is_down(samna, anon_api, settings):
    settings.CACHES = redis_cache(dead_redis_url())
    selectors.clear_config_cache()

    statuses = [availability(anon_api)[0] for _ in range(3)]

    assert statuses == [200, 200, 200]  # uncounted by the rate limit, set-up from the database: never a 500
