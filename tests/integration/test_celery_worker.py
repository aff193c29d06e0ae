"""A booking's confirmation through a real Celery worker on the machine's Redis: within seconds, once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.tasks import send_sms_task
from tests.conftest import kyiv

from .conftest import celery_worker, publishing_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_booking_to_confirmation_in_the_file_within_two_seconds_exactly_once(samna, tuesday, machine_redis,
                                                                               tmp_path):
    outbox = tmp_path / "sms.jsonl"
    with celery_worker(machine_redis, outbox) as worker, publishing_to(machine_redis):
        committed = time.monotonic()
        reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2,
                                         channel="phone", guest=GuestDetails(name="Olena", phone="+380671234567"))
        lines = worker.wait_for_lines(1, timeout=10)
        latency = time.monotonic() - committed
        assert lines, f"no confirmation within 10 s:\n{worker.log_tail()}"
        assert latency < 2.0, f"the confirmation took {latency:.2f} s"

        # The same task delivered again, several at once (a redelivery after a lost ack, a duplicate publish).
        message = OutboundMessage.objects.get(reservation=reservation)
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda _: send_sms_task.delay(message.pk), range(6)))
        time.sleep(2.0)
        lines = worker.lines()

    assert lines == [{"to": "+380671234567", "body": lines[0]["body"], "kind": "confirmation",
                      "reservation": reservation.pk}]
    assert "Samna" in lines[0]["body"] and "20:00" in lines[0]["body"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
