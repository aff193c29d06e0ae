"""A load run with faults (issue 10): the production shape under steady traffic while its parts fail.

Run: `make fault-run` (or `.venv/bin/python bench/fault_run.py --seconds 120`). Needs PostgreSQL's binaries
(initdb, pg_ctl) and redis-server; it never touches the machine's own PostgreSQL or Redis.

1. Starts a PostgreSQL cluster and a redis-server of its own on spare ports (in a temporary folder), migrates
   and seeds the demo into it, and opens Samna's service around the current hour so walk-ins can be seated
   whenever this runs.
2. Starts the production shape as `make prod` does (gunicorn.conf.py's gthread workers, a Celery worker, one
   beat; production settings, DEBUG off), with SMS_BACKEND=file to a temporary file and a Twilio auth token,
   so inbound texts are signed as Twilio signs them.
3. Client threads drive, at a steady rate: bookings (online and by phone, each with an Idempotency-Key, retried
   with the same key on 503, a broken connection, 409 book_busy or idempotency_in_flight until the answer is
   final), status changes (confirm, seat, complete, cancel), walk-ins and guests' C / X replies by SMS.
4. Meanwhile: Redis is killed and restarted, a gunicorn worker is SIGKILLed (the master starts another), the
   Celery worker is SIGKILLed and started again, and PostgreSQL is stopped (`pg_ctl stop -m fast`) for a few
   seconds and started again.
5. Afterwards it checks what a restaurant would care about and prints it as a table: no table held twice at
   once, overbooked covers within the policy at every moment, every 201 the clients saw is in the database and
   nothing else is, one confirmation text per booking (never none, never two), 503 + Retry-After (never a
   500) while the database was down, and no 5xx but 503 at all. Exits 1 on any violation.

`--json FILE` also writes the figures for a test to read (tests/test_fault_run.py runs a short version).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from twilio.request_validator import RequestValidator

PROJECT = Path(__file__).resolve().parent.parent
VENV_BIN = PROJECT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
DB_NAME = "cxhost_faultrun"
PASSWORD = "fault-run-pw-1"
SECRET_KEY = "fault-run-" + "k3Jd8sLq2Zx7Vn4Bw9Rt6Yp1Hm5Gc0Fe-aU2oI8"
TWILIO_TOKEN = "fault-run-twilio-token"
KYIV = ZoneInfo("Europe/Kyiv")
ACTIVE = ("booked", "confirmed", "arrived", "seated")
# How long a client keeps retrying one request before it counts it as never answered (a violation).
GIVE_UP_SECONDS = 120.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres user when we are root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM, grace: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


# --- the services of our own -----------------------------------------------------------------------------


@dataclass
class OwnPostgres:
    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "pgdata"

    def _run(self, *argv: str, timeout: float = 90) -> None:
        result = subprocess.run(as_postgres(list(argv)), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{result.stdout}\n{result.stderr}")

    def initdb(self) -> None:
        self._run(shutil.which("initdb") or "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # fsync off is safe here (the machine does not crash, only PostgreSQL stops); synchronous_commit stays
        # on, so every commit a client was told about survives the stop.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=100")
        self._run(shutil.which("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l", str(self.base / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(shutil.which("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def connect(self, dbname: str = DB_NAME) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True,
                               connect_timeout=5)


@dataclass
class OwnRedis:
    base: Path
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        out = (self.base / "redis.log").open("ab")
        # No persistence: a restart loses whatever was queued, the harshest broker failure.
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.base)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        stop_group(self.process, signal.SIGKILL)


class Shape:
    """gunicorn (gunicorn.conf.py), a Celery worker and one beat, started the way scripts/prod.sh starts them.

    Not prod.sh itself: it refuses SMS_BACKEND=file (one machine's disk), which this run needs to count texts,
    and the run must kill and restart the worker on its own.
    """

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base, self.env = base, env
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.worker_starts = 0

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        out = (self.base / f"{name}.log").open("ab")
        return subprocess.Popen(argv, cwd=PROJECT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        self.web = self._spawn("gunicorn", [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py",
                                            "cxhost.wsgi:application"])

    def start_worker(self) -> None:
        self.worker_starts += 1
        self.worker = self._spawn("worker", [str(VENV_BIN / "celery"), "-A", "cxhost", "worker", "--loglevel=INFO",
                                             "--concurrency", "2", "-n", f"faultrun{self.worker_starts}@%h"])

    def start_beat(self) -> None:
        self.beat = self._spawn("beat", [str(VENV_BIN / "celery"), "-A", "cxhost", "beat", "--loglevel=INFO",
                                         "--schedule", str(self.base / "beat-schedule")])

    def web_workers(self) -> list[int]:
        """The gunicorn master's worker processes (its children), by pid."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.web.pid:
                    children.append(int(entry.name))
        return sorted(children)

    def alive(self) -> list[str]:
        return [name for name, p in (("web", self.web), ("worker", self.worker), ("beat", self.beat))
                if p is not None and p.poll() is None]

    def stop(self) -> None:
        for process in (self.web, self.worker, self.beat):
            stop_group(process)


# --- the clients ---------------------------------------------------------------------------------------


@dataclass
class Attempt:
    at: float  # seconds since the load began, when the request was sent
    done: float  # … and when its answer (or the broken connection) came
    kind: str
    status: int  # 0: no answer (connection refused or broken)
    code: str | None
    retry_after: bool


@dataclass
class Booked:
    """A reservation a client was told exists (201), as the client saw it."""

    id: int
    name: str
    channel: str
    phone: str | None
    state: str


@dataclass
class Record:
    attempts: list[Attempt] = field(default_factory=list)
    booked: dict[int, Booked] = field(default_factory=dict)
    finals: Counter = field(default_factory=Counter)  # (kind, final answer)
    unanswered: list[str] = field(default_factory=list)  # requests given up on after GIVE_UP_SECONDS
    waits: list[float] = field(default_factory=list)  # first try to final answer, retries included, seconds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


class Client:
    def __init__(self, port: int, token: str, public_base: str, began: float, record: Record) -> None:
        self.port, self.token, self.public_base, self.began, self.record = port, token, public_base, began, record
        self.validator = RequestValidator(TWILIO_TOKEN)

    def call(self, kind: str, method: str, path: str, *, body: dict | None = None, form: dict | None = None,
             headers: dict[str, str] | None = None, auth: bool = True) -> tuple[int, dict, dict]:
        sent = {"Accept": "application/json", **(headers or {})}
        payload = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            payload = json.dumps(body)
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            payload = urllib.parse.urlencode(form)
        if auth:
            sent["Authorization"] = f"Token {self.token}"
        at = time.monotonic() - self.began
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=40)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException):
            self.record.attempt(Attempt(at, time.monotonic() - self.began, kind, 0, None, False))
            return 0, {}, {}
        finally:
            conn.close()
        try:
            answer = json.loads(raw) if raw and answer_headers.get("content-type", "").startswith("application/json") \
                else {}
        except ValueError:
            answer = {}
        code = answer.get("code") if isinstance(answer, dict) else None
        self.record.attempt(Attempt(at, time.monotonic() - self.began, kind, status, code,
                                    "retry-after" in answer_headers))
        return status, answer_headers, answer if isinstance(answer, dict) else {}

    def until_final(self, kind: str, method: str, path: str, **options) -> tuple[int, dict]:
        """Send until the answer is final: "try again" answers (503, no answer, a busy book, a key in flight) are
        retried with the same request — the same Idempotency-Key — as a well-behaved client does."""
        first = time.monotonic()
        given_up = first + GIVE_UP_SECONDS
        while True:
            status, headers, answer = self.call(kind, method, path, **options)
            again = status in (0, 503) or (status == 409 and answer.get("code") in ("book_busy",
                                                                                  "idempotency_in_flight"))
            if not again:
                with self.record.lock:
                    self.record.waits.append(time.monotonic() - first)
                return status, answer
            if time.monotonic() > given_up:
                self.record.unanswered.append(f"{kind} {path}: last {status} {answer.get('code')}")
                return -1, answer
            wait = float(headers.get("retry-after", "1") or 1)
            time.sleep(min(wait, 1.0) * random.uniform(0.5, 1.0))

    # The four kinds of traffic.

    def book(self, n: int, start: str, party_size: int, channel: str) -> None:
        name, phone = f"Fault Guest {n}", f"+38067{3000000 + n:07d}"
        body = {"start": start, "party_size": party_size, "channel": channel, "guest": {"name": name, "phone": phone}}
        status, answer = self.until_final("booking", "POST", "/api/v1/restaurants/samna/reservations/", body=body,
                                          headers={"Idempotency-Key": f"fault-book-{n}"}, auth=channel != "online")
        with self.record.lock:
            self.record.finals["booking", status if status != 409 else f"409 {answer.get('code')}"] += 1
            if status == 201:
                self.record.booked[answer["id"]] = Booked(answer["id"], name, channel, phone, answer["status"])

    def walk_in(self, n: int) -> None:
        name = f"Fault Walk-in {n}"
        status, answer = self.until_final("walk_in", "POST", "/api/v1/restaurants/samna/walk-ins/",
                                          body={"party_size": random.choice((2, 2, 3, 4)), "guest": {"name": name}},
                                          headers={"Idempotency-Key": f"fault-walk-{n}"})
        with self.record.lock:
            self.record.finals["walk_in", status if status != 201 else f"201 {answer.get('status')}"] += 1
            if status == 201 and answer.get("status") == "seated":
                reservation = answer["reservation"]
                self.record.booked[reservation["id"]] = Booked(reservation["id"], name, "walk_in", None, "seated")

    def change(self) -> None:
        moves = {"booked": ("confirm", "seat", "cancel"), "confirmed": ("seat", "cancel"), "seated": ("complete",)}
        with self.record.lock:
            candidates = [b for b in self.record.booked.values() if b.state in moves]
            if not candidates:
                return
            booking = random.choice(candidates)
            action = random.choice(moves[booking.state])
            booking.state = "changing"  # one change at a time per booking, as at a real desk
        status, answer = self.until_final("status_change", "POST", f"/api/v1/reservations/{booking.id}/{action}/",
                                          body={})
        with self.record.lock:
            self.record.finals["status_change", status if status != 409 else f"409 {answer.get('code')}"] += 1
            booking.state = answer.get("status", "unknown") if status == 200 else "unknown"

    def text(self) -> None:
        with self.record.lock:
            candidates = [b for b in self.record.booked.values() if b.phone and b.state in ("booked", "confirmed")]
            if not candidates:
                return
            booking = random.choice(candidates)
            booking.state = "texted"  # the guest's answer decides it now; the desk leaves it alone
        form = {"From": booking.phone, "To": "+15005550006", "Body": random.choice(("C", "X")),
                "MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "ACfaultrun"}
        signature = self.validator.compute_signature(self.public_base + "/sms/inbound/", form)
        status, _ = self.until_final("inbound_sms", "POST", "/sms/inbound/", form=form, auth=False,
                                     headers={"X-Twilio-Signature": signature, "Accept": "*/*"})
        with self.record.lock:
            self.record.finals["inbound_sms", status] += 1


def drive(client: Client, stop: threading.Event, counter: Numbers, rate: float, slots: list[str],
          seed: int) -> None:
    """One client thread: a request every 1/rate seconds, of a kind drawn at random (bookings most often)."""
    rng = random.Random(seed)
    due = time.monotonic()
    while not stop.is_set():
        n = counter.next()
        roll = rng.random()
        if roll < 0.5:
            client.book(n, rng.choice(slots), rng.choice((1, 2, 2, 2, 3, 4, 4, 6)), rng.choice(("online", "phone")))
        elif roll < 0.7:
            client.change()
        elif roll < 0.85:
            client.walk_in(n)
        else:
            client.text()
        due += 1.0 / rate
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            due = time.monotonic()  # behind (a long retry): carry on at the rate, do not burst to catch up


class Numbers:
    """1, 2, 3 … across threads: each request's guest, phone and Idempotency-Key get their own number."""

    def __init__(self) -> None:
        self._n, self._lock = 0, threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._n += 1
            return self._n


# --- the run -------------------------------------------------------------------------------------------


def manage(env: dict[str, str], *argv: str) -> str:
    result = subprocess.run([str(PYTHON), "manage.py", *argv], cwd=PROJECT, env=env, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


# Samna open from the hour before now for six hours, every day: walk-ins can be seated whenever the run
# happens, and the next days' evenings have the same slots to fight over.
OPEN_AROUND_NOW = """
from datetime import datetime, timedelta
from reservations.models import Restaurant, ServiceHours
samna = Restaurant.objects.get(slug="samna")
now = datetime.now(samna.tz)
opens = (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
ServiceHours.objects.filter(restaurant=samna).update(
    opens=opens.time(), last_seating=(opens + timedelta(hours=6)).time(), closes=(opens + timedelta(hours=7)).time())
samna.save()
print(opens.isoformat())
"""


def wait_healthy(port: int, shape: Shape, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "web" not in shape.alive():
            raise RuntimeError("gunicorn exited:\n" + (shape.base / "gunicorn.log").read_text(errors="replace")[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz/")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    raise RuntimeError("no healthy /healthz/ in time:\n"
                       + (shape.base / "gunicorn.log").read_text(errors="replace")[-3000:])


def token_for(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/auth/token/", body=json.dumps({"username": "manager", "password": PASSWORD}),
                 headers={"Content-Type": "application/json"})
    return json.loads(conn.getresponse().read())["token"]


@dataclass
class Phase:
    name: str
    began: float
    ended: float | None = None


def faults(shape: Shape, redis: OwnRedis, postgres: OwnPostgres, seconds: float, began: float,
           phases: list[Phase], stop: threading.Event, db_down_seconds: float) -> None:
    """The faults, spread over the run: broker, web worker, Celery worker, database."""
    def at(fraction: float) -> bool:
        return not stop.wait(max(0.0, began + seconds * fraction - time.monotonic()))

    def phase(name: str) -> Phase:
        p = Phase(name, time.monotonic() - began)
        phases.append(p)
        log(f"fault: {name}")
        return p

    def done(p: Phase) -> None:
        p.ended = time.monotonic() - began

    if at(0.15):
        p = phase("broker restarted")
        redis.kill()
        time.sleep(3)
        redis.start()
        done(p)
    if at(0.35):
        p = phase("web worker killed")
        workers = shape.web_workers()
        if workers:
            os.kill(workers[0], signal.SIGKILL)
        done(p)
    if at(0.50):
        p = phase("Celery worker killed")
        stop_group(shape.worker, signal.SIGKILL)
        time.sleep(2)
        shape.start_worker()
        done(p)
    if at(0.65):
        p = phase("database down")
        postgres.stop("fast")
        time.sleep(db_down_seconds)
        postgres.start()
        done(p)


def phase_of(attempt: Attempt, phases: list[Phase], tail: float = 2.0) -> str:
    """The fault a request was in flight during (or up to `tail` seconds after), else steady."""
    for p in phases:
        if attempt.at <= (p.ended if p.ended is not None else p.began) + tail and attempt.done >= p.began:
            return p.name
    return "steady"


def answer_label(attempt: Attempt) -> str:
    """The status, with the code for the answers that say why (409s, 503s)."""
    return f"{attempt.status} {attempt.code}" if attempt.status in (409, 503) else str(attempt.status)


def sms_lines(path: Path) -> tuple[list[dict], int]:
    lines, torn = [], 0
    if path.exists():
        for raw in path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                torn += 1
    return lines, torn


def wait_for_texts(path: Path, expected: set[int], seconds: float, quiet: float) -> None:
    """Until every expected confirmation is out (or `seconds` pass), then `quiet` more, for late duplicates."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = {line.get("reservation") for line in sms_lines(path)[0] if line.get("kind") == "confirmation"}
        if expected <= sent:
            break
        time.sleep(1)
    time.sleep(quiet)


def check(postgres: OwnPostgres, record: Record, phases: list[Phase], sms_path: Path, first_id: int) -> tuple[
        list[tuple[str, str, bool]], dict]:
    rows: list[tuple[str, str, bool]] = []
    figures: dict = {}
    with postgres.connect() as db:
        overlaps = db.execute("""
            SELECT t.name, a.reservation_id, b.reservation_id
            FROM reservations_reservationtable a
            JOIN reservations_reservationtable b
              ON b.table_id = a.table_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
            JOIN reservations_reservation ra ON ra.id = a.reservation_id
            JOIN reservations_reservation rb ON rb.id = b.reservation_id
            JOIN reservations_table t ON t.id = a.table_id
            WHERE NOT a.released AND NOT b.released AND ra.status = ANY(%(active)s) AND rb.status = ANY(%(active)s)
        """, {"active": list(ACTIVE)}).fetchall()
        tables_used = db.execute("""SELECT count(DISTINCT a.table_id) FROM reservations_reservationtable a
                                    JOIN reservations_reservation r ON r.id = a.reservation_id
                                    WHERE NOT a.released AND r.status = ANY(%s)""", [list(ACTIVE)]).fetchone()[0]
        figures["overlapping_tables"] = len(overlaps)
        rows.append(("no table held twice at once", f"{len(overlaps)} overlaps on {tables_used} tables in use",
                     not overlaps))

        # Overbooked covers at each moment (the peak is always at some overbooked booking's start; one row per
        # booking, so two starting together do not count their moment twice), against the
        # policy; bookings made through a manager's override may go beyond it and are not counted.
        worst = db.execute("""
            SELECT a.id, a.start, SUM(b.party_size), p.max_overbooked_covers
            FROM reservations_reservation a
            JOIN reservations_reservation b
              ON b.restaurant_id = a.restaurant_id AND b.start <= a.start AND a.start < b."end"
            JOIN reservations_overbookingpolicy p ON p.restaurant_id = a.restaurant_id
            WHERE a.overbooked AND b.overbooked AND a.status = ANY(%(active)s) AND b.status = ANY(%(active)s)
              AND a.override_bypassed = '' AND b.override_bypassed = ''
            GROUP BY a.id, a.start, p.max_overbooked_covers
            ORDER BY SUM(b.party_size) - p.max_overbooked_covers DESC
        """, {"active": list(ACTIVE)}).fetchall()
        overbooked = db.execute("SELECT count(*) FROM reservations_reservation WHERE overbooked AND id >= %s",
                                [first_id]).fetchone()[0]
        peak = max((row[2] for row in worst), default=0)
        cap = db.execute("SELECT max_overbooked_covers FROM reservations_overbookingpolicy p JOIN "
                         "reservations_restaurant r ON r.id = p.restaurant_id WHERE r.slug = 'samna'").fetchone()[0]
        over = [row for row in worst if row[2] > row[3]]
        figures.update(overbooked_bookings=overbooked, peak_overbooked_covers=peak, overbooking_cap=cap,
                       slots_over_cap=len(over))
        rows.append(("overbooked covers within the cap", f"{overbooked} overbooked, peak {peak} covers "
                     f"(cap {cap}), {len(over)} moments over", not over))

        stored = {row[0]: (row[1], row[2]) for row in db.execute("""
            SELECT r.id, g.name, r.channel FROM reservations_reservation r
            LEFT JOIN reservations_guest g ON g.id = r.guest_id WHERE r.id >= %s""", [first_id]).fetchall()}
        outbox = dict(db.execute("""SELECT status, count(*) FROM reservations_outboundmessage
                                    WHERE kind = 'confirmation' GROUP BY status""").fetchall())
    seen = record.booked
    missing = sorted(set(seen) - set(stored))
    extra = sorted(set(stored) - set(seen))
    renamed = sorted(i for i in set(seen) & set(stored) if stored[i][0] != seen[i].name)
    figures.update(created_seen=len(seen), created_stored=len(stored), missing=missing, extra=extra, renamed=renamed)
    rows.append(("every 201 stored, nothing else", f"{len(seen)} seen, {len(stored)} stored; {len(missing)} missing, "
                 f"{len(extra)} extra, {len(renamed)} other guest", not (missing or extra or renamed)))

    lines, torn = sms_lines(sms_path)
    confirmations = Counter(line.get("reservation") for line in lines if line.get("kind") == "confirmation")
    expected = {i for i, b in seen.items() if b.phone}
    unsent = sorted(expected - set(confirmations))
    twice = sorted(i for i, n in confirmations.items() if n > 1)
    stray = sorted(set(confirmations) - expected)
    figures.update(confirmations_expected=len(expected), confirmations_sent=sum(confirmations.values()),
                   confirmations_unsent=unsent, confirmations_twice=twice, confirmations_stray=stray, torn_lines=torn,
                   outbox_confirmations=outbox, sms_lines=len(lines))
    rows.append(("one confirmation per booking", f"{len(expected)} due, {sum(confirmations.values())} sent; "
                 f"{len(unsent)} none, {len(twice)} twice, {len(stray)} stray", not (unsent or twice or stray or torn)))

    by_phase: dict[str, Counter] = defaultdict(Counter)
    for a in record.attempts:
        by_phase[phase_of(a, phases)][answer_label(a)] += 1
    down = [a for a in record.attempts if phase_of(a, phases) == "database down"]
    down_503 = [a for a in down if a.status == 503]
    down_bad = [a for a in down if a.status >= 500 and a.status != 503]
    bare_503 = [a for a in record.attempts if a.status == 503 and not (a.retry_after and a.code ==
                                                                       "database_unavailable")]
    figures.update(db_down_requests=len(down), db_down_503=len(down_503), db_down_500=len(down_bad),
                   statuses_by_phase={k: {str(s): n for s, n in v.items()} for k, v in by_phase.items()})
    rows.append(("503 + Retry-After while the database was down", f"{len(down)} requests: {len(down_503)} 503, "
                 f"{len(down_bad)} other 5xx, {len(bare_503)} 503 without Retry-After anywhere",
                 bool(down_503) and not down_bad and not bare_503))
    five = Counter(a.status for a in record.attempts if a.status >= 500 and a.status != 503)
    figures["other_5xx"] = dict(five)
    rows.append(("no 5xx but 503", ", ".join(f"{n}× {s}" for s, n in sorted(five.items())) or "none", not five))
    waits = sorted(record.waits) or [0.0]
    figures.update(unanswered=record.unanswered, longest_wait_seconds=round(waits[-1], 1),
                   p95_wait_seconds=round(waits[int(0.95 * (len(waits) - 1))], 2))
    rows.append(("every request answered in the end", f"{len(record.unanswered)} given up after "
                 f"{GIVE_UP_SECONDS:.0f} s; final answer within {figures['p95_wait_seconds']} s (p95), "
                 f"{figures['longest_wait_seconds']} s at most, retries included", not record.unanswered))
    return rows, figures


def print_tables(rows, figures, record: Record, phases: list[Phase]) -> None:
    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'check'.ljust(width)} | result | figures")
    print(f"|{'-' * (width + 2)}|--------|--------")
    for name, figure, ok in rows:
        print(f"| {name.ljust(width)} | {'ok' if ok else 'FAIL':6} | {figure}")
    print()
    statuses = sorted({s for counts in figures["statuses_by_phase"].values() for s in counts})
    print("| phase | during s | " + " | ".join("no answer" if s == "0" else s for s in statuses))
    print("|-------|---------|" + "|".join("---" for _ in statuses))
    names = ["steady"] + [p.name for p in phases]
    starts = {p.name: f"{p.began:.0f}–{(p.ended or p.began):.0f}" for p in phases}
    for name in names:
        counts = figures["statuses_by_phase"].get(name, {})
        print(f"| {name} | {starts.get(name, '')} | " + " | ".join(str(counts.get(s, 0)) for s in statuses))
    print()
    print("final answers: " + ", ".join(f"{k[0]} {k[1]}: {n}" for k, n in sorted(record.finals.items(), key=str)))
    print(f"confirmation outbox rows by status: {figures['outbox_confirmations']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="how long the load runs")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--rate", type=float, default=6, help="requests a second, all clients together")
    parser.add_argument("--db-down", type=float, default=4, help="seconds the database stays stopped")
    parser.add_argument("--settle", type=float, default=90, help="at most this long for the last texts to go out")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, SMS file)")
    args = parser.parse_args()
    for binary in ("initdb", "pg_ctl", "redis-server"):
        if not shutil.which(binary):
            print(f"fault run: {binary} is not on PATH", file=sys.stderr)
            return 2

    base = Path(tempfile.mkdtemp(prefix="cxhost-fault-run-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    base.chmod(0o777)
    postgres = OwnPostgres(base, free_port())
    redis = OwnRedis(base, free_port())
    web_port = free_port()
    sms_path = base / "sms.jsonl"
    public_base = f"http://127.0.0.1:{web_port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG",) and not k.startswith("CXHOST_")}
    env.update(
        DJANGO_SETTINGS_MODULE="cxhost.settings", SECRET_KEY=SECRET_KEY, HTTPS="0",
        DATABASE_URL=postgres.url(), REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        CACHE_URL=f"redis://127.0.0.1:{redis.port}/1", CONN_MAX_AGE="60",
        SMS_BACKEND="file", SMS_FILE_PATH=str(sms_path), TWILIO_AUTH_TOKEN=TWILIO_TOKEN, PUBLIC_BASE_URL=public_base,
        GUNICORN_BIND=f"127.0.0.1:{web_port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
        GUNICORN_ACCESS_LOG=str(base / "access.log"), PUBLIC_THROTTLE_RATE="100000/min",
        # The load books from one address and one number range: not an abuser's (public_caps.py).
        **{f"PUBLIC_BOOKINGS_PER_{k}_PER_DAY": "1000000" for k in ("PHONE", "PREFIX", "ADDRESS")},
        STATIC_ROOT=str(base / "static"),
        # Beat's outbox sweep, every 5 s and for messages 5 s overdue (production: 30 s and 20 s), so a short run
        # sees the texts whose task the broker lost go out before it ends.
        SMS_REDISPATCH_EVERY_SECONDS="5", SMS_REDISPATCH_AFTER_SECONDS="5",
        # A request killed with its web worker leaves its key "in flight"; it is taken over after this long
        # (production: 60 s). A text claimed by the killed Celery worker is taken back after this long (60 s).
        IDEMPOTENCY_IN_FLIGHT_SECONDS="20", SMS_CLAIM_STUCK_SECONDS="20",
    )
    shape = Shape(base, env)
    record = Record()
    phases: list[Phase] = []
    try:
        log(f"own PostgreSQL on {postgres.port}, Redis on {redis.port}, web on {web_port}, files in {base}")
        postgres.initdb()
        postgres.start()
        with postgres.connect("postgres") as db:
            db.execute(f"CREATE DATABASE {DB_NAME}")
        redis.start()
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--password", PASSWORD, "--empty")
        opens = datetime.fromisoformat(manage(env, "shell", "-c", OPEN_AROUND_NOW).strip().splitlines()[-1])
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        with postgres.connect() as db:
            first_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM reservations_reservation").fetchone()[0]
        shape.start_worker()
        shape.start_beat()
        shape.start_web()
        wait_healthy(web_port, shape)
        token = token_for(web_port)
        # Bookings go to the next two days' services, every slot of them: enough to fill the book and overbook.
        slots = [(opens + timedelta(days=d, minutes=15 * k)).replace(tzinfo=None).isoformat(timespec="minutes")
                 for d in (1, 2) for k in range(6 * 4 + 1)]
        log(f"load: {args.clients} clients, {args.rate}/s for {args.seconds:.0f} s")
        began = time.monotonic()
        stop = threading.Event()
        counter = Numbers()
        threads = [threading.Thread(target=drive, args=(Client(web_port, token, public_base, began, record), stop,
                                                           counter, args.rate / args.clients, slots, args.seed + i),
                                    daemon=True) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        fault_thread = threading.Thread(target=faults, args=(shape, redis, postgres, args.seconds, began, phases,
                                                             stop, args.db_down), daemon=True)
        fault_thread.start()
        stop.wait(args.seconds)
        stop.set()
        fault_thread.join()
        for thread in threads:
            thread.join(GIVE_UP_SECONDS + 60)
        log(f"load over: {len(record.attempts)} requests; waiting for the last texts")
        expected = {i for i, b in record.booked.items() if b.phone}
        wait_for_texts(sms_path, expected, args.settle, quiet=12)
        dead = {"web", "worker", "beat"} - set(shape.alive())
        rows, figures = check(postgres, record, phases, sms_path, first_id)
        web_log = (base / "gunicorn.log").read_text(errors="replace")
        unhandled = web_log.count("Unhandled error on") + web_log.count("Internal Server Error")
        figures["unhandled_in_web_log"] = unhandled
        rows.append(("no unhandled error in the web's log", f"{unhandled} logged", not unhandled))
        rows.append(("the shape still running", ", ".join(sorted(dead)) + " exited" if dead else "web, worker, beat",
                     not dead))
        figures.update(requests=len(record.attempts), seconds=args.seconds, phases=[p.__dict__ for p in phases],
                       violations=[name for name, _, ok in rows if not ok])
        print_tables(rows, figures, record, phases)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1, default=str))
        failed = [name for name, _, ok in rows if not ok]
        if failed:
            print(f"\nFAILED: {', '.join(failed)} (logs in {base})")
            args.keep = True
            return 1
        print("\nall checks passed")
        return 0
    finally:
        shape.stop()
        redis.kill()
        subprocess.run(as_postgres([shutil.which("pg_ctl") or "pg_ctl", "-D", str(postgres.data), "-m",
                                    "immediate", "stop"]), capture_output=True, timeout=60)
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
