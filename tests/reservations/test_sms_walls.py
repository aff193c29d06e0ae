"""A guest's texts stay behind their restaurant group's wall, and a reply answers the restaurant it was sent to.

One phone, two groups (Samna; The Steakhouse), two profiles. What one group's manager exports or erases is
judged by what they can read in the export and what the other group can still read in theirs, never by the
query that selects it. Replies are routed by the number the guest texted (Twilio's `To`); on a shared sender a
reply that could answer two restaurants' questions is answered with a question.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.test import Client

from reservations.models import Guest, InboundMessage, OutboundMessage, Reservation
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv
from tests.reservations.test_inbound_sms import BASE, INBOUND, TOKEN, assert_twiml, sent, twilio_signature

pytestmark = pytest.mark.django_db(transaction=True)  # replies are sent on commit

PHONE = "+380671234567"
SHARED = "+15005550006"  # the deployment's TWILIO_FROM
SAMNA_OWN = "+15005550100"
LATE = "Running 10 minutes late, sorry! Olena"


@pytest.fixture(autouse=True)
def signed(settings):
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL, settings.TWILIO_FROM = TOKEN, BASE, SHARED


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def text(body: str, *, to: str = SHARED, phone: str = PHONE, **extra: str):
    """The guest texts `to`: Twilio posts the form, signed."""
    params = {"From": phone, "To": to, "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}",
              "AccountSid": "AC" + "0" * 32, "NumMedia": "0", **extra}
    signature = twilio_signature(TOKEN, BASE + INBOUND, params)
    return Client().post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=signature)


def book(restaurant, day, hhmm: str = "20:00") -> Reservation:
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena", phone=PHONE))


def status_of(reservation: Reservation) -> str:
    reservation.refresh_from_db()
    return reservation.status


# --- export and erase: one group's guest, never another's texts ---------------------------------------------


def test_a_groups_export_and_erase_never_reach_another_groups_texts(
        samna, steakhouse, staff, tuesday, outbox, manager_api, steak_manager_api):
    """The reproduced report: a guest of both texts Samna; The Steakhouse exports and erases its own guest."""
    samna.sms_sender = SAMNA_OWN
    samna.save()
    at_steakhouse = book(steakhouse, tuesday, "19:00")
    at_samna = book(samna, tuesday, "20:00")
    assert_twiml(text("C", to=SAMNA_OWN))
    assert_twiml(text(LATE, to=SAMNA_OWN))
    assert status_of(at_samna) == "confirmed"
    steak_guest, samna_guest = at_steakhouse.guest, at_samna.guest

    export = steak_manager_api.get(f"/api/v1/guests/{steak_guest.pk}/export/").json()

    received, sent_ = export["messages"]["received"], export["messages"]["sent"]
    assert [m for m in received if m["reservation"] == at_samna.pk or m["body"] in ("C", LATE)] == []
    assert all(m["reservation"] in (None, at_steakhouse.pk) for m in sent_)
    assert "Samna" not in str(export)

    assert steak_manager_api.post(f"/api/v1/guests/{steak_guest.pk}/erase/").status_code == 200

    # Samna still holds all it held: its guest, its texts from them and to them, with their bodies.
    samna_export = manager_api.get(f"/api/v1/guests/{samna_guest.pk}/export/").json()
    assert samna_export["guest"]["phone"] == PHONE
    assert [(m["body"], m["from"]) for m in samna_export["messages"]["received"]] == [("C", PHONE), (LATE, PHONE)]
    confirmation = next(m for m in samna_export["messages"]["sent"] if m["kind"] == "confirmation")
    assert confirmation["to"] == PHONE and "Samna" in confirmation["body"]


def test_stop_still_speaks_for_the_number_after_another_group_erases_its_guest(
        samna, steakhouse, staff, tuesday, outbox, steak_manager_api):
    at_steakhouse = book(steakhouse, tuesday, "19:00")
    at_samna = book(samna, tuesday, "20:00")
    assert_twiml(text("STOP"))  # to Samna, the latest to text them
    assert set(Guest.objects.filter(phone=PHONE).values_list("sms_opt_out", flat=True)) == {True}

    assert steak_manager_api.post(f"/api/v1/guests/{at_steakhouse.guest.pk}/erase/").status_code == 200
    before = len(sent(outbox))

    # Nothing goes to the number: Samna's own guest, nor a new profile the Steakhouse makes for it.
    again_at_samna = book(samna, tuesday, "21:00")
    again_at_steakhouse = book(steakhouse, tuesday, "21:00")
    assert again_at_samna.guest == at_samna.guest and again_at_samna.guest.sms_opt_out
    assert again_at_steakhouse.guest != at_steakhouse.guest and again_at_steakhouse.guest.sms_opt_out
    assert len(sent(outbox)) == before
    assert_twiml(text("START"))
    assert not Guest.objects.get(pk=at_samna.guest.pk).sms_opt_out


# --- a reply answers the restaurant it was sent to --------------------------------------------------------------


def test_a_reply_is_routed_by_the_number_it_was_sent_to(samna, steakhouse, tuesday, outbox):
    samna.sms_sender = SAMNA_OWN
    samna.save()
    at_samna = book(samna, tuesday, "19:00")
    at_steakhouse = book(steakhouse, tuesday, "20:00")  # the latest question, from the shared sender
    assert OutboundMessage.objects.get(reservation=at_samna).sender == SAMNA_OWN

    assert_twiml(text("X", to=SAMNA_OWN))

    assert (status_of(at_samna), status_of(at_steakhouse)) == ("cancelled", "booked")
    inbound = InboundMessage.objects.get()
    assert (inbound.restaurant, inbound.to_number) == (samna, SAMNA_OWN)
    reply = OutboundMessage.objects.get(kind="reply")
    assert (reply.restaurant, reply.sender) == (samna, SAMNA_OWN)

    assert_twiml(text("C", to=SHARED))  # the shared sender now carries only The Steakhouse's question

    assert (status_of(at_samna), status_of(at_steakhouse)) == ("cancelled", "confirmed")


def test_a_messaging_services_reply_is_routed_by_its_service(samna, steakhouse, tuesday, outbox):
    service = "MG" + "ab" * 16
    samna.sms_sender = service
    samna.save()
    at_samna = book(samna, tuesday, "19:00")
    at_steakhouse = book(steakhouse, tuesday, "20:00")

    # Twilio posts the pool number the guest texted as `To`, and the service it belongs to.
    assert_twiml(text("X", to="+15005550123", MessagingServiceSid=service))

    assert (status_of(at_samna), status_of(at_steakhouse)) == ("cancelled", "booked")


def test_an_ambiguous_reply_on_a_shared_sender_gets_a_question_and_changes_no_booking(
        samna, steakhouse, tuesday, outbox):
    at_samna = book(samna, tuesday, "19:00")
    at_steakhouse = book(steakhouse, tuesday, "20:00")

    assert_twiml(text("X"))

    assert (status_of(at_samna), status_of(at_steakhouse)) == ("booked", "booked")
    [reply] = sent(outbox, "reply")
    assert reply["to"] == PHONE and "more than one" in reply["body"]
    inbound = InboundMessage.objects.get()
    assert (inbound.action, inbound.restaurant, inbound.reservation) == ("ambiguous", None, None)
    assert not inbound.guests.exists()  # nobody's: neither group's export shows it


def test_one_restaurants_two_open_bookings_on_a_shared_sender_still_answer_the_latest(samna, tuesday, outbox):
    first, second = book(samna, tuesday, "19:00"), book(samna, tuesday, "21:00")

    assert_twiml(text("X"))

    assert (status_of(first), status_of(second)) == ("booked", "cancelled")


def test_a_text_that_belongs_to_no_restaurant_is_in_no_export_and_goes_with_an_erasure(
        samna, steakhouse, staff, outbox, manager_api, steak_manager_api):
    """A number we never texted: its text is nobody's to read, and an erasure of the phone still blanks it —
    but a STOP it said stays while another group holds the number."""
    mine = Guest.objects.create(group=samna.group, name="Olena", phone=PHONE)
    theirs = Guest.objects.create(group=steakhouse.group, name="Olena", phone=PHONE)
    assert_twiml(text("It is Olena, please call me"))
    assert_twiml(text("STOP"))
    assert list(InboundMessage.objects.order_by("pk").values_list("restaurant", "action")) == [
        (None, "unknown_number"), (None, "opted_out")]

    for api, guest in ((manager_api, mine), (steak_manager_api, theirs)):
        assert api.get(f"/api/v1/guests/{guest.pk}/export/").json()["messages"]["received"] == []
    assert manager_api.post(f"/api/v1/guests/{mine.pk}/erase/").status_code == 200

    assert list(InboundMessage.objects.order_by("pk").values_list("body", "from_number")) == [
        ("[erased]", ""), ("STOP", PHONE)]
    theirs.refresh_from_db()
    assert theirs.sms_opt_out
