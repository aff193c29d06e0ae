"""A guest turned away online whose phone nobody proved (issue 16): the refusal counts as lost demand, but a
freed table is never held and texted for a number an anonymous caller chose."""

from __future__ import annotations

import pytest

from recovery.models import RecoveryCase, RecoveryOffer
from recovery.services.offers import offers_sweep
from reservations.models import Gesture, Refusal, Reservation
from reservations.services.booking import reservation_transition

from .test_offers import (  # noqa: F401 (fixtures)
    BOOKABLE_FOR_TWO,
    OLENA,
    book_online,
    full_saturday,
    outbox,
    texts_to,
)

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER = "+380671119999"  # a number an anonymous caller typed


def test_a_freed_table_is_never_held_for_an_anonymous_refusal(anon_api, staff, samna, saturday, outbox):  # noqa: F811
    booked = [book_online(samna, saturday, n) for n in range(len(BOOKABLE_FOR_TWO))]
    refused = anon_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": f"{saturday.isoformat()}T20:00", "party_size": 2,
        "guest": {"name": "Whoever", "phone": STRANGER}}, format="json")
    assert refused.status_code == 409, refused.content
    assert Refusal.objects.filter(guest_phone=STRANGER).count() == 1  # still lost demand in the reports

    reservation_transition(reservation=booked[0], action="cancel", by=staff["manager"])

    assert not RecoveryOffer.objects.exists()
    assert texts_to(outbox, STRANGER) == []
    assert Reservation.objects.get(pk=booked[0].pk).status == "cancelled"


def test_a_stranger_typing_the_offered_guests_phone_takes_neither_her_table_nor_her_dessert(
        anon_api, samna, saturday, full_saturday, outbox):  # noqa: F811
    reservation_transition(reservation=full_saturday[0], action="cancel")
    offer = RecoveryOffer.objects.get()  # Olena's (she proved her phone), her table held for her

    def as_olena(hhmm: str):
        return anon_api.post("/api/v1/restaurants/samna/reservations/", {
            "start": f"{saturday.isoformat()}T{hhmm}", "party_size": 2,
            "guest": {"name": "Olena", "phone": OLENA}}, format="json")

    assert as_olena("20:00").status_code == 409  # the held table is not a stranger's for typing her number
    assert as_olena("13:00").status_code == 201  # a free table: booked, but not as Olena winning hers back
    offers_sweep()

    offer.refresh_from_db()
    assert offer.status == "pending"
    assert not Gesture.objects.exists()
    assert RecoveryCase.objects.get(refusal__guest_phone=OLENA).status != "resolved"
