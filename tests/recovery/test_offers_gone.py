"""The guests next in line for a freed table are told kindly, once, that it has gone — and stay on the list.

Samna's Saturday 20:00 is filled through the real booking service and guests are refused through it (the
`full_saturday` fixture: Olena refused first, Taras second); what a guest's phone receives is read from the
file SMS backend, what they text back goes through `sms_receive`. Celery runs in-process.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from recovery.models import CaseAction, RecoveryCase, RecoveryOffer
from recovery.services.cases import case_close
from recovery.services.offers import lock_service, offers_expire, offers_sweep
from recovery.services.offers_gone import gone_tell
from reservations.models import OutboundMessage, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.inbound_sms import sms_receive
from tests.conftest import kyiv
from tests.recovery.test_offers import (  # noqa: F401  (fixtures)
    OLENA,
    TARAS,
    case_of,
    full_saturday,
    outbox,
    refuse,
    texts_to,
    timeline,
)

pytestmark = pytest.mark.django_db(transaction=True)

IVAN, MARTA, PETRO = "+380671110003", "+380671110004", "+380671110005"


def gone_texts(outbox, phone: str) -> list[dict]:
    return texts_to(outbox, phone, "recovery_gone")


def test_every_guest_in_line_is_told_once_however_often_the_yes_and_the_sweeps_repeat(
        samna, saturday, full_saturday, outbox):
    refuse(samna, saturday, "Ivan", IVAN)
    reservation_transition(reservation=full_saturday[2], action="cancel")
    offer = RecoveryOffer.objects.get()

    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")
    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")  # Twilio delivering it twice
    # A double tap answers her booking's confirmation, never a second table.
    assert sms_receive(from_number=OLENA, body="так", provider_id="SM-yes-again").action in ("already", "confirmed")
    offers_sweep()
    offers_sweep(now=timezone.now() + timedelta(minutes=15))
    offers_expire(now=offer.expires_at + timedelta(minutes=1))

    assert Reservation.objects.filter(guest__phone=OLENA).count() == 1
    for phone in (TARAS, IVAN):
        assert len(gone_texts(outbox, phone)) == 1, phone
        assert texts_to(outbox, phone, "recovery_offer") == []
        assert (case_of(phone).status, timeline(phone)) == ("open", ["opened", "offer_gone"])
    assert gone_texts(outbox, OLENA) == []

    # Told again directly, under the lock: nobody new to tell; and the database refuses a second step.
    with transaction.atomic(durable=True):
        lock_service(samna, saturday)
        assert gone_tell(offer=offer, reservation=offer.reservation or Reservation.objects.get(
            guest__phone=OLENA), now=timezone.now()) == []
    assert OutboundMessage.objects.filter(kind="recovery_gone").count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseAction.objects.create(case=case_of(TARAS), kind="offer_gone", offer=offer, at=timezone.now())


def test_no_text_to_a_number_that_said_stop_a_closed_case_or_a_guest_already_booked_that_day(
        samna, saturday, full_saturday, outbox):
    refuse(samna, saturday, "Ivan", IVAN)
    refuse(samna, saturday, "Marta", MARTA)
    refuse(samna, saturday, "Petro", PETRO)
    sms_receive(from_number=TARAS, body="STOP", provider_id="SM-stop")
    case_close(case=case_of(IVAN), status=RecoveryCase.Status.LOST, note="Went elsewhere.")
    reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=2, channel="online",
                       guest=GuestDetails(name="Marta", phone=MARTA))
    reservation_transition(reservation=full_saturday[0], action="cancel")

    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")

    assert len(gone_texts(outbox, PETRO)) == 1 and timeline(PETRO) == ["opened", "offer_gone"]
    assert texts_to(outbox, TARAS) == [] and texts_to(outbox, IVAN) == []
    assert [m["kind"] for m in texts_to(outbox, MARTA)] == ["confirmation"]
    assert not CaseAction.objects.filter(kind="offer_gone", case__refusal__guest_phone__in=[TARAS, IVAN, MARTA])
    assert (case_of(TARAS).status, case_of(IVAN).status) == ("open", "lost")


def test_the_guest_the_table_was_held_for_booking_it_herself_also_tells_the_next_in_line(
        samna, saturday, full_saturday, outbox):
    reservation_transition(reservation=full_saturday[0], action="cancel")
    reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                       guest=GuestDetails(name="Olena", phone=OLENA))

    offers_sweep()
    offers_sweep()

    assert RecoveryOffer.objects.get().status == "taken"
    assert len(gone_texts(outbox, TARAS)) == 1
    assert (case_of(TARAS).status, timeline(TARAS)) == ("open", ["opened", "offer_gone"])


def test_in_english_and_any_answer_to_it_is_told_kindly_with_no_booking(samna, saturday, full_saturday, outbox):
    samna.language = "en"
    samna.save()
    reservation_transition(reservation=full_saturday[0], action="cancel")
    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")

    [gone] = gone_texts(outbox, TARAS)
    assert gone["body"] == (f"Samna: a table opened on {saturday.day} {saturday:%b} at 20:00 and has just gone to another "
                            "guest - sorry. You are still on our list: we will text you first if another frees.")

    yes = sms_receive(from_number=TARAS, body="Yes!", provider_id="SM-taras-yes")
    no = sms_receive(from_number=TARAS, body="X", provider_id="SM-taras-x")

    assert (yes.action, no.action) == ("offer_gone", "nothing_to_answer")
    assert yes.answered.kind == no.answered.kind == "recovery_gone"
    replies = [m["body"] for m in texts_to(outbox, TARAS, "reply")]
    assert replies == ["Samna: sorry, that table has gone. You are still on our list: we will text you first "
                       "if another one opens."] * 2
    assert not Reservation.objects.filter(guest__phone=TARAS).exists()
    assert (case_of(TARAS).status, timeline(TARAS)) == ("open", ["opened", "offer_gone"])


def test_a_guest_who_let_the_offer_lapse_is_not_told_but_her_late_yes_hears_it_has_gone(
        samna, saturday, full_saturday, outbox):
    refuse(samna, saturday, "Ivan", IVAN)
    reservation_transition(reservation=full_saturday[0], action="cancel")
    first = RecoveryOffer.objects.get()
    later = first.expires_at + timedelta(seconds=5)
    offers_expire(now=later)  # Olena said nothing: offered to Taras
    assert sms_receive(from_number=TARAS, body="YES", provider_id="SM-taras", now=later).action == "offer_taken"

    # Ivan, still behind them, is told; Olena was never going to be offered it again, so is not texted about it.
    assert len(gone_texts(outbox, IVAN)) == 1
    assert gone_texts(outbox, OLENA) == []

    late = sms_receive(from_number=OLENA, body="YES", provider_id="SM-olena-late", now=later)

    assert late.action == "offer_gone" and "щойно зайняли" in texts_to(outbox, OLENA, "reply")[-1]["body"]
    assert not Reservation.objects.filter(guest__phone=OLENA).exists()
    assert case_of(OLENA).status == "open" and timeline(OLENA)[-1] == "offer_gone"
