"""A hung Redis must not take the site down: bookings answer, `/healthz/` answers, nothing is lost.

A Redis that refuses connections fails at once; one that hangs (SIGSTOP: the kernel still accepts the
connection, nobody ever answers) holds whatever waits on it. Before the time-outs, each booking committed and
then held its web thread in the post-commit publish until Redis answered, and `/healthz/` queued behind them.

The test runs a redis-server of its own on a spare port (the machine's Redis is never touched), points a live
gunicorn at it as broker and cache, SIGSTOPs it, and fires a volley of bookings with `/healthz/` and an
availability read among them.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest

from reservations.models import OutboundMessage, Reservation
from reservations.tasks import dispatch_pending_sms_task
from tests.concurrency.conftest import Answer, Call, LiveServer, booking_call, live_server
from tests.conftest import at

from .conftest import celery_worker, free_port, own_redis, publishing_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BOOKINGS = 12
# Long enough to tell "answered after a second or two" from "held until Redis came back".
CLIENT_TIMEOUT = 15.0
TIMES = ("12:00", "13:00", "14:00", "17:00", "18:00", "19:00")
SKIPPED_FOR = 5.0  # REDIS_RETRY_AFTER_SECONDS, the default


@dataclass
class Timed:
    answer: Answer
    seconds: float


def timed_volley(server: LiveServer, calls: list[Call]) -> list[Timed]:
    """Every call at the same moment, each timed from the barrier; no answer within CLIENT_TIMEOUT is status 0."""
    barrier = threading.Barrier(len(calls), timeout=30)

    def fire(call: Call) -> Timed:
        barrier.wait()
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=CLIENT_TIMEOUT)
        try:
            answer = _request(conn, call)
        except (OSError, http.client.HTTPException) as exc:
            answer = Answer(0, {"code": "no_answer", "detail": repr(exc)}, call.tag)
        finally:
            conn.close()
        return Timed(answer, time.monotonic() - began)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def _request(conn: http.client.HTTPConnection, call: Call) -> Answer:
    headers = {"Accept": "application/json"}
    payload = None
    if call.body is not None:
        payload = json.dumps(call.body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(call.method, call.path, body=payload, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = {"code": "not_json", "detail": raw[:200].decode(errors="replace")}
    return Answer(response.status, body, call.tag)


def bookings(tuesday, first: int, count: int) -> list[Call]:
    """`count` online bookings for two, each on its own day and hour (no two wait for one day's lock)."""
    return [
        booking_call(at(tuesday + timedelta(days=n // len(TIMES)), TIMES[n % len(TIMES)]), n, tag="booking")
        for n in range(first, first + count)
    ]


def summary(timed: list[Timed]) -> str:
    return ", ".join(f"{t.answer.tag} {t.answer.status} {t.seconds:.2f}s" for t in timed)


def test_bookings_answer_and_the_site_stays_up_while_redis_hangs(samna, tuesday, tmp_path, settings):
    settings.SMS_REDISPATCH_AFTER_SECONDS = 0  # beat's grace period, shortened for the test
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    outbox = tmp_path / "sms.jsonl"
    availability = Call("GET", f"/api/v1/restaurants/samna/availability/?date={tuesday}&party_size=2",
                        tag="availability")
    healthz = Call("GET", "/healthz/", tag="healthz")
    with own_redis(port) as redis_process, live_server(REDIS_URL=broker,
                                                      CACHE_URL=f"redis://127.0.0.1:{port}/1") as server:
        # Warm: every worker process has connected to Redis, so the hang meets pooled connections too.
        warm = timed_volley(server, bookings(tuesday, 0, 4) + [availability] * 4)
        assert all(t.answer.status in (200, 201) for t in warm), summary(warm)

        os.kill(redis_process.pid, signal.SIGSTOP)
        try:
            hung = timed_volley(server, bookings(tuesday, 4, BOOKINGS) + [healthz, availability])
            # Redis still hung: the next requests find it failed moments ago and do not wait on it again.
            after = timed_volley(server, bookings(tuesday, 4 + BOOKINGS, 4) + [healthz, availability])
            pending = set(OutboundMessage.objects.filter(status="pending").values_list("reservation_id", flat=True))
        finally:
            os.kill(redis_process.pid, signal.SIGCONT)

        print(f"\nwhile Redis hangs: {summary(hung)}\nright after: {summary(after)}")
        made = [t for t in hung + after if t.answer.tag == "booking"]
        assert all(t.answer.status == 201 for t in made), f"{summary(hung + after)}\n{server.log_tail()}"
        assert max(t.seconds for t in made) < 2.0, summary(hung + after)
        for t in hung + after:
            if t.answer.tag == "healthz":
                assert t.answer.status in (200, 503) and t.seconds < 1.0, summary(hung + after)
            if t.answer.tag == "availability":
                assert t.answer.status == 200 and t.seconds < 2.0, summary(hung + after)
        booked = {t.answer.body["id"] for t in made}
        assert Reservation.objects.filter(pk__in=booked).count() == len(booked) == BOOKINGS + 4
        # Not lost: each booking's confirmation waits in the outbox for beat.
        assert booked <= pending

        everything = booked | {t.answer.body["id"] for t in warm if t.answer.tag == "booking"}
        with celery_worker(broker, outbox) as worker, publishing_to(broker):
            # Redis is back: once the processes try it again, a booking's confirmation goes out by itself.
            time.sleep(SKIPPED_FOR + 0.5)
            back = timed_volley(server, bookings(tuesday, 4 + BOOKINGS + 4, 4))
            assert all(t.answer.status == 201 for t in back), summary(back)
            again = {t.answer.body["id"] for t in back}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not again <= {line["reservation"] for line in worker.lines()}:
                time.sleep(0.2)
            assert again <= {line["reservation"] for line in worker.lines()}, worker.log_tail()
            everything |= again

            # Beat's re-dispatch sends every confirmation left pending, exactly once.
            deadline = time.monotonic() + 90
            lines = []
            while time.monotonic() < deadline and len(lines) < len(everything):
                dispatch_pending_sms_task.apply()  # beat's periodic re-dispatch, run as beat would
                lines = worker.wait_for_lines(len(everything), timeout=3)
            dispatch_pending_sms_task.apply()
            time.sleep(1.0)
            lines = [line for line in worker.lines() if line["kind"] == "confirmation"]

    assert sorted(line["reservation"] for line in lines) == sorted(everything), worker.log_tail()
    assert OutboundMessage.objects.filter(reservation_id__in=everything, kind="confirmation").exclude(
        status="sent").count() == 0
