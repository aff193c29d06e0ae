"""A PostgreSQL cluster of a test's own, and a live gunicorn on it, for tests that stop the database.

The cluster is initdb'd in a temporary folder, on a spare port, run as the unprivileged `postgres` user; the
server is gunicorn with the production settings. Stopping the database is then a real crash of a real
server's database, never the machine's shared one. Needs PostgreSQL's binaries (initdb, pg_ctl).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"


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

    def manage(self, dbname: str, *argv: str) -> None:
        """`manage.py <argv>` on this cluster's database, with the test settings."""
        env = {**os.environ, "DATABASE_URL": self.url(dbname), "DJANGO_SETTINGS_MODULE": "cxhost.test_settings"}
        result = subprocess.run([str(PROJECT / ".venv" / "bin" / "python"), "manage.py", *argv], cwd=PROJECT,
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]


@contextmanager
def own_postgres_cluster(dbname: str) -> Iterator[OwnPostgres]:
    """A running cluster with an empty database `dbname`; removed, whatever state it is in, at the end."""
    base = Path(tempfile.mkdtemp(prefix="cxhost-own-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    cluster = OwnPostgres(base=base, port=free_port())
    try:
        cluster.initdb()
        cluster.start()
        with cluster.connect() as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
                       + [shutil.which("pg_ctl") or "pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class LiveServer:
    """A gunicorn serving the app; `log` is everything it wrote (its own lines and the app's log)."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def live_gunicorn(cluster: OwnPostgres, dbname: str, *, password: str, **env_overrides: str) -> Iterator[LiveServer]:
    """The demo (migrated, seeded with `password` for every user) served by gunicorn with the production settings
    (a SECRET_KEY, DEBUG off) and persistent connections, 1 worker × 2 threads; stopped at the end."""
    cluster.manage(dbname, "migrate", "--noinput")
    cluster.manage(dbname, "seed_demo", "--password", password)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEBUG") and not k.startswith("CXHOST_")}
    env.update(DJANGO_SETTINGS_MODULE="cxhost.settings", SECRET_KEY="fault-test-secret-key-0123456789",
               DATABASE_URL=cluster.url(dbname), CONN_MAX_AGE="60", PUBLIC_THROTTLE_RATE="100000/min",
               **env_overrides)
    log = cluster.base / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "cxhost.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
             "--timeout", "60"],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 45
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/healthz/")
                if conn.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        yield LiveServer(port, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
