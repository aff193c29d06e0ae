"""The no-loss claim: Redis dies during 50 bookings; every booking succeeds, and once Redis is back beat's
re-dispatch and a worker send exactly one confirmation per booking.

The test runs a redis-server of its own on a spare port (the machine's Redis is never touched) and kills
it with SIGKILL, as a crash would.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest

from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.tasks import dispatch_pending_sms_task
from tests.conftest import kyiv

from .conftest import celery_worker, free_port, own_redis, publishing_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BOOKINGS = 50
TIMES = ("12:00", "14:00", "16:00", "18:00", "20:00")


def test_fifty_bookings_while_redis_is_down_get_fifty_confirmations_once_it_is_back(
        samna, tuesday, tmp_path, settings):
    settings.SMS_REDISPATCH_AFTER_SECONDS = 0  # beat's grace period, shortened for the test
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    outbox = tmp_path / "sms.jsonl"
    booked = []
    with own_redis(port) as redis_process, celery_worker(broker, outbox) as worker, publishing_to(broker):
        os.killpg(redis_process.pid, signal.SIGKILL)  # the broker crashes
        redis_process.wait(timeout=10)
        slowest = 0.0
        for i in range(BOOKINGS):
            day = tuesday + timedelta(days=i // len(TIMES))
            began = time.monotonic()
            reservation = reservation_create(
                restaurant=samna, start=kyiv(day, TIMES[i % len(TIMES)]), party_size=2, channel="phone",
                guest=GuestDetails(name=f"Guest {i}", phone=f"+3806712{i:05d}"))
            slowest = max(slowest, time.monotonic() - began)
            booked.append(reservation.pk)
        assert slowest < 2.0, f"a booking waited {slowest:.1f} s on the dead broker"
        assert OutboundMessage.objects.filter(status="pending").count() == BOOKINGS
        assert worker.lines() == []

        with own_redis(port):  # the broker is back, on the same address
            deadline = time.monotonic() + 90
            lines = []
            while time.monotonic() < deadline and len(lines) < BOOKINGS:
                dispatch_pending_sms_task.apply()  # beat's periodic re-dispatch, run as beat would
                lines = worker.wait_for_lines(BOOKINGS, timeout=3)
            # Beat keeps running after everything went out: it must add nothing.
            dispatch_pending_sms_task.apply()
            time.sleep(2.0)
            lines = worker.lines()

    assert len(lines) == BOOKINGS, f"{len(lines)} lines:\n{worker.log_tail()}"
    assert sorted(line["reservation"] for line in lines) == sorted(booked)  # one each, no duplicates
    assert {line["kind"] for line in lines} == {"confirmation"}
    assert OutboundMessage.objects.filter(status="sent").count() == BOOKINGS
