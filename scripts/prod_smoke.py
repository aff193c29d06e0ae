#!/usr/bin/env python3
"""The production install, proven (`make prod-smoke`, run by `.ci/run`): a booking's confirmation SMS goes out.

A fresh virtualenv from requirements.txt alone (never the dev requirements: CI's own venv has them, which once
hid a missing runtime dependency), then `scripts/prod.sh` from it — migrate, collectstatic, `check --deploy`,
gunicorn, one Celery worker and one beat, DEBUG off — on a PostgreSQL database of its own on the machine's
server (dropped and created here, dropped again at the end) and a redis-server of its own on a spare port,
with SMS going to the local Twilio fake (`tests.fakes.twilio`, standard library only). It seeds the demo, books
through the API with a guest's phone and waits for the confirmation to reach the fake; then checks /healthz/
and the logs. Prints a table; exits 1 with the logs' tails when a step fails. Everything it started is
stopped, whatever happens.

Standard library only, run by the Python that builds the venv: `python3 scripts/prod_smoke.py`.
Environment: SMOKE_PG_URL (default postgres://postgres@127.0.0.1:5432/cxhost_smoke_<pid>, a name of this run's own so
two runs on one machine never drop each other's; the database is dropped),
SMOKE_REQUIREMENTS (default requirements.txt: another file to show what it catches).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("SMOKE_PG_URL", f"postgres://postgres@127.0.0.1:5432/cxhost_smoke_{os.getpid()}")
REQUIREMENTS = Path(os.environ.get("SMOKE_REQUIREMENTS", PROJECT / "requirements.txt")).resolve()
START_TIMEOUT = 180  # migrate from nothing, collectstatic and three processes, on a busy 2-core machine
SMS_TIMEOUT = 60
GUEST_PHONE = "+380679990001"  # no demo guest has it, so the fake's list for it holds only our confirmation
TWILIO_SID = "AC" + secrets.token_hex(16)
TWILIO_TOKEN = secrets.token_hex(16)
TWILIO_FROM = "+15005550006"

# The database is created and dropped from the fresh venv's psycopg: this script itself needs no package.
DATABASE_SQL = """
import sys, psycopg
from psycopg import sql
server, name, create = sys.argv[1], sys.argv[2], sys.argv[3] == "create"
with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if create:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
"""


class Failed(Exception):
    pass


class Smoke:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.venv = work / "venv"
        self.python = self.venv / "bin" / "python"
        self.logs = {name: work / f"{name}.log" for name in ("pip", "redis", "twilio", "prod", "seed")}
        self.rows: list[tuple[str, str, float, str]] = []
        self.groups: list[tuple[str, subprocess.Popen]] = []
        self.database_created = False
        self.web_port = free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"

    def step(self, name: str, action) -> object:
        started = time.monotonic()
        try:
            detail = action()
        except Exception as exc:
            self.rows.append((name, "FAIL", time.monotonic() - started, str(exc) if isinstance(exc, Failed)
                              else repr(exc)))
            raise Failed(name) from exc
        except BaseException:  # SIGTERM (see main) or Ctrl-C: the run ends, everything is still stopped
            self.rows.append((name, "INTERRUPTED", time.monotonic() - started, ""))
            raise
        self.rows.append((name, "ok", time.monotonic() - started, detail if isinstance(detail, str) else ""))
        return detail

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """A process in a group of its own, so stopping it stops its children (gunicorn's, celery's) too."""
        stdout = kwargs.pop("stdout", None)
        with self.logs[name].open("ab") as log:
            process = subprocess.Popen(argv, cwd=PROJECT, stdout=stdout or log,
                                       stderr=log if stdout else subprocess.STDOUT, start_new_session=True, **kwargs)
        self.groups.append((name, process))
        return process

    # --- the steps

    def build_venv(self) -> str:
        run([sys.executable, "-m", "venv", str(self.venv)], self.logs["pip"])
        run([str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "-r", str(REQUIREMENTS)], self.logs["pip"])
        return f"{REQUIREMENTS.name}, {len(pip_freeze(self.python))} packages"

    def pip_check(self) -> str:
        run([str(self.python), "-m", "pip", "check", "--disable-pip-version-check"], self.logs["pip"])
        return "no broken requirements"

    def start_redis(self) -> str:
        port = free_port()
        self.redis_url = f"redis://127.0.0.1:{port}"
        self.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(self.work)])
        wait_for(lambda: redis_ping(port), 15, "redis-server answering PING")
        return f"port {port}"

    def create_database(self) -> str:
        server, name = PG_URL.rsplit("/", 1)
        run([str(self.python), "-c", DATABASE_SQL, f"{server}/postgres", name, "create"], self.logs["seed"])
        self.database_created = True
        return name

    def start_twilio(self) -> str:
        fake = self.start("twilio", [str(self.python), "-m", "tests.fakes.twilio", "--port", "0", "--account-sid",
                                     TWILIO_SID, "--auth-token", TWILIO_TOKEN], stdout=subprocess.PIPE)
        ready, _, _ = select.select([fake.stdout], [], [], 15)
        line = fake.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("ready "):
            raise Failed(f"the fake printed {line!r}")
        self.twilio_url = line.split(" ", 1)[1]
        return self.twilio_url

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "VENV": str(self.venv),
            "DJANGO_SETTINGS_MODULE": "cxhost.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "HTTPS": "0",  # plain http on this machine; prod.sh sets STATIC_MANIFEST itself
            "DATABASE_URL": PG_URL,
            "REDIS_URL": f"{self.redis_url}/0",
            "CACHE_URL": f"{self.redis_url}/1",
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            "PUBLIC_BASE_URL": self.web,
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "STATIC_ROOT": str(self.work / "static"),
            "CELERY_BEAT_SCHEDULE_FILE": str(self.work / "beat-schedule"),
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM": TWILIO_FROM,
            "TWILIO_API_BASE_URL": self.twilio_url,
        }

    def start_production(self) -> str:
        self.env = self.environment()
        self.prod = self.start("prod", [str(PROJECT / "scripts" / "prod.sh")], env=self.env)

        def healthy() -> bool:
            self.alive()
            return http("GET", f"{self.web}/healthz/")[0] == 200

        wait_for(healthy, START_TIMEOUT, "/healthz/ answering 200")
        return f"gunicorn on :{self.web_port}"

    def worker_and_beat(self) -> str:
        def up() -> bool:
            self.alive()
            text = self.logs["prod"].read_text(errors="replace")
            return "celery@" in text and " ready." in text and "beat: Starting" in text

        wait_for(up, 60, "the worker's 'ready.' and beat's 'Starting' in the log")
        return "worker ready, beat started"

    def seed(self) -> str:
        run([str(self.python), "manage.py", "seed_demo"], self.logs["seed"], env=self.env)
        return "seed_demo"

    def book(self) -> str:
        status, body = http("POST", f"{self.web}/api/v1/auth/token/",
                            {"username": "manager", "password": "samna-demo"})
        if status != 200:
            raise Failed(f"token: {status} {body!r:.300}")
        self.token = body["token"]
        day = (date.today() + timedelta(days=8)).isoformat()
        status, body = http("GET", f"{self.web}/api/v1/restaurants/samna/availability/?date={day}&party_size=2")
        slots = [slot for slot in body.get("slots", []) if slot["available"] and not slot["overbook"]]
        if status != 200 or not slots:
            raise Failed(f"availability {day}: {status} {body!r:.300}")
        booking = {"start": slots[0]["start"], "party_size": 2, "channel": "phone",
                   "guest": {"name": "Smoke Test", "phone": GUEST_PHONE}}
        status, body = http("POST", f"{self.web}/api/v1/restaurants/samna/reservations/", booking,
                            Authorization=f"Token {self.token}", **{"Idempotency-Key": secrets.token_hex(16)})
        if status != 201:
            raise Failed(f"booking: {status} {body!r:.300}")
        return f"201, {slots[0]['start']}"

    def confirmation(self) -> str:
        query = urllib.parse.urlencode({"To": GUEST_PHONE})
        url = f"{self.twilio_url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json?{query}"
        auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        found: list[dict] = []

        def sent() -> bool:
            self.alive()
            status, body = http("GET", url, Authorization=auth)
            found[:] = body.get("messages", []) if status == 200 else []
            return bool(found)

        wait_for(sent, SMS_TIMEOUT, f"an SMS to {GUEST_PHONE} at the Twilio fake")
        return f"to {GUEST_PHONE}: {found[0]['body'][:40]!r}…"

    def health(self) -> str:
        status, body = http("GET", f"{self.web}/healthz/")
        if status != 200 or body.get("broker") != "ok" or body.get("database") != "ok":
            raise Failed(f"{status} {body}")
        return json.dumps(body)

    def clean_logs(self) -> str:
        for name in ("prod", "seed"):
            if error := first_error(self.logs[name]):
                raise Failed(f"{name}.log{error}")
        self.alive()
        return "no 'No module named'; gunicorn, worker and beat still up"

    def alive(self) -> None:
        """prod.sh ends the whole shape when any of its three ends (a web without its worker is not production)."""
        if self.prod.poll() is not None:
            raise Failed(f"scripts/prod.sh exited with {self.prod.returncode}{first_error(self.logs['prod'])}")

    # --- the end, whatever happened

    def stop(self) -> bool:
        """Stop every group started, newest first, and drop the database: False if the drop failed."""

        def stop_all() -> str:
            for _, process in reversed(self.groups):
                stop_group(process)
            if self.database_created:
                server, name = PG_URL.rsplit("/", 1)
                run([str(self.python), "-c", DATABASE_SQL, f"{server}/postgres", name, "drop"], self.logs["seed"])
            return f"{len(self.groups)} process groups" + (", database dropped" if self.database_created else "")

        try:
            self.step("stop everything, drop the database", stop_all)
        except Failed:
            return False
        return True

    def report(self, ok: bool) -> None:
        print("\n| step | result | seconds | detail |\n|---|---|---:|---|")
        for name, result, seconds, detail in self.rows:
            print(f"| {name} | {result} | {seconds:.1f} | {detail} |")
        if not ok:
            pip_failed = any(result == "FAIL" for _, result, *_ in self.rows[:2])
            for name, path in self.logs.items():
                if (name != "pip" or pip_failed) and path.exists() and path.stat().st_size:
                    tail = path.read_text(errors="replace").splitlines()[-40:]
                    print(f"\n--- {name}.log (last {len(tail)} lines)\n" + "\n".join(tail))


def first_error(log: Path) -> str:
    """': <the first missing-module line>' of a log, or ''."""
    text = log.read_text(errors="replace") if log.exists() else ""
    line = next((line for line in text.splitlines() if "No module named" in line), "")
    return f": {line.strip()[:200]}" if line else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run(argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)[:200]}\n".encode())
        out.flush()
        result = subprocess.run(argv, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=600)
    if result.returncode:
        raise Failed(f"{Path(argv[0]).name} {' '.join(argv[1:3])[:60]}… exited {result.returncode} ({log.name})")


def pip_freeze(python: Path) -> list[str]:
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--disable-pip-version-check"], capture_output=True,
                         text=True, check=True).stdout
    return out.split()


def http(method: str, url: str, data: dict | None = None, **headers: str) -> tuple[int, dict]:
    body = json.dumps(data).encode() if data is not None else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, {"text": text[:300].decode(errors="replace")}
    except (OSError, ValueError):
        return 0, {}


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise Failed(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the group (prod.sh's trap stops its three; gunicorn finishes its requests), SIGKILL after 20 s."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    # A CI runner's SIGTERM ends the run through the `finally` below: nothing is left running, no database kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="cxhost-smoke-"))
    smoke = Smoke(work)
    ok = False
    try:
        smoke.step("fresh venv from " + REQUIREMENTS.name + " alone", smoke.build_venv)
        smoke.step("pip check", smoke.pip_check)
        smoke.step("redis-server of its own", smoke.start_redis)
        smoke.step("PostgreSQL database of its own", smoke.create_database)
        smoke.step("Twilio fake", smoke.start_twilio)
        smoke.step("scripts/prod.sh: migrate, collectstatic, gunicorn", smoke.start_production)
        smoke.step("Celery worker and beat", smoke.worker_and_beat)
        smoke.step("seed_demo", smoke.seed)
        smoke.step("token, availability, booking (API)", smoke.book)
        smoke.step("confirmation SMS at the Twilio fake", smoke.confirmation)
        smoke.step("/healthz/", smoke.health)
        smoke.step("logs", smoke.clean_logs)
        ok = True
    except Failed:
        pass
    finally:
        try:
            ok = smoke.stop() and ok
        finally:
            smoke.report(ok)
            shutil.rmtree(work, ignore_errors=True)
            print(f"\nProduction smoke test {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
