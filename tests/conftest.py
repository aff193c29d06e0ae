"""Shared fixtures: the contract's demo restaurant, its staff, and API clients for each role.

On PostgreSQL (DATABASE_URL=postgres://...) an unreachable server fails the
run at once rather than skipping anything.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.services.demo import demo_restaurant_reset, demo_users_reset, steakhouse_reset

DEMO_PASSWORD = "test-password-1"


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        import psycopg

        try:
            psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
                            dbname="postgres", connect_timeout=5).close()
        except Exception as exc:  # a PostgreSQL run with no PostgreSQL must fail, never skip
            pytest.exit(f"PostgreSQL is unreachable at {db['HOST']}:{db['PORT']}: {exc}", returncode=3)
        return
    # On SQLite the PostgreSQL-only tests are deselected (they run in the PostgreSQL pass), not skipped.
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(autouse=True)
def _fast_and_fresh(settings):
    # Staff passwords are set in most tests: the real hasher's cost buys nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Public endpoints are rate limited per address in the cache: every test starts with a clean slate.
    from django.core.cache import cache

    cache.clear()
    # Celery's "never join a result inside a task" guard is one process-wide flag that `Task.apply` sets and
    # restores; threads racing through eager tasks can restore it in the wrong order and leave it set, and the
    # next test's `.get()` then fails. This process is never a worker: start every test with it clear.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    # A Redis another test found down is skipped for a few seconds by every call in this process: forget it.
    from cxhost import redis_guard

    redis_guard.reset()


@pytest.fixture
def samna(db):
    return demo_restaurant_reset()


@pytest.fixture
def steakhouse(db):
    """The demo's second restaurant, in a group of its own: the other side of the wall."""
    return steakhouse_reset()


@pytest.fixture
def staff(samna, steakhouse):
    """The demo's users: host, manager (Samna), admin (everywhere), steak-host, steak-manager (The Steakhouse),
    duo (manager at The Steakhouse, host at Samna)."""
    demo_users_reset(password=DEMO_PASSWORD)
    from django.contrib.auth import get_user_model

    from reservations.services.demo import DEMO_USERS

    return {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERS)}


def log_in(client, username: str) -> bool:
    """A browser already logged in, for tests about what comes after the login. No password, so no
    login failure or success is recorded; the login itself is tested through its doors
    (tests/security/test_login_lockout.py)."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    return True


def _client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        from reservations.services.auth import token_issue

        client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user).token}")
    return client


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def host_api(staff) -> APIClient:
    return _client_for(staff["host"])


@pytest.fixture
def manager_api(staff) -> APIClient:
    return _client_for(staff["manager"])


@pytest.fixture
def admin_api(staff) -> APIClient:
    return _client_for(staff["admin"])


@pytest.fixture
def steak_host_api(staff) -> APIClient:
    """A host of The Steakhouse: staff, but not Samna's."""
    return _client_for(staff["steak-host"])


@pytest.fixture
def steak_manager_api(staff) -> APIClient:
    return _client_for(staff["steak-manager"])


@pytest.fixture
def diner_api(db) -> APIClient:
    """Logged in, but not the restaurant's staff."""
    from django.contrib.auth import get_user_model

    return _client_for(get_user_model().objects.create_user("diner", password="diner-password-1"))


def next_weekday(weekday: int, *, weeks_ahead: int = 2) -> date:
    """A date on this weekday (Monday = 0) a couple of weeks from now: safely in the future and the horizon."""
    today = timezone.localdate()
    start = today + timedelta(weeks=weeks_ahead)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


@pytest.fixture
def saturday() -> date:
    return next_weekday(5)


@pytest.fixture
def tuesday() -> date:
    return next_weekday(1)


def at(day: date, hhmm: str) -> str:
    """A local start string the API takes, e.g. at(saturday, "20:00") -> "2026-12-05T20:00"."""
    return f"{day.isoformat()}T{hhmm}"


def kyiv(day: date, hhmm: str) -> datetime:
    from zoneinfo import ZoneInfo

    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("Europe/Kyiv"))


def forget_broker_connections(app) -> None:
    """Drop every pooled broker connection and producer, so the next send connects where `app.conf` says.

    Celery pools them on the app and kombu in a process-wide registry keyed by broker URL; a test that
    points the app at another broker and back must forget both, or a later send reuses a closed pool.
    """
    import kombu.pools

    from cxhost import redis_guard

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()
    redis_guard.reset()  # a Redis found down at this address moments ago may be up at the next


# --- Twilio: the shared local fake (tests/fakes/twilio.py), never Twilio itself ---------------------------------

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "fake-auth-token"
TWILIO_FROM = "+15005550006"


@pytest.fixture
def twilio(settings):
    """The local Twilio, and the Twilio backend (the official SDK) pointed at it."""
    from tests.fakes.twilio import FakeTwilio

    fake = FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN).start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = (TWILIO_SID, TWILIO_TOKEN,
                                                                                     TWILIO_FROM)
    settings.TWILIO_API_BASE_URL = fake.url
    yield fake
    fake.stop()
