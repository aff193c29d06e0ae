"""The Idempotency-Key and the day lock against real concurrency, on PostgreSQL.

- Two real requests with one key race: the second, arriving while the first is held inside the service
  (the CXHOST_BOOKING_RACE_DELAY_MS seam), is told `idempotency_in_flight`; the first books; a repeat
  replays it.
- A repeat after the first request died with its server takes the key over at once (PostgreSQL's owner
  lock ends with the dead request's connection), rather than after IDEMPOTENCY_IN_FLIGHT_SECONDS.
- An answer that only says "try again" (`book_busy`, from a day lock held by another transaction) is not
  kept: the retry with the same key books.
- The first use of a day (the `BookDay` insert) waits on another transaction's uncommitted insert no
  longer than the lock timeout.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from reservations.errors import BookBusy
from reservations.models import BookDay, IdempotencyKey, Reservation
from reservations.services.booking import reservation_create
from reservations.services.demo import demo_restaurant_reset, demo_users_reset
from tests.conftest import DEMO_PASSWORD, at, kyiv

from .conftest import LiveServer

pytestmark = pytest.mark.postgres

RESERVATIONS = "/api/v1/restaurants/samna/reservations/"
LOCK_TIMEOUT_MS = 300


@pytest.fixture
def samna(transactional_db):
    """The demo restaurant and its users, committed so that other connections and processes see them."""
    restaurant = demo_restaurant_reset()
    demo_users_reset(password=DEMO_PASSWORD)
    return restaurant


def other_connection() -> psycopg.Connection:
    """A second session on the test database, as another process's transaction would be."""
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
                           password=s["PASSWORD"] or None, dbname=s["NAME"])


def body_for(day, n: int = 1) -> dict:
    return {"start": at(day, "20:00"), "party_size": 2, "channel": "phone",
            "guest": {"name": f"Guest {n}", "phone": f"+38067555{n:04d}"}}


def post(server: LiveServer, token: str, body: dict, key: str) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", RESERVATIONS, body=json.dumps(body), headers={
            "Content-Type": "application/json", "Accept": "application/json",
            "Authorization": f"Token {token}", "Idempotency-Key": key,
        })
        response = conn.getresponse()
        return response.status, json.loads(response.read()), dict(response.getheaders())
    finally:
        conn.close()


