"""A guest's texts: Twilio-signed or refused, read kindly, acted on through the book's own services.

The guest's phone is the file backend (what we text them) plus `text()` (what they text us, signed as Twilio
signs it). Signatures are computed here from Twilio's published algorithm, checked against Twilio's own
documented example, so the view is judged against an independent signer, not against the SDK it uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from twilio.request_validator import RequestValidator

from cxhost.celery import app as celery_app
from reservations.models import Guest, InboundMessage, OutboundMessage, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.inbound_sms import inbound_claim
from reservations.services.messaging import message_queue, sms_redispatch
from tests.conftest import kyiv, log_in

pytestmark = pytest.mark.django_db(transaction=True)  # replies are sent on commit

PHONE = "+380671234567"
OTHER_PHONE = "+380501112233"
TOKEN = "test-auth-token"
BASE = "https://cx.example.com"
INBOUND = "/sms/inbound/"


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's published scheme: the full URL, then each field's name and value sorted by name, HMAC-SHA1
    under the auth token, base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_the_signer_matches_twilios_documented_example():
    # Twilio's documented example (its security docs, and every SDK's RequestValidator test).
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}

    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert RequestValidator("12345").validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.fixture(autouse=True)
def twilio(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def sent(outbox: Path, kind: str | None = None) -> list[dict]:
    lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    return [line for line in lines if kind is None or line["kind"] == kind]


def text(body: str, *, phone: str = PHONE, sid: str | None = None, signature: str | None = None,
         token: str = TOKEN, url: str = BASE + INBOUND, to: str = "+15005550006"):
    """The guest texts us (at `to`): Twilio posts the form, signed."""
    params = {"From": phone, "Body": body, "MessageSid": sid or f"SM{uuid.uuid4().hex}", "To": to,
              "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
    if signature is None:
        signature = twilio_signature(token, url, params)
    return Client().post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=signature)


def book(restaurant, day, hhmm: str = "20:00", *, phone: str = PHONE) -> Reservation:
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena", phone=phone))


def status_of(reservation: Reservation) -> str:
    reservation.refresh_from_db()
    return reservation.status


def assert_twiml(response) -> None:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response" in response.content and b"<Message" not in response.content


# --- the signature ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "garbage", "another token", "another URL", "http not https",
                                 "body changed"])
def test_a_text_not_signed_by_twilio_for_us_is_refused_and_does_nothing(samna, tuesday, outbox, how):
    reservation = book(samna, tuesday)
    params = {"From": PHONE, "Body": "X", "MessageSid": "SM1"}
    signature = {
        "missing": "",
        "garbage": "not-a-signature",
        "another token": twilio_signature("someone-elses-token", BASE + INBOUND, params),
        "another URL": twilio_signature(TOKEN, "https://evil.example.com" + INBOUND, params),
        "http not https": twilio_signature(TOKEN, "http://cx.example.com" + INBOUND, params),
        "body changed": twilio_signature(TOKEN, BASE + INBOUND, {**params, "Body": "C"}),
    }[how]
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}

    response = Client().post(INBOUND, params, **headers)

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature" and response.json()["detail"]
    assert status_of(reservation) == "booked"
    assert not InboundMessage.objects.exists()
    assert [m["kind"] for m in sent(outbox)] == ["confirmation"]


def test_without_an_auth_token_nothing_is_accepted(samna, tuesday, outbox, settings):
    """An HMAC under an empty key is one anybody can compute."""
    reservation = book(samna, tuesday)
    settings.TWILIO_AUTH_TOKEN = ""

    response = text("X", token="")

    assert response.status_code == 403
    assert status_of(reservation) == "booked"


@pytest.mark.parametrize("body", [b"", b"{\"From\": 1}", b"\xff\xfe" * 50])
def test_staff_login_and_odd_bodies_are_no_signature(samna, host_api, body):
    response = host_api.generic("POST", INBOUND, body, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"


def test_a_signed_text_is_answered_with_empty_twiml_and_stored(samna, tuesday, outbox):
    reservation = book(samna, tuesday)

    response = text("C", sid="SMabc")

    assert_twiml(response)
    inbound = InboundMessage.objects.get()
    assert (inbound.from_number, inbound.body, inbound.provider_id, inbound.action) == (
        PHONE, "C", "SMabc", "confirmed")
    assert inbound.restaurant == samna and inbound.reservation == reservation
    assert inbound.answered == OutboundMessage.objects.get(kind="confirmation")
    assert list(inbound.guests.all()) == [reservation.guest]
    assert inbound.reply.kind == "reply" and inbound.reply.status == "sent"


# --- the words -------------------------------------------------------------------------------------------

YES_WORDS = ["C", "c", " c ", "YES", "yes", " Yes\n", "y e s", "ТАК", "так", " Так! ", "ДА", "да", "Да.",
             "С", "с"]  # the last two are Cyrillic Es, typed on a Ukrainian keyboard
NO_WORDS = ["X", "x", " x", "CANCEL", "cancel", "Cancel.", "НІ", "ні", " Ні ", "НЕТ", "нет", " Нет! ",
            "Х", "х"]  # Cyrillic Ha


@pytest.mark.parametrize("word", YES_WORDS)
def test_yes_in_any_language_and_case_confirms_the_booking(samna, tuesday, outbox, word):
    reservation = book(samna, tuesday)

    assert_twiml(text(word))

    assert status_of(reservation) == "confirmed"
    [reply] = sent(outbox, "reply")
    assert reply["to"] == PHONE
    assert reply["body"].startswith("Samna: ") and f"{tuesday:%d.%m} о 20:00" in reply["body"]  # Ukrainian


@pytest.mark.parametrize("word", NO_WORDS)
def test_no_in_any_language_and_case_cancels_the_booking_and_frees_the_table(samna, tuesday, outbox, word):
    reservation = book(samna, tuesday)
    table = reservation.tables.get()

    assert_twiml(text(word))

    assert status_of(reservation) == "cancelled"
    assert not reservation.assignments.filter(released=False).exists()
    # The table is free at once: the same party at the same time gets that very table again.
    again = book(samna, tuesday, phone=OTHER_PHONE)
    assert again.tables.get() == table
    assert "скасовано" in sent(outbox, "reply")[0]["body"]


@pytest.mark.parametrize("body", ["hello", "", "C X", "maybe tomorrow?", "STOPP", "🙂", "x" * 2000])
def test_anything_else_gets_a_help_reply_and_changes_nothing(samna, tuesday, outbox, body):
    reservation = book(samna, tuesday)

    assert_twiml(text(body))

    assert status_of(reservation) == "booked"
    [reply] = sent(outbox, "reply")
    assert "C - підтвердити" in reply["body"]
    assert InboundMessage.objects.get().action == "help"


def test_yes_to_a_confirmed_booking_says_so_kindly(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    text("C")

    assert_twiml(text("yes"))

    assert status_of(reservation) == "confirmed"
    assert [i.action for i in InboundMessage.objects.order_by("pk")] == ["confirmed", "already"]
    assert "вже підтверджено" in sent(outbox, "reply")[1]["body"]


def test_a_reply_to_a_cancelled_booking_changes_nothing(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    reservation_transition(reservation=reservation, action="cancel")

    assert_twiml(text("C"))

    assert status_of(reservation) == "cancelled"
    inbound = InboundMessage.objects.get()
    assert inbound.action == "nothing_to_answer" and inbound.answered is None
    assert "не знайшли бронювання" in sent(outbox, "reply")[0]["body"]


def test_a_seated_party_texting_x_is_not_cancelled(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    reservation_transition(reservation=reservation, action="seat")

    assert_twiml(text("X"))

    assert status_of(reservation) == "seated"


def test_a_number_we_never_texted_gets_no_reply(samna, tuesday, outbox):
    book(samna, tuesday)

    for body in ("C", "hello", "STOP"):
        assert_twiml(text(body, phone=OTHER_PHONE))

    assert [m["kind"] for m in sent(outbox)] == ["confirmation"]
    assert {i.action for i in InboundMessage.objects.exclude(body="STOP")} == {"unknown_number"}
    assert set(InboundMessage.objects.values_list("from_number", flat=True)) == {OTHER_PHONE}


@pytest.mark.parametrize("sender", ["not a number", "+1", "", "+38067123456789012345678901234567890123456789"])
def test_a_sender_that_is_no_phone_number_is_stored_and_not_answered(samna, tuesday, outbox, sender):
    book(samna, tuesday)

    assert_twiml(text("C", phone=sender))

    assert InboundMessage.objects.get().action == "unknown_number"
    assert [m["kind"] for m in sent(outbox)] == ["confirmation"]


def test_twilio_delivering_a_text_twice_acts_once(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    reservation_transition(reservation=reservation, action="confirm")

    assert_twiml(text("X", sid="SMsame"))
    assert_twiml(text("X", sid="SMsame"))

    assert status_of(reservation) == "cancelled"
    # The copy that cancelled keeps the record and its reply; the later copy changed neither.
    inbound = InboundMessage.objects.get()
    assert (inbound.action, inbound.reservation) == ("cancelled", reservation)
    [reply] = sent(outbox, "reply")
    assert "скасовано" in reply["body"] and inbound.reply.body == reply["body"]


def test_a_copy_arriving_while_the_first_is_still_being_answered_does_nothing(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    # The first copy has claimed the text and is still acting on it (see `inbound_claim`).
    claim = inbound_claim(from_number=PHONE, body="X", provider_id="SMsame", now=reservation.created_at)

    assert_twiml(text("X", sid="SMsame"))

    assert status_of(reservation) == "booked"
    assert list(InboundMessage.objects.values_list("pk", "action")) == [(claim.pk, "received")]
    assert sent(outbox, "reply") == []


# --- whose question --------------------------------------------------------------------------------------


def test_the_latest_question_wins(samna, tuesday, outbox):
    first = book(samna, tuesday, "19:00")
    second = book(samna, tuesday, "21:00")  # its confirmation went out later

    assert_twiml(text("X"))
    assert (status_of(first), status_of(second)) == ("booked", "cancelled")

    # A reminder for the first is now the latest question; the cancelled second can no longer be answered.
    with transaction.atomic():
        message_queue(restaurant=samna, guest=first.guest, kind=OutboundMessage.Kind.REMINDER, reservation=first)
    assert_twiml(text("C"))
    assert status_of(first) == "confirmed"
    assert InboundMessage.objects.order_by("pk").last().answered.kind == "reminder"


def test_an_earlier_open_question_is_answered_when_the_latest_is_settled(samna, tuesday, outbox):
    first = book(samna, tuesday, "19:00")
    second = book(samna, tuesday, "21:00")
    reservation_transition(reservation=second, action="cancel")  # by staff

    assert_twiml(text("C"))

    assert (status_of(first), status_of(second)) == ("confirmed", "cancelled")


def test_two_numbers_answer_only_their_own_bookings(samna, tuesday, outbox):
    mine = book(samna, tuesday, "19:00", phone=PHONE)
    theirs = book(samna, tuesday, "21:00", phone=OTHER_PHONE)

    assert_twiml(text("X", phone=PHONE))

    assert (status_of(mine), status_of(theirs)) == ("cancelled", "booked")
    assert [r["to"] for r in sent(outbox, "reply")] == [PHONE]


def test_one_phone_in_two_groups_answers_the_question_of_the_number_it_texted_in_its_restaurants_language(
        samna, steakhouse, tuesday, outbox):
    steakhouse.sms_sender = "+15005550200"  # its own sender (see test_sms_walls.py for a shared one)
    steakhouse.save()
    at_samna = book(samna, tuesday, "19:00")
    at_steakhouse = book(steakhouse, tuesday, "20:00")
    assert at_samna.guest != at_steakhouse.guest  # two groups, two profiles

    assert_twiml(text("yes", to="+15005550200"))

    assert (status_of(at_samna), status_of(at_steakhouse)) == ("booked", "confirmed")
    [reply] = sent(outbox, "reply")
    assert reply["body"].startswith("The Steakhouse: thank you") and "20:00" in reply["body"]  # English
    assert InboundMessage.objects.get().restaurant == steakhouse


# --- STOP and START --------------------------------------------------------------------------------------


def test_stop_silences_the_number_in_every_group_until_start(samna, steakhouse, tuesday, outbox):
    book(samna, tuesday, "19:00")
    book(steakhouse, tuesday, "20:00")

    assert_twiml(text(" stop "))
    assert_twiml(text("STOP"))  # said twice, acknowledged once

    assert set(Guest.objects.filter(phone=PHONE).values_list("sms_opt_out", flat=True)) == {True}
    [ack] = sent(outbox, "stop_reply")
    assert ack["body"].startswith("The Steakhouse: you will get no more texts")
    before = len(sent(outbox))

    # Nothing else, whatever happens: new bookings in both groups, a text from the guest, a reminder.
    later = book(samna, tuesday, "21:00")
    book(steakhouse, tuesday, "22:00")
    assert_twiml(text("hello"))
    assert_twiml(text("C"))
    with transaction.atomic():
        assert message_queue(restaurant=samna, guest=later.guest, kind="reminder", reservation=later) is None
    assert len(sent(outbox)) == before
    assert not OutboundMessage.objects.filter(reservation=later).exists()

    assert_twiml(text("Start"))

    assert set(Guest.objects.filter(phone=PHONE).values_list("sms_opt_out", flat=True)) == {False}
    welcome = sent(outbox)[-1]
    assert welcome["kind"] == "reply" and welcome["body"].startswith("The Steakhouse: welcome back")
    again = book(samna, tuesday, "12:00")
    confirmation = sent(outbox)[-1]
    assert (confirmation["kind"], confirmation["reservation"], confirmation["to"]) == ("confirmation", again.pk, PHONE)


def test_stop_reaches_a_profile_made_after_it(samna, steakhouse, tuesday, outbox):
    """The number said STOP to Samna; its first booking at The Steakhouse (a new group, a new profile) is silent."""
    book(samna, tuesday)
    assert_twiml(text("STOP"))

    first_there = book(steakhouse, tuesday)

    assert first_there.guest.sms_opt_out
    assert not OutboundMessage.objects.filter(reservation=first_there).exists()


def test_a_text_queued_before_stop_is_withheld_not_sent(samna, tuesday, outbox):
    celery_app.conf.task_always_eager = False  # the broker is away: the confirmation waits in the outbox
    try:
        reservation = book(samna, tuesday, "19:00")
    finally:
        celery_app.conf.task_always_eager = True
    OutboundMessage.objects.update(next_attempt_at=reservation.created_at.replace(year=2000))
    # The guest had an earlier confirmation from us, so the STOP is from a number we know.
    earlier = book(samna, tuesday, "12:00")
    assert [m["reservation"] for m in sent(outbox)] == [earlier.pk]

    assert_twiml(text("STOP"))
    sms_redispatch()  # the broker is back

    waiting = OutboundMessage.objects.get(reservation=reservation)
    assert waiting.status == "withheld"
    assert [m["kind"] for m in sent(outbox)] == ["confirmation", "stop_reply"]


# --- staff see them --------------------------------------------------------------------------------------


def test_staff_see_their_restaurants_texts_in_the_admin_and_no_others(samna, steakhouse, staff, tuesday, outbox):
    book(samna, tuesday, "19:00", phone=PHONE)
    book(steakhouse, tuesday, "20:00", phone=OTHER_PHONE)
    text("Так, дякую", phone=PHONE)
    text("see you there", phone=OTHER_PHONE)
    client = Client()
    assert log_in(client, "manager")

    page = client.get("/admin/reservations/inboundmessage/")

    assert page.status_code == 200
    assert "Так, дякую" in page.content.decode() and "see you there" not in page.content.decode()
    own = InboundMessage.objects.get(from_number=PHONE)
    other = InboundMessage.objects.get(from_number=OTHER_PHONE)
    assert client.get(f"/admin/reservations/inboundmessage/{own.pk}/change/").status_code == 200
    assert client.get(f"/admin/reservations/inboundmessage/{other.pk}/change/").status_code == 302


def test_whatever_a_guest_writes_is_answered_with_twiml(samna, tuesday, outbox):
    """Any text, from any sender, signed: a 200 with empty TwiML and a stored record, never an error."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    reservation = book(samna, tuesday)
    senders = st.one_of(st.just(PHONE), st.just(OTHER_PHONE), st.text(max_size=50))

    @hypothesis_settings(max_examples=40, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow])
    @given(body=st.text(max_size=400), sender=senders)
    def probe(body, sender):
        before = InboundMessage.objects.count()
        assert_twiml(text(body, phone=sender))
        assert InboundMessage.objects.count() == before + 1

    probe()
    assert status_of(reservation) in ("booked", "confirmed", "cancelled")


