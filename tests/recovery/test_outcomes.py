"""After a visit, staff score each of the guest's expectations fail / OK / WOW in two taps, through the API."""

from __future__ import annotations

import pytest

from recovery.models import ExpectationOutcome
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db


@pytest.fixture
def olena_came(samna, staff, tuesday):
    """Olena's profile expects a window seat; this booking adds a kids menu. She came and left."""
    first = reservation_create(restaurant=samna, start=kyiv(tuesday, "13:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Olena", phone="+380671234567"), expectations=["window_seat"])
    reservation_transition(reservation=first, action="cancel")
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=3, channel="phone",
                                guest=GuestDetails(name="Olena", phone="+380671234567"), expectations=["kids_menu"])
    reservation_transition(reservation=booked, action="seat", now=kyiv(tuesday, "19:02"))
    return reservation_transition(reservation=booked, action="complete", now=kyiv(tuesday, "21:00"))


def test_staff_score_each_expectation_and_can_correct_one(olena_came, host_api, staff):
    url = f"/api/v1/reservations/{olena_came.pk}/outcomes/"
    before = host_api.get(url).json()
    assert (before["expectations"], before["outcomes"]) == (["window_seat", "kids_menu"], [])

    response = host_api.post(url, {"outcomes": [{"expectation": "window_seat", "outcome": "wow"},
                                                {"expectation": "kids_menu", "outcome": "fail",
                                                 "note": "ran out of pasta"}]}, format="json")

    assert response.status_code == 200, response.json()
    scored = {o["expectation"]: (o["outcome"], o["note"], o["by"]) for o in response.json()["outcomes"]}
    assert scored == {"window_seat": ("wow", "", "host"), "kids_menu": ("fail", "ran out of pasta", "host")}

    corrected = host_api.post(url, {"outcomes": [{"expectation": "kids_menu", "outcome": "ok"}]}, format="json")
    assert {o["expectation"]: o["outcome"] for o in corrected.json()["outcomes"]} == {
        "window_seat": "wow", "kids_menu": "ok"}
    assert ExpectationOutcome.objects.filter(reservation=olena_came).count() == 2


def test_a_party_that_has_not_come_is_not_scored_and_bad_input_is_a_400(samna, host_api, tuesday, olena_came):
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Taras", phone="+380501112233"), expectations=["quiet"])
    early = host_api.post(f"/api/v1/reservations/{booked.pk}/outcomes/",
                          {"outcomes": [{"expectation": "quiet", "outcome": "ok"}]}, format="json")
    assert (early.status_code, early.json()["code"]) == (409, "not_visited")

    url = f"/api/v1/reservations/{olena_came.pk}/outcomes/"
    for body in ({"outcomes": [{"expectation": "window_seat", "outcome": "great"}]}, {"outcomes": []}, [1, 2],
                 {"outcomes": [{"outcome": "ok"}]}):
        response = host_api.post(url, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response.json()["code"]
    assert not ExpectationOutcome.objects.exists()
