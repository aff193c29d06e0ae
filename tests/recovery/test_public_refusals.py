"""A guest turned away online whose phone nobody proved (issue 16): the refusal counts as lost demand, but a
freed table is never held and texted for a number an anonymous caller chose."""

from __future__ import annotations

import pytest

from recovery.models import RecoveryOffer
from reservations.models import Refusal, Reservation
from reservations.services.booking import reservation_transition

from .test_offers import BOOKABLE_FOR_TWO, book_online, outbox, texts_to  # noqa: F401 (a fixture)

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
