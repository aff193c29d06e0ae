"""A worker that died mid-send: the outbox settles the message by what the provider has, never by a guess.

The Twilio backend (the official SDK) against the local fake (`tests/fakes/twilio.py`); a dead worker is its
row as it left it. `tests/integration/test_sms_worker_killed.py` kills real workers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cxhost.celery import app as celery_app
from reservations.errors import MessageFateUnknown
from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.services.messaging import message_retry, sms_redispatch, sms_send
from reservations.services.sms_backends import Sms, TwilioBackend
from tests.conftest import kyiv

from .test_messaging import _manager, sent

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+380671234567"
LONG_AGO = timedelta(minutes=5)  # past SMS_SENDING_STUCK_SECONDS and SMS_LOOKUP_GRACE_SECONDS


@pytest.fixture
def queued(samna, tuesday) -> OutboundMessage:
    """A booking's confirmation in the outbox, its task not run."""
    celery_app.conf.task_always_eager = False
    try:
        reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2,
                                         channel="phone", guest=GuestDetails(name="Olena", phone=PHONE))
    finally:
        celery_app.conf.task_always_eager = True
    return OutboundMessage.objects.get(reservation=reservation)


def worker_died(message: OutboundMessage, *, ago: timedelta = LONG_AGO, provider_id: str = "") -> None:
    """The row as a worker leaves it that died after handing the text over (with the id stored, or not)."""
    then = timezone.now() - ago
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1, claimed_at=then,
                                                         handed_at=then, provider_id=provider_id)


def at_the_provider(message: OutboundMessage) -> str:
    """The text as the dead worker's request left it at Twilio: created there, the SID never heard."""
    return TwilioBackend().send(Sms(to=PHONE, body=message.body, kind=message.kind,
                                    reservation=message.reservation_id))


def test_the_provider_has_it_so_it_is_sent_with_its_sid_and_never_again(twilio, queued):
    sid = at_the_provider(queued)
    worker_died(queued)

    sms_redispatch()
    sms_redispatch()

    queued.refresh_from_db()
    assert (queued.status, queued.provider_id, queued.fate) == ("sent", sid, "found")
    assert [m["sid"] for m in twilio.sent_to(PHONE)] == [sid]
    # The worker's task, redelivered after the crash, sends nothing either.
    assert sms_send(message_id=queued.pk) == "skipped"


def test_the_provider_never_got_it_so_it_is_sent_once(twilio, queued):
    worker_died(queued)

    sms_redispatch()
    sms_redispatch()

    [message] = twilio.sent_to(PHONE)
    queued.refresh_from_db()
    assert (queued.status, queued.provider_id, queued.fate) == ("sent", message["sid"], "resent")
    assert queued.attempts == 1  # the crash used no attempt
    # The look-up asked for that number's messages around the hand-over.
    [lookup] = [r for r in twilio.requests if r["method"] == "GET"][:1]
    assert lookup["query"]["To"] == PHONE and {"DateSent>", "DateSent<", "From"} <= set(lookup["query"])


def test_the_sid_stored_but_the_sent_mark_lost_is_sent_without_asking(twilio, queued):
    sid = at_the_provider(queued)
    worker_died(queued, provider_id=sid)

    sms_redispatch()

    queued.refresh_from_db()
    assert (queued.status, queued.provider_id, queued.fate) == ("sent", sid, "")
    assert len(twilio.sent_to(PHONE)) == 1
    assert [r for r in twilio.requests if r["method"] == "GET"] == []


def test_not_there_yet_inside_the_grace_period_stays_unknown(twilio, queued, settings):
    # Twilio's list is eventually consistent: a miss right after the hand-over proves nothing yet.
    worker_died(queued, ago=timedelta(seconds=settings.SMS_SENDING_STUCK_SECONDS + 1))
    settings.SMS_LOOKUP_GRACE_SECONDS = settings.SMS_SENDING_STUCK_SECONDS + 60

    sms_redispatch()
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("unknown", "asking")
    assert twilio.sent_to(PHONE) == []

    sms_redispatch(now=timezone.now() + timedelta(seconds=60))
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("sent", "resent")
    assert len(twilio.sent_to(PHONE)) == 1