def wait_for_claim(key: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if IdempotencyKey.objects.filter(key=key, response_status__isnull=True).exists():
            return
        time.sleep(0.02)
    pytest.fail(f"the first request never claimed {key!r}")


def test_a_repeat_racing_the_first_request_is_in_flight_and_then_replays_it(servers, samna, tuesday):
    # The first request sleeps inside the service, under the lock, after claiming the key.
    server = servers.get(CXHOST_BOOKING_RACE_DELAY_MS="2500")
    token = server.token_for("host", DEMO_PASSWORD)
    body = body_for(tuesday)
    first: list = []
    racing = threading.Thread(target=lambda: first.append(post(server, token, body, "race-1")))
    racing.start()
    try:
        wait_for_claim("race-1")
        status, answer, _ = post(server, token, body, "race-1")
    finally:
        racing.join(timeout=60)

    assert (status, answer["code"]) == (409, "idempotency_in_flight"), answer
    assert first and first[0][0] == 201, (first, server.log_tail())
    replay_status, replayed, headers = post(server, token, body, "race-1")
    assert replay_status == 201 and replayed == first[0][1]
    assert headers.get("Idempotent-Replayed") == "true"
    assert Reservation.objects.count() == 1


def test_a_retry_after_the_first_request_died_takes_its_key_over_at_once(servers, samna, tuesday):
    # The first request claims the key and sleeps inside the service; then its server is killed mid-request
    # (as a worker is SIGKILLed, or the database restarts): its connection, its booking and its hold on the key
    # end together.
    server = servers.get(CXHOST_BOOKING_RACE_DELAY_MS="30000")
    token = server.token_for("host", DEMO_PASSWORD)
    body = body_for(tuesday, n=3)
    first: list = []
    doomed = threading.Thread(target=lambda: first.append(_post_or_error(server, token, body, "died-1")))
    doomed.start()
    try:
        wait_for_claim("died-1")
        # Control: while the first request lives, a repeat is told it is in flight, never let through beside it.
        alive_status, alive_answer, _ = post(server, token, body, "died-1")
        servers.close()
    finally:
        doomed.join(timeout=60)
    assert (alive_status, alive_answer["code"]) == (409, "idempotency_in_flight"), alive_answer
    assert first and isinstance(first[0], Exception), first  # the client of the dead request got no answer

    # A retry does not wait out IDEMPOTENCY_IN_FLIGHT_SECONDS (60 s): nobody holds the key, so it takes it over.
    fresh = servers.get()
    status, answer, headers = post(fresh, token, body, "died-1")
    assert status == 201, answer
    assert "Idempotent-Replayed" not in headers
    assert Reservation.objects.count() == 1
    replay_status, replayed, replay_headers = post(fresh, token, body, "died-1")
    assert (replay_status, replayed) == (201, answer) and replay_headers.get("Idempotent-Replayed") == "true"


def _post_or_error(server: LiveServer, token: str, body: dict, key: str):
    try:
        return post(server, token, body, key)
    except (OSError, http.client.HTTPException) as exc:
        return exc


def test_a_busy_book_is_not_replayed_the_retry_with_the_same_key_books(samna, staff, tuesday, settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = LOCK_TIMEOUT_MS
    BookDay.objects.create(restaurant=samna, date=tuesday)
    api = APIClient()
    api.force_authenticate(staff["host"])
    body = body_for(tuesday, n=2)

    holder = other_connection()
    try:
        holder.execute("SELECT id FROM reservations_bookday WHERE restaurant_id = %s AND date = %s FOR UPDATE",
                       (samna.pk, tuesday))
        busy = api.post(RESERVATIONS, body, format="json", headers={"Idempotency-Key": "busy-1"})
    finally:
        holder.rollback()
        holder.close()
    retried = api.post(RESERVATIONS, body, format="json", headers={"Idempotency-Key": "busy-1"})

    assert busy.status_code == 409 and busy.json()["code"] == "book_busy", busy.content
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried.headers
    assert Reservation.objects.count() == 1


def test_the_first_use_of_a_day_waits_no_longer_than_the_lock_timeout(samna, tuesday, settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = LOCK_TIMEOUT_MS
    inserter = other_connection()
    # Whatever happens, the other transaction ends after a few seconds, so a wait without the
    # timeout shows as a booking made late, not as a hung test run.
    giving_up = threading.Timer(5.0, inserter.rollback)
    try:
        inserter.execute("INSERT INTO reservations_bookday (restaurant_id, date) VALUES (%s, %s)",
                         (samna.pk, tuesday))
        giving_up.start()
        began = time.monotonic()
        with pytest.raises(BookBusy):
            reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="host")
        waited = time.monotonic() - began
    finally:
        giving_up.cancel()
        inserter.rollback()
        inserter.close()

    assert waited < 3.0, f"waited {waited:.1f}s on another transaction's BookDay insert"
    assert not Reservation.objects.exists()


def test_the_claim_and_the_kept_body_commit_unhurried_without_touching_the_bookings_own_commit(samna, tuesday):
    """Outside any transaction (as a real request runs) the key's claim and its kept body are each one query that
    commits with synchronous_commit off (idempotency.py says why no promise rests on them). The setting must stay
    local to those two: the booking's own commit, between them, and every later one wait for the disk."""
    api = APIClient()
    seen: list[tuple[str, str]] = []

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "reservations_idempotencykey" in sql or 'INSERT INTO "reservations_reservation"' in sql:
            with context["connection"].connection.cursor() as cursor:  # the raw session: not watched again
                cursor.execute("SHOW synchronous_commit")
                seen.append((sql.split(";")[0][:40], cursor.fetchone()[0]))
        return result

    body = {**body_for(tuesday, n=3), "channel": "online"}
    with connection.execute_wrapper(watch):
        first = api.post(RESERVATIONS, body, format="json", headers={"Idempotency-Key": "unhurried-1"})
    again = api.post(RESERVATIONS, body, format="json", headers={"Idempotency-Key": "unhurried-1"})

    assert first.status_code == again.status_code == 201, first.content
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    kept = IdempotencyKey.objects.get(key="unhurried-1")
    assert (kept.response_status, kept.reservation_id, kept.response_body) == (201, first.json()["id"], first.json())
    assert [sql for sql, _ in seen if sql.startswith("SET LOCAL synchronous_commit = off")] != []
    # Read after each statement: the booking's insert (inside its transaction) and the settle see "on", and so
    # does the session after the claim's and the keep's own one-query transactions ended.
    assert {setting for _, setting in seen} == {"on"}, seen
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
