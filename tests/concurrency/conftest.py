"""The concurrency proof's tools: a live multi-process server, a volley of simultaneous requests, and the
SQL that checks the book afterwards.

The server is gunicorn with several worker processes, each with several threads, on the pytest-django
test database: every request really runs in another process, against committed data (so the tests use
`transactional_db`). A volley releases all its requests at once through a barrier, after pretix's
control-run tests and django-oscar's `run_concurrently` idea.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from reservations.models import HoldBackRule, Reservation, ReservationTable, Restaurant, ServiceHours
from reservations.services.demo import demo_restaurant_reset, demo_users_reset
from tests.conftest import DEMO_PASSWORD

PROJECT = Path(__file__).resolve().parents[2]
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"
WORKERS = 4
THREADS = 4
# Widens every booking's decide→write gap, in the protected runs as in the control runs, so that the
# two differ only by the lock (and the constraint).
RACE_DELAY_MS = 300
REQUEST_TIMEOUT = 60.0
START_TIMEOUT = 45.0


# --- the server -------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: dict | list | None
    tag: str = ""

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict | None = None
    token: str | None = None
    tag: str = ""


@dataclass
class LiveServer:
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def request(self, call: Call) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            headers = {"Accept": "application/json"}
            payload = None
            if call.body is not None:
                payload = json.dumps(call.body).encode()
                headers["Content-Type"] = "application/json"
            if call.token:
                headers["Authorization"] = f"Token {call.token}"
            conn.request(call.method, call.path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"code": "not_json", "detail": raw[:200].decode(errors="replace")}
        return Answer(response.status, body, call.tag)

    def token_for(self, username: str, password: str) -> str:
        answer = self.request(Call("POST", "/api/v1/auth/token/", {"username": username, "password": password}))
        assert answer.status == 200, answer
        return answer.body["token"]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture(autouse=True)
def _fast_and_fresh():
    """Overrides the suite's fast test hasher: the live server checks passwords with the real settings."""
    from django.core.cache import cache

    cache.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests() -> str:
    """The DATABASE_URL of the database pytest-django created for this run (e.g. test_cxhost)."""
    s = connection.settings_dict
    user = quote(s.get("USER") or "", safe="")
    password = quote(str(s.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(s['NAME'], safe='')}"


@contextmanager
def live_server(**extra_env: str) -> Iterator[LiveServer]:
    """gunicorn with WORKERS processes × THREADS threads on the test database, until the block ends."""
    assert connection.vendor == "postgresql", "the concurrency proof runs on PostgreSQL only"
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CXHOST_UNSAFE_SKIP_BOOKING_LOCK", "CXHOST_BOOKING_RACE_DELAY_MS")
    }
    env.update(
        DATABASE_URL=database_url_for_tests(),
        PUBLIC_THROTTLE_RATE="100000/min",
        DJANGO_SETTINGS_MODULE="cxhost.test_settings",
        CONN_MAX_AGE="0",  # no idle connection may hold the test database when pytest-django flushes it
        **extra_env,
    )
    log = Path(tempfile.mkstemp(prefix="cxhost-gunicorn-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "cxhost.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "--preload",  # import Django once, then fork: a quicker start
            ],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(port=port, log=log, env=extra_env)
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        stop_group(process)
        log.unlink(missing_ok=True)


def _wait_healthy(server: LiveServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if server.request(Call("GET", "/healthz/")).status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz/ within {START_TIMEOUT}s:\n{server.log_tail()}")


def stop_group(process: subprocess.Popen, *, grace: float = 2) -> None:
    """Stop a process group we started: a polite SIGTERM, then SIGKILL for whatever is left after `grace`."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait(timeout=10)


# --- the volley -------------------------------------------------------------------------------------


def run_concurrently(server: LiveServer, calls: Sequence[Call], *, timeout: float = 90.0) -> list[Answer]:
    """Send every call at the same moment, each from its own client thread; the answers in call order.

    A call that cannot be answered at all (connection reset, time-out) comes back as status 0, which
    every test counts as a failure like a 5xx.
    """
    barrier = threading.Barrier(len(calls), timeout=30)

    def fire(call: Call) -> Answer:
        barrier.wait()
        try:
            return server.request(call)
        except (OSError, http.client.HTTPException) as exc:
            return Answer(0, {"code": "no_answer", "detail": repr(exc)}, call.tag)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(fire, call) for call in calls]
        return [f.result(timeout=timeout) for f in futures]


def tally(answers: Sequence[Answer]) -> Counter:
    """{(status, code): count} — what the assertion messages show."""
    return Counter((a.status, a.code if a.status != 201 else None) for a in answers)


def booking_call(
    start: str,
    n: int,
    *,
    channel: str = "online",
    token: str | None = None,
    override: str | None = None,
    tag: str = "",
    party_size: int = 2,
) -> Call:
    body = {
        "start": start,
        "party_size": party_size,
        "channel": channel,
        "guest": {"name": f"Guest {n}", "phone": f"+38067{1000000 + n:07d}"},
    }
    if override is not None:
        body["override"] = {"reason": override}
    return Call("POST", "/api/v1/restaurants/samna/reservations/", body, token, tag or channel)


def action_call(reservation_id: int, action: str, token: str, *, body: dict | None = None, tag: str = "") -> Call:
    """A status change (`cancel`, `seat`, `complete`, ...) on one reservation."""
    return Call("POST", f"/api/v1/reservations/{reservation_id}/{action}/", body, token, tag or action)


def walk_in_call(n: int, token: str, *, party_size: int = 2, tag: str = "walk_in") -> Call:
    body = {"party_size": party_size, "guest": {"name": f"Walk-in {n}"}}
    return Call("POST", "/api/v1/restaurants/samna/walk-ins/", body, token, tag)


def waitlist_seat_call(entry_id: int, token: str, *, tag: str = "waitlist_seat") -> Call:
    return Call("POST", f"/api/v1/waitlist/{entry_id}/seat/", None, token, tag)


def assert_no_server_errors(answers: Sequence[Answer], server: LiveServer) -> None:
    broken = [a for a in answers if a.status == 0 or a.status >= 500]
    assert not broken, f"server errors or no answer: {broken[:3]} (all: {tally(answers)})\n{server.log_tail()}"


# --- what the database says -------------------------------------------------------------------------

ACTIVE = ("booked", "confirmed", "arrived", "seated")

DOUBLE_BOOKED_SQL = """
    SELECT t.name, a.reservation_id, b.reservation_id
    FROM reservations_reservationtable a
    JOIN reservations_reservationtable b
      ON b.table_id = a.table_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
    JOIN reservations_table t ON t.id = a.table_id
    WHERE NOT a.released AND NOT b.released
    ORDER BY t.name, a.reservation_id, b.reservation_id
"""

# The most overbooked covers present at one moment: the peak is always at some booking's start.
PEAK_OVERBOOKED_SQL = """
    SELECT COALESCE(MAX(covers), 0) FROM (
        SELECT a.id, SUM(b.party_size) AS covers
        FROM reservations_reservation a
        JOIN reservations_reservation b
          ON b.restaurant_id = a.restaurant_id AND b.start <= a.start AND a.start < b."end"
        WHERE a.restaurant_id = %(restaurant)s
          AND a.overbooked AND b.overbooked
          AND a.status = ANY(%(active)s) AND b.status = ANY(%(active)s)
          AND (%(with_overrides)s OR (a.override_bypassed = '' AND b.override_bypassed = ''))
        GROUP BY a.id
    ) AS moments
"""


def double_booked_tables() -> list[tuple[str, int, int]]:
    """Every pair of live assignments holding one table at overlapping times: (table, reservation, reservation)."""
    with connection.cursor() as cursor:
        cursor.execute(DOUBLE_BOOKED_SQL)
        return cursor.fetchall()


def double_booked_between(channel_a: str, channel_b: str) -> list[tuple[str, int, int]]:
    """The double bookings that pair a reservation made on `channel_a` with one made on `channel_b`."""
    pairs = double_booked_tables()
    ids = {r for _, a, b in pairs for r in (a, b)}
    channel = dict(Reservation.objects.filter(pk__in=ids).values_list("pk", "channel"))
    return [
        (table, a, b) for table, a, b in pairs if {channel[a], channel[b]} == {channel_a, channel_b}
    ]


def live_tables(reservation_id: int) -> list[str]:
    """The tables a reservation holds now (assignments not released), by name."""
    return sorted(
        ReservationTable.objects.filter(reservation_id=reservation_id, released=False).values_list(
            "table__name", flat=True
        )
    )


@contextmanager
def overlap_constraint_dropped() -> Iterator[None]:
    """For a control run: the book without its last line of defence, restored afterwards.

    Restoring needs a book without overlaps, so every table assignment the run made is deleted first
    (the test's rows are flushed after it anyway).
    """
    from reservations.services.booking import TABLE_OVERLAP_CONSTRAINT

    migration = importlib.import_module("reservations.migrations.0002_table_overlap_exclusion")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE reservations_reservationtable DROP CONSTRAINT {TABLE_OVERLAP_CONSTRAINT}")
    try:
        yield
    finally:
        ReservationTable.objects.all().delete()
        with connection.schema_editor() as editor:
            migration.add_constraint(None, editor)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_constraint WHERE conname = %s", [TABLE_OVERLAP_CONSTRAINT])
            assert cursor.fetchone()[0] == 1


def peak_overbooked_covers(restaurant_id: int, *, with_overrides: bool = True) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            PEAK_OVERBOOKED_SQL, {"restaurant": restaurant_id, "active": list(ACTIVE), "with_overrides": with_overrides}
        )
        return cursor.fetchone()[0]


# --- fixtures ---------------------------------------------------------------------------------------


class ServerPool:
    """At most one live server at a time on the 2-core machine, restarted only when the environment changes."""

    def __init__(self) -> None:
        self._env: dict[str, str] | None = None
        self._running = None
        self._server: LiveServer | None = None

    def get(self, **env: str) -> LiveServer:
        if self._server is None or env != self._env:
            self.close()
            self._running = live_server(**env)
            self._server = self._running.__enter__()
            self._env = env
        return self._server

    def close(self) -> None:
        if self._running is not None:
            running, self._running, self._server = self._running, None, None
            running.__exit__(None, None, None)


@pytest.fixture(scope="module")
def servers(django_db_setup) -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def guarded_server(servers: ServerPool) -> LiveServer:
    """The server as deployed (lock on), with the decide→write gap widened like the control runs'."""
    return servers.get(CXHOST_BOOKING_RACE_DELAY_MS=str(RACE_DELAY_MS))


@pytest.fixture
def unguarded_server(servers: ServerPool) -> LiveServer:
    """The control: the restaurant-day lock skipped, the same widened gap."""
    return servers.get(CXHOST_UNSAFE_SKIP_BOOKING_LOCK="1", CXHOST_BOOKING_RACE_DELAY_MS=str(RACE_DELAY_MS))


# --- the restaurant ---------------------------------------------------------------------------------

# Samna's tables that seat a party of 2 (T1–T4 and T11, T12 seat 1–2; T5–T8 seat 2–4).
TABLES_FOR_TWO = {"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T11", "T12"}
TURN_FOR_TWO = timedelta(minutes=90)


@pytest.fixture
def samna(transactional_db) -> Restaurant:
    """The demo restaurant and its users, committed so that the server's processes see them."""
    restaurant = demo_restaurant_reset()
    demo_users_reset(password=DEMO_PASSWORD)
    return restaurant


@pytest.fixture
def serving_now(samna) -> datetime:
    """Samna re-timed to be seating right now, whenever the test runs: walk-ins need a service in progress.

    Every day's service opened three hours before this quarter hour's slot and seats for 18 hours more
    (past midnight where it must); the hold-back is switched off so that any hour of any weekday gives the
    same book. Returns this quarter hour's slot (at or just before now), in Samna's zone.
    """
    now = timezone.now().astimezone(samna.tz)
    slot = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    opens = slot - timedelta(hours=3)
    for hours in ServiceHours.objects.filter(restaurant=samna):
        hours.opens = opens.time()
        hours.last_seating = (opens + timedelta(hours=18)).time()
        hours.closes = (opens + timedelta(hours=19)).time()
        hours.save()  # saving (not .update()) renews the restaurant's config token: no stale plan anywhere
    for rule in HoldBackRule.objects.filter(restaurant=samna):
        rule.is_active = False
        rule.save()
    return slot


def next_bookable_slot(slot: datetime) -> datetime:
    """The first slot after `slot` still comfortably ahead of the clock (a booking "for now")."""
    ahead = slot + timedelta(minutes=15)
    return ahead if ahead - timezone.now() > timedelta(minutes=2) else ahead + timedelta(minutes=15)


def phone_for(n: int) -> PhoneNumber:
    return PhoneNumber.from_string(f"+38063{2000000 + n:07d}")


def fill_tables_for_two_since(samna: Restaurant, slot: datetime) -> list[Reservation]:
    """Seat a party of two at every table for two, booked by phone at slots from 45 minutes before `slot`.

    They were booked back then (through the real service, as of that moment), so each holds its table
    now and frees it at its own time: 45 to 90 minutes after `slot`, staggered.
    """
    from django.contrib.auth import get_user_model

    from reservations.services.booking import reservation_create
    from reservations.services.guests import GuestDetails

    host = get_user_model().objects.get(username="host")
    parties = []
    for n, quarters_before in enumerate((0, 0, 0, 1, 1, 1, 2, 2, 3, 3)):
        start = slot - timedelta(minutes=15 * quarters_before)
        parties.append(
            reservation_create(
                restaurant=samna, start=start, party_size=2, channel=Reservation.Channel.PHONE,
                guest=GuestDetails(name=f"Earlier {n}", phone=phone_for(n)), by=host, now=start,
            )
        )
    taken = {t for r in parties for t in live_tables(r.pk)}
    assert taken == TABLES_FOR_TWO and not any(r.overbooked for r in parties)
    return parties
