"""While the database is read-only or stopped, clients hear "try again" (503 `database_unavailable` with
`Retry-After`) and `/healthz/` says which; once it is back, the same request (same Idempotency-Key) works.

The database here is a PostgreSQL cluster of this test's own — initdb'd in a temporary folder, on a spare
port, run as the unprivileged `postgres` user — and the server is gunicorn with the production settings,
so that stopping the database is a real crash of a real server's database, never the machine's shared one.
Runs in the PostgreSQL pass (it needs PostgreSQL's binaries).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import at, next_weekday

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).resolve().parents[1]
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"
PASSWORD = "fault-test-pw-1"
DB_NAME = "cxhost_fault"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OwnPostgres:
    """A throw-away PostgreSQL cluster; `stop()` crashes it (immediate shutdown), `start()` brings it back."""

    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        # initdb and postgres refuse to run as root: run them as the postgres user when we are root.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{argv[0]} failed:\n{result.stdout}\n{result.stderr}\n{self.log_tail()}"

    def log_tail(self) -> str:
        log = self.base / "postgres.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def initdb(self) -> None:
        self._run(shutil.which("initdb") or "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # fsync off is safe here (the machine does not crash, only PostgreSQL); synchronous_commit stays on,
        # or an immediate stop would lose bookings the server had already answered 201 for.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off "
                   "-c full_page_writes=off")
        self._run(shutil.which("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l", str(self.base / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(shutil.which("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def connect(self, dbname: str = "postgres", **options) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True,
                               connect_timeout=5, **options)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    base = Path(tempfile.mkdtemp(prefix="cxhost-own-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    cluster = OwnPostgres(base=base, port=free_port())
    try:
        cluster.initdb()
        cluster.start()
        with cluster.connect() as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
                       + [shutil.which("pg_ctl") or "pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


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


def manage(cluster: OwnPostgres, *argv: str) -> None:
    env = {**os.environ, "DATABASE_URL": cluster.url(DB_NAME), "DJANGO_SETTINGS_MODULE": "cxhost.test_settings"}
    result = subprocess.run([str(PROJECT / ".venv" / "bin" / "python"), "manage.py", *argv], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def server(own_postgres: OwnPostgres) -> Iterator[Server]:
    """gunicorn with the production settings (a SECRET_KEY, DEBUG off) and persistent connections."""
    manage(own_postgres, "migrate", "--noinput")
    manage(own_postgres, "seed_demo", "--password", PASSWORD)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEBUG") and not k.startswith("CXHOST_")}
    env.update(DJANGO_SETTINGS_MODULE="cxhost.settings", SECRET_KEY="fault-test-secret-key-0123456789",
               DATABASE_URL=own_postgres.url(DB_NAME), CONN_MAX_AGE="60", PUBLIC_THROTTLE_RATE="100000/min")
    log = own_postgres.base / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "cxhost.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
             "--timeout", "60"],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        live = Server(port)
        deadline = time.monotonic() + 45
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if live.call("GET", "/healthz/").status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        token = live.call("POST", "/api/v1/auth/token/", {"username": "manager", "password": PASSWORD})
        live.token = token.body["token"]
        yield live
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


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
