"""While the database is read-only or stopped, clients hear "try again" (503 `database_unavailable` with
`Retry-After`) and `/healthz/` says which; once it is back, the same request (same Idempotency-Key) works.

The database here is a PostgreSQL cluster of this test's own and the server is gunicorn with the production
settings (`tests/own_postgres.py`), so that stopping the database is a real crash of a real server's database,
never the machine's shared one.
Runs in the PostgreSQL pass (it needs PostgreSQL's binaries).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import at, next_weekday
from tests.own_postgres import OwnPostgres, live_gunicorn, own_postgres_cluster

pytestmark = pytest.mark.postgres

PASSWORD = "fault-test-pw-1"
DB_NAME = "cxhost_fault"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    with own_postgres_cluster(DB_NAME) as cluster:
        yield cluster


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: object

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass
class Server:
    port: int
    token: str = ""

    def call(self, method: str, path: str, body: dict | None = None, **headers: str) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {"Accept": "application/json", **headers}
            if body is not None:
                sent["Content-Type"] = "application/json"
            if self.token:
                sent["Authorization"] = f"Token {self.token}"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = conn.getresponse()
            raw = response.read()
            content_type = response.getheader("Content-Type", "")
            assert content_type.startswith("application/json"), (response.status, content_type, raw[:300])
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw))
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server(own_postgres: OwnPostgres) -> Iterator[Server]:
    """gunicorn with the production settings (a SECRET_KEY, DEBUG off) and persistent connections."""
    with live_gunicorn(own_postgres, DB_NAME, password=PASSWORD) as live:
        server = Server(live.port)
        token = server.call("POST", "/api/v1/auth/token/", {"username": "manager", "password": PASSWORD})
        server.token = token.body["token"]
        yield server


def booking(hhmm: str, n: int) -> dict:
    return {"start": at(next_weekday(1), hhmm), "party_size": 2, "channel": "phone",
            "guest": {"name": f"Guest {n}", "phone": f"+38067{2000000 + n:07d}"}}


def book_count(server: Server) -> int:
    answer = server.call("GET", f"/api/v1/restaurants/samna/reservations/?date={next_weekday(1).isoformat()}")
    assert answer.status == 200, answer
    return len(answer.body)


def assert_try_again(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.code == "database_unavailable", answer
    assert answer.body["detail"]
    assert int(answer.headers["retry-after"]) > 0


def test_a_read_only_database_answers_503_on_writes_and_health_names_it(own_postgres, server):
    existing = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("18:00", 0))
    assert existing.status == 201, existing
    before = book_count(server)
    with own_postgres.connect() as admin:
        admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        admin.execute("SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)  # every backend applies the reload at its next command
        health = server.call("GET", "/healthz/")
        write = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("19:00", 1),
                            **{"Idempotency-Key": "read-only-1"})
        confirm = server.call("POST", f"/api/v1/reservations/{existing.body['id']}/confirm/")
        read = server.call("GET", f"/api/v1/restaurants/samna/availability/?date={next_weekday(1)}&party_size=2")
    finally:
        with own_postgres.connect(options="-c default_transaction_read_only=off") as admin:
            admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
            admin.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)

    assert health.status == 503 and health.body == {"database": "read_only", "broker": "eager"}, health
    assert_try_again(write)
    assert_try_again(confirm)
    assert read.status == 200  # reads still work: the book can be looked at while it cannot be changed
    # Writable again: the same key does the work afresh (a "try again" answer is not kept), and health is back.
    retried = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("19:00", 1),
                          **{"Idempotency-Key": "read-only-1"})
    assert retried.status == 201, retried
    assert book_count(server) == before + 1
    assert server.call("GET", "/healthz/").body == {"database": "ok", "broker": "eager"}
    assert server.call("GET", f"/api/v1/reservations/{existing.body['id']}/").body["status"] == "booked"


def test_a_stopped_database_answers_503_and_the_server_recovers_when_it_returns(own_postgres, server):
    before = book_count(server)
    own_postgres.stop()
    try:
        write = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("20:00", 2),
                            **{"Idempotency-Key": "stopped-1"})
        again = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("20:00", 2),
                            **{"Idempotency-Key": "stopped-1"})
        public = Server(server.port).call(
            "GET", f"/api/v1/restaurants/samna/availability/?date={next_weekday(1)}&party_size=2")
        health = server.call("GET", "/healthz/")
    finally:
        own_postgres.start()

    assert_try_again(write)
    assert_try_again(again)
    assert_try_again(public)
    assert health.status == 503 and health.body == {"database": "down", "broker": "eager"}, health
    assert int(health.headers["retry-after"]) > 0
    retried = server.call("POST", "/api/v1/restaurants/samna/reservations/", booking("20:00", 2),
                          **{"Idempotency-Key": "stopped-1"})
    assert retried.status == 201, retried
    assert book_count(server) == before + 1
    assert server.call("GET", "/healthz/").status == 200
