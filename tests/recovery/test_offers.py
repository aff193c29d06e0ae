"""Turned-away recovery, as a guest and a manager would see it: a table frees, the first guest we refused is
texted, their YES books it with a dessert; no answer in time offers it to the next; a late YES hears kindly
that it has gone, and so, once, does every guest who was next in line for the table when it is taken.

Samna's Saturday at 20:00 is filled through the real booking service; the guests are refused through it too;
the guest's phone is the file SMS backend (what we text them) and `sms_receive` (what they text back).
Celery runs in-process, so every "after commit" task runs for real (hence transactional tests).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from recovery.models import CaseAction, RecoveryCase, RecoveryOffer
from recovery.selectors import overdue_q
from recovery.services.cases import case_close, is_overdue
from recovery.services.offers import lock_service, offers_expire, offers_sweep
from recovery.services.offers_gone import gone_tell
from reservations.errors import NoTables
from reservations.models import Gesture, OutboundMessage, Refusal, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.inbound_sms import sms_receive
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db(transaction=True)  # offers, texts and desserts are sent on commit

OLENA = "+380671110001"  # refused first
TARAS = "+380671110002"  # refused second
# Samna's tables an online party of two may have at 20:00 on a Saturday (T3, T4 are held for walk-ins).
BOOKABLE_FOR_TWO = ["T1", "T2", "T5", "T6", "T7", "T8", "T11", "T12"]


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def texts_to(outbox: Path, phone: str, kind: str | None = None) -> list[dict]:
    lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    return [m for m in lines if m["to"] == phone and (kind is None or m["kind"] == kind)]


def book_online(samna, day, n: int, hhmm: str = "20:00") -> Reservation:
    return reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=2, channel="online",
                              guest=GuestDetails(name=f"Booked {n}", phone=f"+38050200{n:04d}"))


def refuse(samna, day, name: str, phone: str, hhmm: str = "20:00", party_size: int = 2) -> Refusal:
    """A guest turned away online with a phone they proved (an unproven one is never offered a table:
    tests/recovery/test_public_refusals.py)."""
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=party_size, channel="online",
                           guest=GuestDetails(name=name, phone=phone, phone_verified=True))
    return Refusal.objects.filter(guest_phone=phone).latest("created_at")


def fill_for_four(samna, day, hhmm: str) -> list[Reservation]:
    """Every seating a party of four may have (T5–T8, T9, T10, T11+T12), booked online at `hhmm`."""
    booked = [reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=4, channel="online",
                                 guest=GuestDetails(name=f"Four {n}", phone=f"+38050300{n:04d}")) for n in range(7)]
    assert sorted("+".join(sorted(t.name for t in r.tables.all())) for r in booked) == sorted(
        ["T5", "T6", "T7", "T8", "T9", "T10", "T11+T12"])
    return booked


@pytest.fixture
def full_saturday(samna, saturday, outbox) -> list[Reservation]:
    """Every table an online party of two may have at 20:00, booked; Olena, then Taras, refused for 20:00."""
    booked = [book_online(samna, saturday, n) for n in range(len(BOOKABLE_FOR_TWO))]
    assert sorted(t.name for r in booked for t in r.tables.all()) == sorted(BOOKABLE_FOR_TWO)
    refuse(samna, saturday, "Olena", OLENA)
    refuse(samna, saturday, "Taras", TARAS)
    return booked


def case_of(phone: str) -> RecoveryCase:
    return RecoveryCase.objects.get(refusal__guest_phone=phone)


def timeline(phone: str) -> list[str]:
    return list(CaseAction.objects.filter(case__refusal__guest_phone=phone).order_by("at", "id")
                .values_list("kind", flat=True))


def slot(client, day, hhmm: str) -> dict:
    response = client.get(f"/api/v1/restaurants/samna/availability/?date={day.isoformat()}&party_size=2")
    assert response.status_code == 200
    return next(s for s in response.json()["slots"] if s["time"] == hhmm)


def test_a_cancellation_offers_the_table_to_the_first_refused_guest_whose_yes_books_it_with_a_dessert(
        samna, saturday, full_saturday, outbox):
    freed = full_saturday[3]
    freed_table = freed.tables.get().name

    reservation_transition(reservation=freed, action="cancel")

    # Olena, refused first, is texted at once; Taras, refused after her, is not (the table is hers for now).
    [offer_text] = texts_to(outbox, OLENA, "recovery_offer")
    assert offer_text["body"] == (f"Samna: {saturday:%d.%m} о 20:00 не було місць, а тепер столик звільнився! "
                                  "Напишіть ТАК за 10 хв - і він ваш")
    assert texts_to(outbox, TARAS) == []
    offer = RecoveryOffer.objects.get()
    assert (offer.status, [t.name for t in offer.tables.all()], offer.freed_by_id) == ("pending", [freed_table],
                                                                                        freed.pk)
    assert offer.start == kyiv(saturday, "20:00") and offer.expires_at - offer.offered_at == timedelta(minutes=10)
    assert case_of(OLENA).status == "offered" and timeline(OLENA) == ["opened", "offered"]
    assert case_of(TARAS).status == "open" and timeline(TARAS) == ["opened"]

    inbound = sms_receive(from_number=OLENA, body="Так", provider_id="SM-olena-yes")

    won = Reservation.objects.get(guest__phone=OLENA)
    assert inbound.action == "offer_taken" and inbound.reservation_id == won.pk
    assert (won.status, won.channel, won.guest.name, won.start) == ("booked", "phone", "Olena",
                                                                    kyiv(saturday, "20:00"))
    assert [t.name for t in won.tables.all()] == [freed_table] and not won.overbooked
    offer.refresh_from_db()
    assert (offer.status, offer.reservation_id) == ("taken", won.pk)
    case = case_of(OLENA)
    assert (case.status, case.won_back_id) == ("resolved", won.pk)
    assert list(won.won_back_cases.all()) == [case]
    assert timeline(OLENA) == ["opened", "offered", "offer_taken", "resolved"]
    # Her booking is confirmed by the usual text (with her page's link), and her dessert is queued for the floor.
    [confirmation] = texts_to(outbox, OLENA, "confirmation")
    assert confirmation["reservation"] == won.pk and "20:00" in confirmation["body"]
    dessert = Gesture.objects.get(reservation=won)
    assert (dessert.item, dessert.occasion, dessert.status) == ("dessert", "won_back", "queued")
    assert "could not seat you" in dessert.prompt
    # Taras, next in line for it, is told kindly it has gone, and is still on the managers' list.
    assert [m["body"] for m in texts_to(outbox, TARAS)] == [
        f"Samna: {saturday:%d.%m} о 20:00 звільнився столик, але його щойно взяв інший гість. Вибачте! "
        "Ви в нашому списку: напишемо першими, якщо звільниться ще"]
    assert case_of(TARAS).status == "open" and timeline(TARAS) == ["opened", "offer_gone"]


def test_no_answer_in_ten_minutes_offers_it_to_the_next_guest_and_a_late_yes_is_told_kindly_it_has_gone(
        samna, saturday, full_saturday, outbox):
    reservation_transition(reservation=full_saturday[0], action="cancel")
    first = RecoveryOffer.objects.get()

    assert offers_expire(now=first.expires_at - timedelta(seconds=1)) == 0, "not before its ten minutes"
    later = first.expires_at + timedelta(seconds=5)
    assert offers_expire(now=later) == 1
    assert offers_expire(now=later) == 0, "a second sweep changes nothing"

    first.refresh_from_db()
    assert first.status == "expired"
    assert case_of(OLENA).status == "open"
    assert timeline(OLENA) == ["opened", "offered", "offer_expired"]
    second = RecoveryOffer.objects.get(status="pending")
    assert second.case == case_of(TARAS) and list(second.tables.all()) == list(first.tables.all())
    assert len(texts_to(outbox, TARAS, "recovery_offer")) == 1
    assert case_of(TARAS).status == "offered"

    late = sms_receive(from_number=OLENA, body="YES", provider_id="SM-olena-late", now=later)

    assert late.action == "offer_gone"
    [gone] = texts_to(outbox, OLENA, "reply")
    assert "щойно зайняли" in gone["body"]
    assert not Reservation.objects.filter(guest__phone=OLENA).exists()
    assert case_of(OLENA).status == "open", "she stays on the list"
    assert timeline(OLENA) == ["opened", "offered", "offer_expired", "offer_gone"]

    taken = sms_receive(from_number=TARAS, body="yes", provider_id="SM-taras-yes", now=later)

    assert taken.action == "offer_taken"
    assert Reservation.objects.get(guest__phone=TARAS).recovery_offer == second
    assert (case_of(TARAS).status, timeline(TARAS)) == ("resolved", ["opened", "offered", "offer_taken",
                                                                     "resolved"])


def test_the_held_table_is_taken_for_everyone_else_and_returns_to_the_book_when_nobody_is_left(
        samna, saturday, full_saturday, outbox, anon_api):
    assert slot(anon_api, saturday, "20:00")["available"] is False
    reservation_transition(reservation=full_saturday[0], action="cancel")
    offer = RecoveryOffer.objects.get()

    held = slot(anon_api, saturday, "20:00")
    assert (held["available"], held["reason"]) == (False, "fully_booked")
    with pytest.raises(NoTables):
        book_online(samna, saturday, 90)
    # A phone booking may be overbooked by Samna's policy, but never put on the held table.
    phone = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Caller", phone="+380509999999"))
    assert phone.overbooked and not phone.tables.exists()
    reservation_transition(reservation=phone, action="cancel")  # frees no table: nobody new is offered one
    assert RecoveryOffer.objects.count() == 1

    # Olena lets it lapse, Taras too: nobody is left (the guest just refused online never proved her phone, so
    # she is not in line), and the table is the book's again.
    for phone in (OLENA, TARAS):
        pending = RecoveryOffer.objects.get(status="pending")
        assert str(pending.case.refusal.guest_phone) == phone
        offers_expire(now=pending.expires_at)
    assert list(RecoveryOffer.objects.values_list("status", flat=True)) == ["expired"] * 2
    assert slot(anon_api, saturday, "20:00")["available"] is True
    assert book_online(samna, saturday, 91).tables.get() == offer.tables.get()


def test_two_yes_texts_make_one_booking_and_the_second_is_told_the_table_is_already_theirs(
        samna, saturday, full_saturday, outbox):
    reservation_transition(reservation=full_saturday[0], action="cancel")

    first = sms_receive(from_number=OLENA, body="YES", provider_id="SM-1")
    again = sms_receive(from_number=OLENA, body="YES", provider_id="SM-2")

    assert first.action == "offer_taken"
    assert again.action in ("already", "confirmed"), "answered as her booking, never a second table"
    assert Reservation.objects.filter(guest__phone=OLENA).count() == 1
    assert Gesture.objects.filter(occasion="won_back").count() == 1


def test_declining_hands_the_table_to_the_next_guest_at_once(samna, saturday, full_saturday, outbox):
    reservation_transition(reservation=full_saturday[0], action="cancel")

    answer = sms_receive(from_number=OLENA, body="X", provider_id="SM-no")

    assert answer.action == "offer_declined"
    assert "дякуємо за відповідь" in texts_to(outbox, OLENA, "reply")[0]["body"]
    assert list(RecoveryOffer.objects.order_by("id").values_list("case__refusal__guest_phone", "status")) == [
        (OLENA, "expired"), (TARAS, "pending")]
    assert timeline(OLENA)[-1] == "offer_expired" and case_of(OLENA).status == "open"
    assert sms_receive(from_number=OLENA, body="maybe", provider_id="SM-huh").action in ("help", "offer_gone",
                                                                                        "nothing_to_answer")
    assert sms_receive(from_number=TARAS, body="what?", provider_id="SM-help").action == "help"
    assert "ТАК - взяти столик" in texts_to(outbox, TARAS, "reply")[0]["body"]


def test_a_no_show_and_a_party_leaving_early_free_their_tables_for_the_rest_of_their_time(
        samna, saturday, outbox):
    # Every seating for four (T5–T8, T9, T10, T11+T12) booked from 19:00 to 21:00; Olena's four are refused
    # for 19:15, Taras's for 19:45.
    early = fill_for_four(samna, saturday, "19:00")
    refuse(samna, saturday, "Olena", OLENA, "19:15", party_size=4)
    refuse(samna, saturday, "Taras", TARAS, "19:45", party_size=4)

    # The first party never comes: from 19:20 its table is free until 21:00 — Olena's 19:15 has passed, so
    # she is offered the nearest start within half an hour that is still ahead: 19:30.
    reservation_transition(reservation=early[0], action="no-show", now=kyiv(saturday, "19:20"))
    offer = RecoveryOffer.objects.get()
    assert (offer.case, offer.start) == (case_of(OLENA), kyiv(saturday, "19:30"))
    assert "не було місць, а о 19:30 столик звільнився" in texts_to(outbox, OLENA, "recovery_offer")[0]["body"]


def test_a_party_leaving_early_offers_its_table(samna, saturday, outbox):
    early = fill_for_four(samna, saturday, "18:00")
    refuse(samna, saturday, "Taras", TARAS, "19:30", party_size=4)
    seated = reservation_transition(reservation=early[2], action="seat", now=kyiv(saturday, "18:00"))
    reservation_transition(reservation=seated, action="complete", now=kyiv(saturday, "19:10"))

    offer = RecoveryOffer.objects.get()
    assert (offer.case, offer.start, offer.tables.get()) == (case_of(TARAS), kyiv(saturday, "19:30"),
                                                            early[2].tables.get())


def test_a_guest_who_booked_another_time_or_said_stop_is_not_offered(samna, saturday, full_saturday, outbox):
    reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=2, channel="online",
                       guest=GuestDetails(name="Olena", phone=OLENA))
    sms_receive(from_number=TARAS, body="STOP", provider_id="SM-stop")  # no texts to this number, ever

    reservation_transition(reservation=full_saturday[0], action="cancel")

    assert not RecoveryOffer.objects.exists()


def test_the_sweep_makes_the_offer_a_lost_trigger_never_made_and_never_twice(
        samna, saturday, full_saturday, outbox):
    from recovery import hooks
    from reservations.signals import tables_released

    tables_released.disconnect(dispatch_uid="recovery_offer_freed_tables")  # the broker lost the trigger
    try:
        reservation_transition(reservation=full_saturday[0], action="cancel")
        assert not RecoveryOffer.objects.exists()

        now = timezone.now()
        assert offers_sweep(now=now) == 1
        assert offers_sweep(now=now) == 0
    finally:
        hooks.offers_plug_in()
    assert RecoveryOffer.objects.get().case == case_of(OLENA)
    assert len(texts_to(outbox, OLENA, "recovery_offer")) == 1


def test_the_offer_text_in_english_names_both_times_when_it_moved(samna, saturday, outbox):
    samna.language = "en"
    samna.save()
    early = fill_for_four(samna, saturday, "19:00")
    refuse(samna, saturday, "Olena", OLENA, "19:15", party_size=4)
    reservation_transition(reservation=early[0], action="no-show", now=kyiv(saturday, "19:20"))

    [text] = texts_to(outbox, OLENA, "recovery_offer")
    assert text["body"] == (f"Samna: we couldn't seat you on {saturday.day} {saturday:%b} at 19:15 - a table "
                            "just opened at 19:30. Reply YES within 10 minutes and it's yours.")
    assert OutboundMessage.objects.get(kind="recovery_offer").recovery_offer.case == case_of(OLENA)


def test_a_start_we_named_as_an_alternative_when_we_said_no_is_not_offered_as_just_opened(
        samna, saturday, outbox):
    # Every table for two busy from 19:00 to 20:30: Olena, refused for 20:00, was told 20:30 was free.
    for n in range(len(BOOKABLE_FOR_TWO)):
        book_online(samna, saturday, n, "19:00")
    refusal = refuse(samna, saturday, "Olena", OLENA, "20:00")
    assert kyiv(saturday, "20:30").isoformat() in refusal.alternatives

    assert offers_sweep() == 0
    assert not RecoveryOffer.objects.exists() and texts_to(outbox, OLENA) == []


def test_a_booking_moved_to_another_time_offers_the_table_it_left(samna, saturday, full_saturday, outbox):
    from reservations.services.booking import reservation_change

    moved = full_saturday[2]
    reservation_change(reservation=moved, start=kyiv(saturday, "13:00"))

    offer = RecoveryOffer.objects.get()
    assert (offer.case, offer.start, offer.freed_by) == (case_of(OLENA), kyiv(saturday, "20:00"), moved)


def test_the_guest_the_table_is_held_for_may_book_it_herself_and_is_won_back(
        samna, saturday, full_saturday, outbox, anon_api):
    reservation_transition(reservation=full_saturday[0], action="cancel")
    offer = RecoveryOffer.objects.get()

    # Taras may not have Olena's table; Olena, booking online herself instead of replying, gets it.
    with pytest.raises(NoTables):
        book_online(samna, saturday, 77)
    herself = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                                 guest=GuestDetails(name="Olena", phone=OLENA, phone_verified=True))
    assert list(herself.tables.all()) == list(offer.tables.all())

    assert offers_sweep() >= 1
    offer.refresh_from_db()
    assert (offer.status, offer.reservation) == ("taken", herself)
    assert (case_of(OLENA).status, case_of(OLENA).won_back) == ("resolved", herself)
    assert timeline(OLENA) == ["opened", "offered", "offer_taken", "resolved"]
    assert Gesture.objects.get(reservation=herself).occasion == "won_back"
    # Her YES afterwards is answered as her booking, never a second table.
    assert sms_receive(from_number=OLENA, body="YES", provider_id="SM-after").action in ("already", "confirmed")
    assert Reservation.objects.filter(guest__phone=OLENA).count() == 1


def test_a_guest_refused_twice_that_evening_is_offered_once_and_both_cases_are_won_back(
        samna, saturday, full_saturday, outbox):
    refuse(samna, saturday, "Olena", OLENA, "20:15")  # she tried a quarter later too, after Taras

    reservation_transition(reservation=full_saturday[0], action="cancel")

    assert len(texts_to(outbox, OLENA, "recovery_offer")) == 1
    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")
    won = Reservation.objects.get(guest__phone=OLENA)
    cases = RecoveryCase.objects.filter(refusal__guest_phone=OLENA)
    assert sorted(cases.values_list("status", "won_back")) == [("resolved", won.pk), ("resolved", won.pk)]
    assert case_of(TARAS).status == "open"


def test_a_late_yes_still_gets_the_table_when_nobody_else_has_it(samna, saturday, outbox):
    booked = [book_online(samna, saturday, n) for n in range(len(BOOKABLE_FOR_TWO))]
    refuse(samna, saturday, "Olena", OLENA)  # nobody after her
    reservation_transition(reservation=booked[0], action="cancel")
    offer = RecoveryOffer.objects.get()
    later = offer.expires_at + timedelta(minutes=3)
    offers_expire(now=later)
    assert slot_free_online(samna, saturday), "nobody left: the table is the book's again"

    answer = sms_receive(from_number=OLENA, body="YES", provider_id="SM-late", now=later)

    assert answer.action == "offer_taken"
    offer.refresh_from_db()
    assert offer.status == "taken" and offer.reservation.tables.get() == booked[0].tables.get()
    assert timeline(OLENA) == ["opened", "offered", "offer_expired", "offer_taken", "resolved"]
    assert "after the offer had lapsed" in CaseAction.objects.get(kind="offer_taken").note


def test_a_late_yes_after_the_table_was_booked_from_the_book_is_told_it_has_gone(samna, saturday, outbox):
    booked = [book_online(samna, saturday, n) for n in range(len(BOOKABLE_FOR_TWO))]
    refuse(samna, saturday, "Olena", OLENA)
    reservation_transition(reservation=booked[0], action="cancel")
    offer = RecoveryOffer.objects.get()
    offers_expire(now=offer.expires_at)
    book_online(samna, saturday, 50)  # someone books it online in the meantime

    answer = sms_receive(from_number=OLENA, body="YES", provider_id="SM-late", now=offer.expires_at)

    assert answer.action == "offer_gone"
    assert not Reservation.objects.filter(guest__phone=OLENA).exists()
    assert case_of(OLENA).status == "open" and timeline(OLENA)[-1] == "offer_gone"


def slot_free_online(samna, day) -> bool:
    from reservations import engine, selectors

    plan = selectors.day_plan(samna, day)
    return engine.decide_booking(plan, party_size=2, channel="online", start=kyiv(day, "20:00"),
                                 now=timezone.now()).available


def test_first_refused_first_even_for_a_later_time_within_the_window(samna, saturday, outbox):
    # Every table for two booked at 20:00; Taras asks for 20:15 first, Olena for 20:00 after him.
    booked = [book_online(samna, saturday, n) for n in range(len(BOOKABLE_FOR_TWO))]
    refuse(samna, saturday, "Taras", TARAS, "20:15")
    refuse(samna, saturday, "Olena", OLENA, "20:00")

    reservation_transition(reservation=booked[0], action="cancel")

    offer = RecoveryOffer.objects.get()
    assert (offer.case, offer.start) == (case_of(TARAS), kyiv(saturday, "20:15"))
    assert texts_to(outbox, OLENA) == []


# --- the guests next in line are told kindly, once, that the table has gone, and stay on the list ---------

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
                       guest=GuestDetails(name="Olena", phone=OLENA, phone_verified=True))

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
    assert gone["body"] == (f"Samna: a table opened on {saturday.day} {saturday:%b} at 20:00 and has just gone "
                            "to another guest - sorry. You are still on our list: we will text you first if "
                            "another frees.")

    yes = sms_receive(from_number=TARAS, body="Yes!", provider_id="SM-taras-yes")
    no = sms_receive(from_number=TARAS, body="X", provider_id="SM-taras-x")

    assert (yes.action, no.action) == ("offer_gone", "nothing_to_answer")
    assert yes.answered.kind == no.answered.kind == "recovery_gone"
    replies = [m["body"] for m in texts_to(outbox, TARAS, "reply")]
    assert replies == ["Samna: sorry, that table has gone. You are still on our list: we will text you first "
                       "if another one opens."] * 2
    assert not Reservation.objects.filter(guest__phone=TARAS).exists()
    assert (case_of(TARAS).status, timeline(TARAS)) == ("open", ["opened", "offer_gone"])
    # He has heard from us: his open case is not flagged overdue to the managers past its deadline.
    case = case_of(TARAS)
    assert not is_overdue(case, case.respond_by + timedelta(hours=1))
    assert not RecoveryCase.objects.filter(overdue_q(case.respond_by + timedelta(hours=1)), pk=case.pk).exists()


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


def test_a_reply_to_it_still_answers_the_guests_booking_on_another_day(samna, saturday, full_saturday, outbox):
    next_week = reservation_create(restaurant=samna, start=kyiv(saturday + timedelta(days=7), "19:00"),
                                   party_size=2, channel="online", guest=GuestDetails(name="Taras", phone=TARAS))
    reservation_transition(reservation=full_saturday[0], action="cancel")
    sms_receive(from_number=OLENA, body="YES", provider_id="SM-yes")
    assert len(gone_texts(outbox, TARAS)) == 1

    answer = sms_receive(from_number=TARAS, body="X", provider_id="SM-taras-x")

    next_week.refresh_from_db()
    assert (answer.action, next_week.status) == ("cancelled", "cancelled"), "his X meant next week's booking"
    assert (case_of(TARAS).status, timeline(TARAS)) == ("open", ["opened", "offer_gone"])
