"""Calls to Redis from a web request: each bounded by a time-out, and none at all just after one failed.

A Redis that refuses connections fails at once; one that hangs (stopped, overloaded, a dead network path)
accepts the connection and never answers, and every call waits its whole time-out
(`REDIS_TIMEOUT_SECONDS`). So after a call to a Redis server fails, every call to that server in this process
fails at once (`RedisDown`) for `REDIS_RETRY_AFTER_SECONDS`; then the next call tries again. A request pays at
most one time-out, and a volley of bookings does not queue behind one time-out after another.

The broker and the cache keep their own clients; both report here, keyed by the server (host and port), so a
hung Redis found by the rate limit's counter is skipped by the booking's publish a moment later.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)


class RedisDown(redis.ConnectionError):
    """Not tried: this Redis failed moments ago."""


_lock = threading.Lock()
_failed: dict[str, tuple[float, str]] = {}  # server → (when it failed, monotonic; what failed)


def server_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"


def check(server: str) -> None:
    """Raise `RedisDown` if `server` failed within the last REDIS_RETRY_AFTER_SECONDS."""
    failure = _failed.get(server)
    if failure is None:
        return
    ago = time.monotonic() - failure[0]
    if ago < settings.REDIS_RETRY_AFTER_SECONDS:
        raise RedisDown(f"Redis at {server} failed {ago:.1f} s ago, not tried again yet; it said {failure[1]}")
    with _lock:
        if _failed.get(server) == failure:
            del _failed[server]  # this call tries again; should it fail too, it marks the server again


def failed(server: str, exc: BaseException) -> None:
    """`server` just failed (refused, timed out, reset): skip it for a while."""
    if isinstance(exc, RedisDown):
        return
    with _lock:
        _failed[server] = (time.monotonic(), describe(exc))


def reset() -> None:
    """Forget every failure (tests that point this process at another Redis)."""
    with _lock:
        _failed.clear()


def describe(exc: BaseException) -> str:
    """One line for the log, in place of a traceback."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class GuardedRedis(redis.Redis):
    """redis-py's client, reporting failures above and skipping a server that just failed."""

    @property
    def server(self) -> str:
        kwargs = self.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}"

    def execute_command(self, *args, **options):
        server = self.server
        check(server)
        try:
            return super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            failed(server, exc)
            raise


class GuardedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._client = GuardedRedis


class GuardedRedisCache(RedisCache):
    """Django's Redis cache on `GuardedRedis`: a dead or hung Redis raises at once once it has failed."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = GuardedRedisCacheClient


def task_send(task, args: tuple = (), *, what: str, level: int = logging.WARNING, **options) -> bool:
    """Hand `task` to the broker from a web request, or give up within REDIS_TIMEOUT_SECONDS: at once if the
    broker failed moments ago. Never raises (the event has committed); False when not sent, with one log line
    at `level` (`what` names what was not sent and who will send it instead)."""
    from kombu.exceptions import OperationalError

    from cxhost.celery import app

    if app.conf.task_always_eager:  # no broker: the task runs here and now, or at its countdown when the
        from cxhost import periodic  # process runs the periodic tasks itself (an eager send ignores countdowns)

        try:
            if options.get("countdown") and periodic.defer(task, args, options["countdown"]):
                return True
            task.apply_async(args, retry=False, **options)
            return True
        except Exception:  # a fault in our own code or the database's, not Redis's: its traceback helps
            logger.warning("%s: failed when run in-process", what, exc_info=True)
            return False
    server = server_of(app.conf.broker_url)
    try:
        check(server)
        # retry=False: a request must not wait on a dead broker; the sweeps are the retry.
        task.apply_async(args, retry=False, **options)
        return True
    except Exception as exc:
        if isinstance(exc, (OSError, redis.RedisError, OperationalError)):
            failed(server, exc)
        logger.log(level, "%s (%s)", what, describe(exc))
        return False
