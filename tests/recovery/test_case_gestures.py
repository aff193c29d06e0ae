"""A long wait or a logged mistake earns the party its gesture, noted on the case's timeline."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recovery.services.case_gestures import case_gesture
from recovery.services.cases import case_open
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db


def test_a_mistake_gets_a_dessert_and_the_case_says_so_once(samna, staff, tuesday):
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Olena", phone="+380671234567"))
    case = case_open(restaurant=samna, kind="mistake", summary="wrong dish", reservation=booked, by=staff["host"])

    first = case_gesture(case=case, by=staff["host"])
    again = case_gesture(case=case, by=staff["host"])

    assert first == again
    assert (first.item, first.occasion, first.cost, first.reason) == ("dessert", "mistake", Decimal("150.00"),
                                                                      "wrong dish")
    assert [a.kind for a in case.actions.all()] == ["opened", "gesture"]
    assert case.actions.last().note == "dessert (150.00) queued"


def test_a_turned_away_case_or_one_without_a_booking_gets_nothing(samna, tuesday):
    wait = case_open(restaurant=samna, kind="long_wait", summary="left after 40 minutes")
    turned = case_open(restaurant=samna, kind="turned_away", summary="no tables")

    assert case_gesture(case=wait) is None and case_gesture(case=turned) is None
    assert [a.kind for a in wait.actions.all()] == ["opened"]


def test_a_host_logging_a_mistake_queues_the_partys_amends_for_the_floor(
        samna, host_api, tuesday, django_capture_on_commit_callbacks):
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Olena", phone="+380671234567"))

    with django_capture_on_commit_callbacks(execute=True):  # the request's commit, as in production
        answer = host_api.post(f"/api/v1/reservations/{booked.pk}/mistakes/", {"what": "spilled_drink"},
                               format="json")

    assert answer.status_code == 201
    comps = host_api.get("/api/v1/restaurants/samna/comps/", {"date": tuesday.isoformat()}).json()
    assert [(c["reservation"], c["item"], c["status"]) for c in comps] == [(booked.pk, "dessert", "queued")]
    case = booked.recovery_cases.get()
    assert [a.kind for a in case.actions.all()] == ["opened", "gesture"]
