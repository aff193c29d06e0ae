"""A recovery offer's hold stops counting at its own end, whatever the sweeps do (issue 16).

The hold is a thing with an `until` the engine reads: past the offer's `expires_at` the table is free to
availability and to the next booking, before any task or beat sweep has lapsed the offer's row — with no
sweep run at all here. The model is the rule itself: the tables are taken while `now < expires_at`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recovery.models import RecoveryOffer
from reservations import engine, selectors
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv
from tests.recovery.test_offers import OLENA, full_saturday, outbox  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)  # the offer is made on commit


def free_at_eight(samna, day, now) -> bool:
    """Whether an online party of two may have 20:00, as the availability endpoint decides it at `now`."""
    plan = selectors.day_plan(samna, day)
    return next(d.available for d in engine.availability(plan, party_size=2, channel="online", now=now)
                if d.start == kyiv(day, "20:00"))


@pytest.fixture
def offered(samna, saturday, full_saturday) -> RecoveryOffer:  # noqa: F811
    """One 20:00 booking cancelled: its table is offered to Olena, who was refused first, and held for her."""
    reservation_transition(reservation=full_saturday[0], action="cancel")
    offer = RecoveryOffer.objects.get()
    assert (offer.status, offer.case.refusal.guest_phone) == ("pending", OLENA)
    return offer


def test_the_held_table_is_free_to_availability_right_after_the_offers_end(samna, saturday, offered):
    # Asked while held (the plan and its answers are now kept), then just after the end: no sweep ran.
    assert free_at_eight(samna, saturday, timezone.now()) is False
    assert free_at_eight(samna, saturday, offered.expires_at - timedelta(seconds=1)) is False

    assert free_at_eight(samna, saturday, offered.expires_at + timedelta(seconds=1)) is True
    # The same answer from a cold read, and the row is still pending: the engine, not a sweep, freed it.
    selectors.forget_day_plans()
    assert free_at_eight(samna, saturday, offered.expires_at + timedelta(seconds=1)) is True
    assert RecoveryOffer.objects.get().status == "pending"


def test_the_guest_it_was_held_for_keeps_it_until_the_end(samna, saturday, offered):
    plan = selectors.day_plan(samna, saturday, held_for=OLENA)
    decision = engine.decide_booking(plan, party_size=2, channel="online", start=kyiv(saturday, "20:00"),
                                     now=offered.expires_at - timedelta(seconds=1))
    assert decision.available


def test_the_next_guest_books_the_table_once_the_offer_has_ended_unswept(samna, saturday, offered):
    # The offer ended a second ago and nothing has lapsed it (the demo has no beat): the table is bookable.
    RecoveryOffer.objects.filter(pk=offered.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    booked = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                                guest=GuestDetails(name="Next guest", phone="+380671110099"))

    assert [t.pk for t in booked.tables.all()] == list(offered.tables.values_list("pk", flat=True))


def test_an_engine_hold_with_an_end_counts_only_before_it(samna, saturday):
    """Pure engine on plain data: every table for two held until 19:00's slot moment, then free."""
    config = selectors.restaurant_config(samna)
    empty = engine.plan_day(config, saturday, ())
    start, end = kyiv(saturday, "20:00"), kyiv(saturday, "22:00")
    until = kyiv(saturday, "19:00")
    holds = [engine.Booking(start, end, 2, seating.tables, hold=f"h{n}", until=until)
             for n, seating in enumerate(config.seatings_for(2))]
    plan = empty.with_bookings(holds)

    def free(now) -> bool:
        return engine.decide_booking(plan, party_size=2, channel="online", start=start, now=now).available

    before = [until - timedelta(minutes=m) for m in (60, 1)] + [until - timedelta(microseconds=1)]
    after = [until, until + timedelta(microseconds=1), until + timedelta(minutes=30)]
    # Availability's kept answers too, asked in time order on one plan as a warm process would.
    kept = [next(d.available for d in engine.availability(plan, party_size=2, channel="online", now=now)
                 if d.start == start) for now in before + after]
    assert [free(now) for now in before + after] == [False] * 3 + [True] * 3
    assert kept == [False] * 3 + [True] * 3
