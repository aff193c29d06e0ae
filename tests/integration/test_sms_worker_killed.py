"""A worker SIGKILLed mid-send, before, during and after the provider call: once beat's sweep has run, the
guest has exactly one text at Twilio and the outbox row says what became of it.

A real Celery worker on Redis sends through the Twilio backend (the official SDK) to the local fake
(`tests/fakes/twilio.py`) running in this process; its process group is killed while the fake holds the
request (before recording it: Twilio never got it; after: Twilio has it, the worker never heard the SID), or
in the test seam between the SID's UPDATE and the `sent` mark. Then a fresh worker starts and the sweep runs
as beat would run it.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.tasks import dispatch_pending_sms_task
from tests.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, kyiv

from .conftest import celery_worker, publishing_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+380671234567"


@pytest.fixture
def sweep_at_once(settings):
    """Beat's thresholds shortened: the message is stuck at once, and the provider's list trusted at once."""
    settings.SMS_SENDING_STUCK_SECONDS = 0
    settings.SMS_LOOKUP_GRACE_SECONDS = 0
    settings.SMS_REDISPATCH_AFTER_SECONDS = 0


def twilio_env(fake, **extra: str) -> dict[str, str]:
    return {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM": TWILIO_FROM, "TWILIO_API_BASE_URL": fake.url, **extra}


def book(samna, tuesday) -> OutboundMessage:
    reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                     guest=GuestDetails(name="Olena", phone=PHONE))
    return OutboundMessage.objects.get(reservation=reservation)


def kill(worker) -> None:
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)


def wait_until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    return check()


def sweep_with_a_fresh_worker(fake, broker: str, tmp_path, message: OutboundMessage) -> OutboundMessage:
    """The worker is started again and beat's sweep runs; wait until the message is settled."""
    with celery_worker(broker, tmp_path / "unused.jsonl", concurrency=1, extra_env=twilio_env(fake)) as worker, \
            publishing_to(broker):
        dispatch_pending_sms_task.apply()
        settled = wait_until(lambda: OutboundMessage.objects.get(pk=message.pk).status == "sent")
        assert settled, f"not settled: {OutboundMessage.objects.get(pk=message.pk).__dict__}\n{worker.log_tail()}"
        dispatch_pending_sms_task.apply()  # beat runs again: nothing more goes out
        time.sleep(1.0)
    return OutboundMessage.objects.get(pk=message.pk)


def killed_while_held(fake, hold, broker: str, tmp_path, restaurant, day) -> OutboundMessage:
    """Book; the worker's Twilio call is parked at `hold`; kill the worker there, then let the call go on."""
    with celery_worker(broker, tmp_path / "unused.jsonl", concurrency=1, extra_env=twilio_env(fake)) as worker, \
            publishing_to(broker):
        message = book(restaurant, day)
        assert hold.arrived.wait(20), worker.log_tail()
        kill(worker)
    hold.release.set()
    return message


def test_killed_before_the_provider_recorded_it_the_text_goes_out_once(
        samna, tuesday, machine_redis, tmp_path, twilio, sweep_at_once):
    hold = twilio.hold("before_record")
    message = killed_while_held(twilio, hold, machine_redis, tmp_path, samna, tuesday)
    assert hold.dropped.wait(5)  # the request died with its worker: Twilio never got it
    assert twilio.sent_to(PHONE) == []

    message = sweep_with_a_fresh_worker(twilio, machine_redis, tmp_path, message)

    [sms] = twilio.sent_to(PHONE)
    assert (message.status, message.provider_id, message.fate) == ("sent", sms["sid"], "resent")
    assert sms["body"] == message.body


def test_killed_while_twilio_held_it_unanswered_it_is_marked_sent_never_resent(
        samna, tuesday, machine_redis, tmp_path, twilio, sweep_at_once):
    hold = twilio.hold("after_record")
    message = killed_while_held(twilio, hold, machine_redis, tmp_path, samna, tuesday)
    [sms] = twilio.sent_to(PHONE)  # Twilio has it; the worker never heard its SID
    assert OutboundMessage.objects.get(pk=message.pk).provider_id == ""

    message = sweep_with_a_fresh_worker(twilio, machine_redis, tmp_path, message)

    assert [m["sid"] for m in twilio.sent_to(PHONE)] == [sms["sid"]]
    assert (message.status, message.provider_id, message.fate) == ("sent", sms["sid"], "found")


def test_killed_after_twilio_answered_the_stored_sid_marks_it_sent(
        samna, tuesday, machine_redis, tmp_path, twilio, sweep_at_once):
    with celery_worker(machine_redis, tmp_path / "unused.jsonl", concurrency=1,
                       extra_env=twilio_env(twilio, CXHOST_SMS_SENT_MARK_DELAY_MS="30000")) as worker, \
            publishing_to(machine_redis):
        message = book(samna, tuesday)
        assert wait_until(lambda: twilio.sent_to(PHONE)), worker.log_tail()
        [sms] = twilio.sent_to(PHONE)
        # The SID is stored the moment Twilio answers, on its own, before the `sent` mark: kill in between.
        stored = wait_until(lambda: OutboundMessage.objects.filter(pk=message.pk, provider_id=sms["sid"])
                            .values_list("status", flat=True).first())
        assert stored == "sending", stored
        kill(worker)

    message = sweep_with_a_fresh_worker(twilio, machine_redis, tmp_path, message)

    assert [m["sid"] for m in twilio.sent_to(PHONE)] == [sms["sid"]]
    assert (message.status, message.provider_id, message.fate) == ("sent", sms["sid"], "")
    assert [r for r in twilio.requests if r["method"] == "GET"] == []  # no need to ask
