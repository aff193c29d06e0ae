"""Production settings refuse danger: no start without a SECRET_KEY, and no test seam read from the environment.

Each case starts a fresh interpreter, as a deployment would, with only the variables it names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.DEBUG, s.SECRET_KEY, s.CXHOST_UNSAFE_SKIP_BOOKING_LOCK, s.CXHOST_BOOKING_RACE_DELAY_MS]))"
)
SEAMS = {"CXHOST_UNSAFE_SKIP_BOOKING_LOCK": "1", "CXHOST_BOOKING_RACE_DELAY_MS": "250"}


def start(settings_module: str, argv: list[str], **variables: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": settings_module, **variables}
    return subprocess.run([sys.executable, *argv], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)


def shown(settings_module: str, **variables: str) -> list:
    result = start(settings_module, ["-c", SHOW], **variables)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "variables",
    [{}, {"DEBUG": "0"}, {"DEBUG": "false", "SECRET_KEY": ""}],
    ids=["nothing set", "DEBUG=0", "empty SECRET_KEY"],
)
def test_production_refuses_to_start_without_a_secret_key(variables):
    result = start("cxhost.settings", ["manage.py", "check"], **variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr, result.stderr[-2000:]


def test_production_refuses_the_public_development_key():
    from cxhost.settings import DEVELOPMENT_SECRET_KEY

    result = start("cxhost.settings", ["manage.py", "check"], SECRET_KEY=DEVELOPMENT_SECRET_KEY)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_secret_key_and_development_without_one():
    assert shown("cxhost.settings", SECRET_KEY="a-real-secret-of-some-length")[:2] == [False,
                                                                                     "a-real-secret-of-some-length"]
    debug, key, *_ = shown("cxhost.settings", DEBUG="1")
    assert debug is True and key  # the development key, which only DEBUG may use


def test_production_reads_no_test_seam_from_the_environment():
    assert shown("cxhost.settings", SECRET_KEY="a-real-secret-of-some-length", **SEAMS)[2:] == [False, 0]


def test_the_test_settings_read_the_seams_and_need_no_secret():
    debug, key, skip_lock, delay_ms = shown("cxhost.test_settings", **SEAMS)

    assert (debug, skip_lock, delay_ms) == (False, True, 250)
    assert key
    assert shown("cxhost.test_settings")[2:] == [False, 0]


DEPLOY_KEY = "x7Qp2-" + "kLm9vR4tW8zYb3nC6dF1gH5jK0aS2eU7iO4pQ9rT3yX6wZ8v"  # long and varied, as check --deploy asks


def test_production_passes_djangos_deployment_checklist():
    """`check --deploy` with production's own defaults: behind TLS, secure cookies, HSTS, DEBUG off."""
    result = start("cxhost.settings", ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                   SECRET_KEY=DEPLOY_KEY, ALLOWED_HOSTS="book.example.com")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "System check identified no issues" in result.stdout


def test_plain_http_is_an_explicit_choice_and_the_deployment_check_says_so():
    result = start("cxhost.settings", ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                   SECRET_KEY=DEPLOY_KEY, ALLOWED_HOSTS="book.example.com", HTTPS="0")

    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr + result.stdout


def test_the_cache_is_shared_through_redis_when_there_is_one_and_apart_from_celerys_keys():
    show = ("import json, django; django.setup(); from django.conf import settings as s; "
            "c = s.CACHES['default']; print(json.dumps([c['BACKEND'], c.get('LOCATION'), c.get('KEY_PREFIX'), "
            "s.DATABASES['default'].get('CONN_MAX_AGE'), s.DATABASES['default'].get('CONN_HEALTH_CHECKS')]))")
    key = "a-real-secret-of-some-length"

    def settings_with(**variables):
        result = start("cxhost.settings", ["-c", show], SECRET_KEY=key, **variables)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    backend, location, prefix, *_ = settings_with()
    assert backend.endswith("LocMemCache")
    backend, location, prefix, *_ = settings_with(REDIS_URL="redis://cache-host:6379/0")
    assert (backend, location) == ("cxhost.redis_guard.GuardedRedisCache", "redis://cache-host:6379/0")
    assert prefix and prefix != "celery"
    assert settings_with(REDIS_URL="redis://h:6379/0", CACHE_URL="redis://h:6379/1")[1] == "redis://h:6379/1"
    # Connections are reused, and checked before reuse, on PostgreSQL.
    assert settings_with(DATABASE_URL="postgres://u@db-host:5432/cx")[3:] == [60, True]
