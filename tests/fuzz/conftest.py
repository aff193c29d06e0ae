"""The demo restaurant with one of everything the API reaches by id, so the fuzzer gets past 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from recovery.services.causes import mistake_log
from reservations.models import WaitlistEntry
from reservations.services.booking import reservation_create
from reservations.services.gestures import gesture_offer, guest_prepare
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv


@dataclass(frozen=True)
class Seeded:
    """Real ids of Samna's rows (and one of The Steakhouse's), by the path they appear under."""

    reservations: tuple[int, ...]
    waitlist: tuple[int, ...]
    comps: tuple[int, ...]
    guests: tuple[int, ...]
    cases: tuple[int, ...]
    day: object  # the day the seeded bookings are on


@pytest.fixture
def seeded(samna, steakhouse, staff, tuesday) -> Seeded:
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Olena K.", phone="+380671234567"), by=staff["host"])
    seated = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=4, channel="host",
                                guest=GuestDetails(name="Taras", phone="+380501112233"), by=staff["manager"])
    seated.status = "seated"
    seated.save(update_fields=["status"])
    theirs = reservation_create(restaurant=steakhouse, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="O. Kovalenko", phone="+380671234567"),
                                by=staff["steak-host"])
    entry = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                         created_at=booked.created_at, guest=booked.guest)
    guest_prepare(reservation_id=booked.pk)
    comp = gesture_offer(reservation=booked, occasion="won_back", reason="turned away last week")
    case = mistake_log(reservation=booked, what="wrong_dish", by=staff["host"])
    return Seeded(
        reservations=(booked.pk, seated.pk, theirs.pk),
        waitlist=(entry.pk,),
        comps=(comp.pk,),
        guests=(booked.guest_id, seated.guest_id, theirs.guest_id),
        cases=(case.pk,),
        day=tuesday,
    )
