"""The Twilio backend through the official SDK, against a local fake of Twilio's Messages endpoint.

Twilio itself is never called: `TWILIO_API_BASE_URL` points the SDK's own HTTP client at a server on
127.0.0.1 that answers as Twilio documents and records what it was sent (`tests/fakes/twilio.py`, the
`twilio` fixture).
"""

from __future__ import annotations

import base64

import pytest
from django.conf import settings

from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.services.messaging import RetryLater, sms_send
from tests.conftest import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, kyiv

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+380671234567"


@pytest.fixture
def queued(samna, tuesday, settings):
    """A booking whose confirmation waits in the outbox (its task unread), to be sent by the test."""
    from cxhost.celery import app

    app.conf.task_always_eager = False
    try:
        reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2,
                                         channel="phone", guest=GuestDetails(name="Olena", phone=PHONE))
    finally:
        app.conf.task_always_eager = True
    return OutboundMessage.objects.get(reservation=reservation)


def test_the_sdk_posts_the_message_to_twilios_messages_endpoint(twilio, queued):
    assert sms_send(message_id=queued.pk) == "sent"

    [request] = twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    # Twilio is asked to report delivery to our signed status callback.
    assert request["form"] == {"To": PHONE, "From": TWILIO_FROM, "Body": queued.body,
                               "StatusCallback": settings.PUBLIC_BASE_URL + "/sms/status/"}
    [message] = twilio.sent_to(PHONE)
    queued.refresh_from_db()
    assert (queued.status, queued.provider_id) == ("sent", message["sid"])


def test_a_twilio_outage_is_retried(twilio, queued):
    twilio.fail_next(503, 20503, "Service unavailable")

    with pytest.raises(RetryLater):
        sms_send(message_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == "pending" and "503" in queued.last_error

    assert sms_send(message_id=queued.pk) == "sent"
    assert len(twilio.requests) == 2 and len(twilio.sent_to(PHONE)) == 1


def test_a_number_twilio_refuses_fails_at_once_for_staff(twilio, queued):
    twilio.fail_next(400, 21211, "The 'To' number is not a valid phone number.")

    assert sms_send(message_id=queued.pk) == "failed"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("failed", 1) and "21211" in queued.last_error
    assert twilio.sent_to(PHONE) == []
