"""`make prod`'s shape starts and serves: the real script (scripts/prod.sh) with production settings — migrate,
collectstatic, `check --deploy`, gunicorn's gthread workers, a Celery worker and beat — on the PostgreSQL test
database and the machine's Redis, on a spare port.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis

from reservations.services.demo import demo_restaurant_reset
from tests.concurrency.conftest import PROJECT, _free_port, database_url_for_tests, stop_group

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MACHINE_REDIS = os.environ.get("CXHOST_PROD_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
SECRET = "pRod-" + "Q8m2xV7kL4tN9wB3cF6hJ1sD5gZ0aY2eR7uI4oP8qW3-n5Tb9Xv2Lk7Hj4Gf1Ds6"
START_TIMEOUT = 60.0
PUBLIC_LIMIT = 5


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def production(tmp_path: Path):
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": MACHINE_REDIS,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "STATIC_ROOT": str(tmp_path / "static"),
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        # Behind a TLS proxy, as deployed: the proxy says https in X-Forwarded-Proto.
        "SECURE_PROXY_SSL_HEADER": "1",
        "PUBLIC_THROTTLE_RATE": f"{PUBLIC_LIMIT}/min",
    }
    # The counters and set-ups of an earlier run (this Redis database is this test's own) start from nothing.
    shared = redis.Redis.from_url(MACHINE_REDIS)
    stale = list(shared.scan_iter(match="cxhost-cache*"))
    if stale:
        shared.delete(*stale)
    log = Path(tempfile.mkstemp(prefix="cxhost-prod-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen([str(PROJECT / "scripts" / "prod.sh")], cwd=PROJECT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"make prod exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
            try:
                if get(port, "/healthz/")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz/ within {START_TIMEOUT}s:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.3)
        yield port, log
    finally:
        stop_group(process, grace=10)
        log.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def samna():
    return demo_restaurant_reset()


def test_the_production_shape_serves_health_static_files_and_one_shared_rate_limit(production):
    port, log = production

    # A load balancer's plain-http health probe is answered (database and broker both reached), not redirected.
    status, headers, body = get(port, "/healthz/")
    assert status == 200 and b'"broker": "ok"' in body
    # Any other page over plain http goes to https.
    status, headers, _ = get(port, "/accounts/login/")
    assert status == 301 and headers["location"].startswith("https://")

    status, headers, page = get(port, "/accounts/login/", **{"X-Forwarded-Proto": "https"})
    assert status == 200
    assert "max-age" in headers.get("strict-transport-security", "")
    # The page links the desk's stylesheet under its content-hashed name (collectstatic's manifest)...
    stylesheet = re.search(rb'href="(/static/desk/desk\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, page[:1500]
    # ...which whitenoise serves, compressed, cacheable for ever.
    status, headers, css = get(port, stylesheet.group(1).decode(), **{"X-Forwarded-Proto": "https",
                                                                   "Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert "immutable" in headers.get("cache-control", "")

    # The worker and the one beat started with the web (they log once they are up).
    deadline = time.monotonic() + 30
    while True:
        text = log.read_text(errors="replace")
        if ("celery@" in text and " ready." in text and "beat: Starting" in text) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "Using worker: gthread" in text
    assert " ready." in text and "beat: Starting" in text, text[-3000:]

    # Every process counts against one rate limit: with a cache per process, the two gunicorn workers would each
    # allow the limit to the requests they happen to take; Redis holds the one count. (Simultaneous requests hold
    # the limit too: tests/security/test_throttle_concurrency.py.)
    day = (date.today() + timedelta(days=3)).isoformat()
    path = f"/api/v1/restaurants/samna/availability/?date={day}&party_size=2"
    statuses = [get(port, path, **{"X-Forwarded-Proto": "https"})[0] for _ in range(4 * PUBLIC_LIMIT)]

    assert statuses == [200] * PUBLIC_LIMIT + [429] * 3 * PUBLIC_LIMIT, statuses
    keys = [key.decode() for key in redis.Redis.from_url(MACHINE_REDIS).scan_iter(match="cxhost-cache*")]
    assert any("throttle_public" in key for key in keys), keys
    assert any("restaurant-setup" in key for key in keys), keys  # the set-up, loaded once for every process



def test_make_prod_refuses_to_start_without_its_shared_services():
    result = subprocess.run([str(PROJECT / "scripts" / "prod.sh")], cwd=PROJECT, capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""), "SECRET_KEY": SECRET,
                                 "DATABASE_URL": "sqlite:////tmp/cx.sqlite3", "REDIS_URL": MACHINE_REDIS}, timeout=30)
    assert result.returncode == 2 and "PostgreSQL" in result.stderr

    result = subprocess.run([str(PROJECT / "scripts" / "prod.sh")], cwd=PROJECT, capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", "")}, timeout=30)
    assert result.returncode == 2
    assert all(name in result.stderr for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"))
