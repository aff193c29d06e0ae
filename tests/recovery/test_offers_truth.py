"""A guest we turned away is offered only a table that opened after we said no, and told what is true.

The product rule (README, "A freed table goes to the guest we refused first"): a cancellation, a no-show, a
party leaving early or a moved booking frees a table, and the first guest refused for a nearby time is texted
"a table just opened". A table that was free all along did not open; a table held back for walk-ins and
released to the book did open, and the text says that is what happened. And the beat sweep's cost does not
grow with the number of open cases.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.models import RecoveryCase, RecoveryOffer
from recovery.services.offers import offers_sweep
from reservations.errors import NoTables
from reservations.models import Refusal, Reservation, ReservationTable, Table
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db(transaction=True)  # offers and texts are sent on commit

OLENA = "+380671110001"
# Samna's tables for a party of two (T3, T4 are held for walk-ins on Friday and Saturday evenings).
FOR_TWO = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T11", "T12"]


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def offer_texts(outbox: Path) -> list[str]:
    lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    return [m["body"] for m in lines if m["kind"] == "recovery_offer"]


def occupy(samna, table: str, day, hhmm: str) -> Reservation:
    """A party of two on `table` from `hhmm` for Samna's 90 minutes (the book as the host arranged it)."""
    start = kyiv(day, hhmm)
    reservation = Reservation.objects.create(restaurant=samna, party_size=2, start=start,
                                             end=start + timedelta(minutes=90), channel="phone")
    ReservationTable.objects.create(reservation=reservation, table=Table.objects.get(restaurant=samna, name=table),
                                    start=reservation.start, end=reservation.end)
    return reservation


def refuse(samna, day, hhmm: str, phone: str = OLENA) -> Refusal:
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=2, channel="online",
                           guest=GuestDetails(name="Olena", phone=phone, phone_verified=True))
    return Refusal.objects.filter(guest_phone=phone).latest("created_at")


@pytest.fixture
def tuesday_1745(samna, tuesday, outbox) -> dict[str, Reservation]:
    """Tuesday, as in the incident: Olena refused for 17:45. T1 is free until 19:00 (17:15 and 17:30 fit),
    T2 from 18:00 (18:00 and 18:15 fit), every other table for two is busy 17:15–18:45. We named 17:30,
    18:00 and 17:15 as alternatives; 18:15 was free too, all along, on T2."""
    samna.language = "en"
    samna.save()
    busy = {"T1": occupy(samna, "T1", tuesday, "19:00"), "T2": occupy(samna, "T2", tuesday, "16:30")}
    for name in set(FOR_TWO) - set(busy):
        busy[name] = occupy(samna, name, tuesday, "17:15")
    refusal = refuse(samna, tuesday, "17:45")
    assert refusal.alternatives == [kyiv(tuesday, t).isoformat() for t in ("17:30", "18:00", "17:15")]
    return busy


def test_a_table_free_all_along_is_not_offered_as_just_opened(samna, tuesday, tuesday_1745, outbox):
    # The sweep, moments after the refusal: nothing was cancelled, nothing freed.
    assert offers_sweep(now=kyiv(tuesday, "17:00")) == 0

    assert not RecoveryOffer.objects.exists()  # before: 18:15 on T2, "a table just opened", freed_by empty
    assert offer_texts(outbox) == []
    assert RecoveryCase.objects.get().status == "open"


def test_a_cancellation_after_the_refusal_offers_its_table_naming_the_booking_that_freed_it(
        samna, tuesday, tuesday_1745, outbox):
    reservation_transition(reservation=tuesday_1745["T2"], action="cancel")

    offer = RecoveryOffer.objects.get()
    assert (offer.start, list(offer.tables.values_list("name", flat=True))) == (kyiv(tuesday, "17:45"), ["T2"])
    assert (offer.freed_by, offer.opened) == (tuesday_1745["T2"], "freed")
    [text] = offer_texts(outbox)
    assert "at 17:45 - a table just opened. Reply YES" in text


def test_a_table_held_back_and_released_to_the_book_is_offered_saying_so(samna, saturday, outbox):
    samna.language = "en"
    samna.save()
    # Every table an online party of two may have at 20:00 is booked; T3 and T4 are held back for walk-ins.
    for name in set(FOR_TWO) - {"T3", "T4"}:
        occupy(samna, name, saturday, "20:00")
    refuse(samna, saturday, "20:00")

    # An hour before 20:00 the held tables are released to the book: that did open after she was refused.
    assert offers_sweep(now=kyiv(saturday, "19:05")) == 1

    offer = RecoveryOffer.objects.get()
    assert offer.start == kyiv(saturday, "20:00") and {t.name for t in offer.tables.all()} <= {"T3", "T4"}
    assert (offer.freed_by, offer.opened) == (None, "hold_released")
    [text] = offer_texts(outbox)
    assert text == (f"Samna: we couldn't seat you on {saturday.day} {saturday:%b} at 20:00 - we have now "
                    "released a table we were keeping back, at 20:00. Reply YES within 10 minutes and it's yours.")


def open_cases(samna, day, count: int, first: int) -> None:
    """`count` guests refused for 20:00 on `day` with open cases (as the book records them)."""
    refusals = Refusal.objects.bulk_create([
        Refusal(restaurant=samna, start=kyiv(day, "20:00"), party_size=2, channel="phone",
                guest_phone=f"+38067{first + n:07d}", phone_verified=True, reasons=["fully_booked"])
        for n in range(count)])
    RecoveryCase.objects.bulk_create([
        RecoveryCase(restaurant=samna, kind="turned_away", refusal=r, summary="turned away", opened_at=r.created_at,
                     respond_by=r.created_at + timedelta(minutes=15)) for r in refusals])


def test_the_sweep_costs_the_same_queries_for_five_open_cases_as_for_fifty(samna, tuesday, outbox):
    for n in range(len(FOR_TWO)):
        occupy(samna, FOR_TWO[n], tuesday, "19:30")
    now = kyiv(tuesday, "19:00")
    open_cases(samna, tuesday, 5, 0)
    offers_sweep(now=now)  # settles what a first run settles (caches, nothing else to do)
    with CaptureQueriesContext(connection) as five:
        assert offers_sweep(now=now) == 0

    open_cases(samna, tuesday, 45, 100)
    offers_sweep(now=now)
    with CaptureQueriesContext(connection) as fifty:
        assert offers_sweep(now=now) == 0

    assert len(fifty) == len(five), [q["sql"][:120] for q in fifty.captured_queries]
    assert len(five) <= 20, [q["sql"][:120] for q in five.captured_queries]
