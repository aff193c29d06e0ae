"""The embedded default runs its periodic work (issue 16): `make demo`'s server — runserver with its
autoreloader, no REDIS_URL, no worker, no beat, no Redis — lapses an unanswered recovery offer on time and
gives its table back to the book.

Before, the eager send ran the offer's expiry task at once (its countdown ignored) and nothing ran beat's
sweep: the offer stayed pending and, after a sweep-less engine, the table stayed held for ever.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
REFUSED = "+380671000025"  # the demo's caller turned away for Saturday's 20:00
OFFER_MINUTES = 1  # the shortest RECOVERY_OFFER_MINUTES: the test waits past it
SWEEP_EVERY = 30  # beat's `sweep-recovery-offers`


@pytest.fixture
def demo_server(tmp_path):
    """`make demo`'s three steps on a database of its own, served by runserver as the demo serves it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE", "PERIODIC_IN_PROCESS")}
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", SMS_BACKEND="file",
               SMS_FILE_PATH=str(tmp_path / "sms.jsonl"), RECOVERY_OFFER_MINUTES=str(OFFER_MINUTES),
               LOG_LEVEL="INFO")
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run(manage + step, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(manage + ["runserver", f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/healthz/", timeout=2)
            break
        except requests.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()) from None
            time.sleep(0.2)
    yield url, tmp_path / "demo.sqlite3"
    os.killpg(server.pid, 15)  # runserver's parent and its serving child: the group this test started
    server.wait(timeout=10)
    log.close()


def offers(db: Path) -> list[tuple[str, datetime]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, expires_at FROM recovery_recoveryoffer ORDER BY id").fetchall()
    return [(status, datetime.fromisoformat(expires).replace(tzinfo=UTC)) for status, expires in rows]


def test_the_demo_lapses_an_unanswered_offer_on_time_and_the_table_is_back(demo_server):
    url, db = demo_server
    token = requests.post(f"{url}/api/v1/auth/token/", json={"username": "manager", "password": "samna-demo"},
                          timeout=10).json()["token"]
    staff = {"Authorization": f"Token {token}"}
    saturday = _seeded_saturday(db)
    book = requests.get(f"{url}/api/v1/restaurants/samna/reservations/", params={"date": saturday},
                        headers=staff, timeout=10)
    assert book.status_code == 200, book.text
    book = book.json()
    book = book["results"] if isinstance(book, dict) else book

    def free_at_eight() -> bool:
        answer = requests.get(f"{url}/api/v1/restaurants/samna/availability/", headers=staff, timeout=10,
                              params={"date": saturday, "party_size": 2, "channel": "phone"})
        assert answer.status_code == 200, answer.text
        return next(s["available"] for s in answer.json()["slots"] if s["time"] == "20:00")

    assert free_at_eight() is False
    tabled = next(r for r in book if r["start"][11:16] == "20:00" and r["status"] == "booked" and r["tables"])
    cancelled = requests.post(f"{url}/api/v1/reservations/{tabled['id']}/cancel/", json={}, headers=staff,
                              timeout=10)
    assert cancelled.status_code == 200, cancelled.text

    [(status, expires_at)] = offers(db)
    assert status == "pending"
    assert free_at_eight() is False  # held for the guest we turned away

    while datetime.now(UTC) < expires_at + _seconds(SWEEP_EVERY + 5) and offers(db)[0][0] == "pending":
        time.sleep(0.5)
    lapsed_by = datetime.now(UTC)

    assert offers(db)[0][0] == "expired", "nothing lapsed the offer: no periodic work ran"
    assert lapsed_by - expires_at < _seconds(SWEEP_EVERY), (lapsed_by, expires_at)
    assert free_at_eight() is True


def _seconds(n: float):
    from datetime import timedelta

    return timedelta(seconds=n)


def _seeded_saturday(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        [(start,)] = conn.execute("SELECT start FROM reservations_refusal WHERE guest_phone = ?",
                                  [REFUSED]).fetchall()
    return _local_date(start)


def _local_date(utc_text: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(utc_text).replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Kyiv")).date().isoformat()