# --- delivery status callbacks ---------------------------------------------------------------------------


def report(sid: str, status: str, *, error: str = "", signature: str | None = None):
    """Twilio reports what became of a text we sent (`StatusCallback`), signed like every webhook."""
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, "To": PHONE}
    if error:
        params["ErrorCode"] = error
    if signature is None:
        signature = twilio_signature(TOKEN, BASE + "/sms/status/", params)
    return Client().post("/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_delivery_reports_mark_our_texts_delivered_or_not(samna, tuesday, outbox):
    reached = book(samna, tuesday, "19:00").messages.get()
    lost = book(samna, tuesday, "21:00", phone=OTHER_PHONE).messages.get()

    for sid, status, error in [(reached.provider_id, "sent", ""), (reached.provider_id, "delivered", ""),
                               (lost.provider_id, "undelivered", "30003"), (reached.provider_id, "sent", ""),
                               (reached.provider_id, "failed", "30008"), ("SMunknown", "delivered", "")]:
        assert report(sid, status, error=error).status_code == 204  # late, repeated and unknown reports too

    reached.refresh_from_db()
    lost.refresh_from_db()
    assert (reached.status, reached.delivery) == ("sent", "delivered")  # a late failure does not undo it
    assert (lost.status, lost.delivery) == ("sent", "undelivered")
    assert "30003" in lost.last_error and lost.delivery_at is not None


def test_an_unsigned_delivery_report_is_refused(samna, tuesday, outbox):
    message = book(samna, tuesday).messages.get()

    response = report(message.provider_id, "undelivered", signature="forged")
    forged_for_inbound = report(message.provider_id, "undelivered",
                                signature=twilio_signature(TOKEN, BASE + INBOUND, {"MessageSid": message.provider_id,
                                                                                    "MessageStatus": "undelivered"}))

    assert (response.status_code, forged_for_inbound.status_code) == (403, 403)
    assert response.json()["code"] == "invalid_signature"
    message.refresh_from_db()
    assert message.delivery == ""
