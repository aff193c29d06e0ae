"""Real background work: a Celery worker subprocess on Redis, working on the pytest-django test database.

The worker is a separate process (prefork, two children), so it sees only committed data: the tests use
PostgreSQL (`postgres` marker) and `transactional_db`. The test process publishes to the same Redis, as
the web process would. Redis is required: unreachable fails the run, it never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cxhost.celery import app as celery_app
from tests.concurrency.conftest import database_url_for_tests, stop_group
from tests.conftest import forget_broker_connections

PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"
# The machine's Redis, on a database number of this suite's own so other runs never share its queue.
MACHINE_REDIS = os.environ.get("CXHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
START_TIMEOUT = 60.0


def redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture
def machine_redis() -> str:
    """The machine's Redis, its test database emptied; unreachable is a failure, never a skip."""
    import redis

    if not redis_reachable(MACHINE_REDIS):
        pytest.fail(f"Redis is unreachable at {MACHINE_REDIS}: the background-work tests need it")
    redis.Redis.from_url(MACHINE_REDIS).flushdb()
    return MACHINE_REDIS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path
    outbox: Path

    def lines(self) -> list[dict]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines()]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_for_lines(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= count:
                return lines
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log_tail()}")
            time.sleep(0.05)
        return self.lines()


@contextmanager
def celery_worker(broker_url: str, outbox: Path, *, concurrency: int = 2,
                  extra_env: dict[str, str] | None = None) -> Iterator[Worker]:
    """`celery worker` on `broker_url` with the file backend writing to `outbox`, until the block ends
    (`extra_env` overrides, e.g. the Twilio backend pointed at a fake)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DATABASE_URL=database_url_for_tests(),
        REDIS_URL=broker_url,
        SMS_BACKEND="file",
        SMS_FILE_PATH=str(outbox),
        DJANGO_SETTINGS_MODULE="cxhost.test_settings",
        CONN_MAX_AGE="0",  # no idle connection may hold the test database when pytest-django flushes it
    )
    env.update(extra_env or {})
    log = Path(tempfile.mkstemp(prefix="cxhost-worker-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CELERY), "-A", "cxhost", "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    worker = Worker(process, log, outbox)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "ready." not in worker.log_tail(100_000):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{worker.log_tail()}")
            time.sleep(0.1)
        yield worker
    finally:
        stop_group(process, grace=10)
        log.unlink(missing_ok=True)


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This (web) process sends its tasks to `broker_url`, as it does in production with REDIS_URL set."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager

    forget_broker_connections(celery_app)
    conf.broker_url, conf.task_always_eager = broker_url, False
    try:
        yield
    finally:
        forget_broker_connections(celery_app)
        conf.broker_url, conf.task_always_eager = saved


@contextmanager
def own_redis(port: int) -> Iterator[subprocess.Popen]:
    """A redis-server of the test's own on `port` (never the machine's): in memory, nothing saved."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: the broker fault test needs one of its own")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not redis_reachable(f"redis://127.0.0.1:{port}/0"):
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield process
    finally:
        stop_group(process, grace=10)
