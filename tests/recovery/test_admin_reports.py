"""Outcomes and applied caps are history: a manager reads their own restaurant's in the admin, edits nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from recovery.models import ExpectationOutcome, OverbookingCapChange
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in

pytestmark = pytest.mark.django_db


def site(username: str) -> Client:
    client = Client()
    assert log_in(client, username)
    return client


def test_a_manager_reads_their_own_outcomes_and_cap_changes_and_changes_none(samna, steakhouse, staff, tuesday):
    rows = []
    for restaurant, n in ((samna, 1), (steakhouse, 2)):
        booked = reservation_create(restaurant=restaurant, start=kyiv(tuesday, "20:00"), party_size=2,
                                    channel="phone", guest=GuestDetails(name=f"G{n}", phone=f"+38050400{n:04d}"))
        reservation_transition(reservation=booked, action="seat", now=kyiv(tuesday, "20:00"))
        rows.append(ExpectationOutcome.objects.create(restaurant=restaurant, reservation=booked,
                                                      expectation=f"wish {n}", outcome="wow", at=booked.start))
        OverbookingCapChange.objects.create(restaurant=restaurant, previous_cap=4, new_cap=n, service="all day",
                                            history_from=tuesday, history_to=tuesday, reasoning=f"why {n}",
                                            at=booked.start)
    manager = site("manager")

    outcomes = manager.get("/admin/recovery/expectationoutcome/")
    changes = manager.get("/admin/recovery/overbookingcapchange/")

    assert outcomes.status_code == 200 and changes.status_code == 200
    assert [o.expectation for o in outcomes.context["cl"].result_list] == ["wish 1"]
    assert [c.reasoning for c in changes.context["cl"].result_list] == ["why 1"]
    assert manager.get("/admin/recovery/expectationoutcome/add/").status_code == 403
    manager.post(f"/admin/recovery/expectationoutcome/{rows[0].pk}/change/", {"outcome": "fail"})
    assert ExpectationOutcome.objects.get(pk=rows[0].pk).outcome == "wow"
    assert manager.get(f"/admin/recovery/expectationoutcome/{rows[1].pk}/change/").status_code in (302, 404)
    host = Client()
    assert log_in(host, "host")
    assert host.get("/admin/recovery/expectationoutcome/").status_code == 302  # not staff: to the login
