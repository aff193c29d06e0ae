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


def test_each_restaurant_texts_from_its_own_sender_and_the_outbox_records_it(twilio, samna, steakhouse, tuesday):
    """Samna has its own number, The Steakhouse a messaging service; a third booking uses the shared sender."""
    service = "MG" + "0123456789abcdef" * 2
    samna.sms_sender, steakhouse.sms_sender = "+15005550100", service
    samna.save()
    steakhouse.save()
    for restaurant, phone in ((samna, PHONE), (steakhouse, "+380501112233")):
        reservation_create(restaurant=restaurant, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                           guest=GuestDetails(name="Olena", phone=phone))
    samna.sms_sender = ""
    samna.save()
    reservation_create(restaurant=samna, start=kyiv(tuesday, "21:00"), party_size=2, channel="phone",
                       guest=GuestDetails(name="Olena", phone="+380631112233"))

    # What Twilio was asked for: a number as `From`, a service as `MessagingServiceSid` (never both).
    senders = [{k: v for k, v in r["form"].items() if k in ("From", "MessagingServiceSid")} for r in twilio.requests]
    assert senders == [{"From": "+15005550100"}, {"MessagingServiceSid": service}, {"From": TWILIO_FROM}]
    assert [(m["to"], m["from"], m["messaging_service_sid"]) for m in twilio.messages] == [
        (PHONE, "+15005550100", None), ("+380501112233", None, service), ("+380631112233", TWILIO_FROM, None)]
    assert list(OutboundMessage.objects.order_by("pk").values_list("sender", "status")) == [
        ("+15005550100", "sent"), (service, "sent"), (TWILIO_FROM, "sent")]


def test_a_restaurant_sender_is_a_number_or_a_messaging_service(samna):
    from django.core.exceptions import ValidationError

    for good in ("+15005550100", "MG" + "ab" * 16, ""):
        samna.sms_sender = good
        samna.full_clean()
    for bad in ("15005550100", "+1 500 555 0100", "MGxyz", "Samna"):
        samna.sms_sender = bad
        with pytest.raises(ValidationError):
            samna.full_clean()