def test_twilio_unreachable_leaves_it_unknown_and_asks_again_later(twilio, queued, settings):
    sid = at_the_provider(queued)
    worker_died(queued)
    real = settings.TWILIO_API_BASE_URL
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the look-up cannot be made

    sms_redispatch()
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("unknown", "unreachable") and "unreachable" in queued.last_error

    settings.TWILIO_API_BASE_URL = real
    sms_redispatch()
    queued.refresh_from_db()
    assert (queued.status, queued.provider_id, queued.fate) == ("sent", sid, "found")
    assert len(twilio.sent_to(PHONE)) == 1


def test_what_the_carrier_reported_is_kept_when_found(twilio, queued):
    sid = at_the_provider(queued)
    twilio.set_status(sid, "delivered")
    worker_died(queued)

    sms_redispatch()

    queued.refresh_from_db()
    assert (queued.status, queued.delivery) == ("sent", "delivered")


def test_a_send_without_an_answer_in_time_is_unknown_never_retried_blind(twilio, queued, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    hold = twilio.hold("after_record")  # Twilio creates it, and answers too late

    assert sms_send(message_id=queued.pk) == "unknown"
    hold.release.set()
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("unknown", "asking")

    sms_redispatch()
    [message] = twilio.sent_to(PHONE)
    queued.refresh_from_db()
    assert (queued.status, queued.provider_id, queued.fate) == ("sent", message["sid"], "found")


def test_another_messages_sid_is_not_taken_for_this_one(twilio, queued, samna):
    # The same words to the same number twice (two "help" replies): the one Twilio has belongs to the row
    # holding its SID, so this one was never sent.
    sid = at_the_provider(queued)
    OutboundMessage.objects.create(restaurant=samna, to=PHONE, kind="reply", body=queued.body, status="sent",
                                   provider_id=sid, next_attempt_at=timezone.now())
    worker_died(queued)

    sms_redispatch()

    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("sent", "resent") and queued.provider_id != sid
    assert len(twilio.sent_to(PHONE)) == 2


def test_staff_cannot_send_again_a_message_of_unknown_fate(twilio, queued, manager_api, settings):
    at_the_provider(queued)
    worker_died(queued)
    settings.SMS_LOOKUP_GRACE_SECONDS = 3600
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    sms_redispatch()
    queued.refresh_from_db()
    assert queued.status == "unknown"

    with pytest.raises(MessageFateUnknown):
        message_retry(message=queued)
    manager_api.force_login(_manager())
    page = manager_api.post("/admin/reservations/outboundmessage/", {
        "action": "send_again", "_selected_action": [queued.pk]}, follow=True)

    assert "1 message(s) of unknown fate not sent again" in page.content.decode()
    queued.refresh_from_db()
    assert queued.status == "unknown" and len(twilio.sent_to(PHONE)) == 1
    shown = manager_api.get(f"/admin/reservations/outboundmessage/{queued.pk}/change/").content.decode()
    assert "unknown fate" in shown and "the provider could not be asked" in shown


def test_the_file_backend_looks_in_its_file(samna, queued, settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms.jsonl")
    worker_died(queued)

    sms_redispatch()  # not in the file: sent once
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("sent", "resent")

    worker_died(queued)  # died again after the line was written: found there, not sent twice
    sms_redispatch()
    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("sent", "found")
    assert len(sent(tmp_path / "sms.jsonl")) == 1


def test_the_console_cannot_be_asked_so_it_stays_unknown_for_staff(queued, settings):
    settings.SMS_BACKEND = "console"
    worker_died(queued)

    sms_redispatch()

    queued.refresh_from_db()
    assert (queued.status, queued.fate) == ("unknown", "cannot_ask")
    with pytest.raises(MessageFateUnknown):
        message_retry(message=queued)


@pytest.mark.parametrize(("language", "words"), [
    ("uk", ["доля невідома", "провайдера не вдалося запитати: запитаємо знову"]),
    ("ru", ["судьба неизвестна", "провайдера не удалось спросить: спросим снова"]),
])
def test_staff_read_the_state_and_the_reason_in_their_language(twilio, queued, manager_api, settings, language,
                                                               words):
    from django.utils import translation

    worker_died(queued)
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    sms_redispatch()
    manager_api.force_login(_manager())
    manager_api.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    try:
        listing = manager_api.get("/admin/reservations/outboundmessage/").content.decode()
        refused = manager_api.post("/admin/reservations/outboundmessage/", {
            "action": "send_again", "_selected_action": [queued.pk]}, follow=True).content.decode()
    finally:
        translation.activate(settings.LANGUAGE_CODE)

    for word in words:
        assert word in listing
    assert ("не надіслано знову" if language == "uk" else "не отправлено снова") in refused
