"""The suggested overbooking cap, from a hand-made no-show history, and the manager's one click that applies it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery.models import OverbookingCapChange
from recovery.services.overbooking import overbooking_cap_apply
from recovery.services.reports import cap_suggestion
from reservations.errors import ManagersOnly, NoTables
from reservations.models import OverbookingPolicy, StaffMembership
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in
from tests.factories import small_restaurant

pytestmark = pytest.mark.django_db


def test_the_cap_is_the_low_quantile_of_no_show_covers_with_its_risk_in_words():
    # Ten dinners' no-show covers. Sorted: 0 1 2 2 3 4 4 5 6 8; ⌊10 × 20%⌋ = 2 → the third value, 2.
    # Fewer than 2 covers were missing in 2 of 10 (the 0 and the 1); everyone came in 1 of 10.
    history = [4, 0, 2, 6, 3, 8, 1, 2, 5, 4]

    suggestion = cap_suggestion(history)

    assert suggestion["suggested_cap"] == 2
    assert suggestion["too_many_in"] == 2
    assert (suggestion["everyone_showed"], suggestion["everyone_showed_rate"]) == (1, 0.1)
    assert suggestion["mean_no_show_covers"] == 3.5
    assert suggestion["words"] == (
        "In 1 of 10 past services (10%) every booked guest came. A cap of 2 overbooked covers would have been "
        "more than the covers missing in 2 of 10 (20%): on such a night an overbooked party waits for a table.")


def test_a_restaurant_where_everyone_often_comes_is_told_not_to_overbook():
    # Sorted 0 0 3 5: ⌊4 × 20%⌋ = 0 → 0. Everyone came at half the services.
    suggestion = cap_suggestion([3, 0, 5, 0])

    assert suggestion["suggested_cap"] == 0
    assert "In 2 of 4 past services (50%) every booked guest came: too often to overbook at all" in suggestion["words"]


def test_a_higher_accepted_risk_suggests_more_and_too_little_history_suggests_nothing():
    history = [4, 0, 2, 6, 3, 8, 1, 2, 5, 4]
    # ⌊10 × 50%⌋ = 5 → the sixth sorted value, 4; fewer than 4 missing in 5 of 10 (0 1 2 2 3).
    assert (cap_suggestion(history, risk_percent=50)["suggested_cap"],
            cap_suggestion(history, risk_percent=50)["too_many_in"]) == (4, 5)
    assert cap_suggestion([2, 3, 4])["suggested_cap"] is None


@pytest.fixture
def bistro(staff):
    """Four tables for four, dinner 12:00–22:00 every day, no overbooking policy; Samna's manager works here too."""
    bistro = small_restaurant(tables=4, max_covers=4, slug="bistro")
    StaffMembership.objects.create(user=staff["manager"], restaurant=bistro, role=StaffMembership.Role.MANAGER)
    StaffMembership.objects.create(user=staff["host"], restaurant=bistro, role=StaffMembership.Role.HOST)
    return bistro


def five_dinners(bistro, first_day) -> tuple:
    """Five dinners of two bookings for two; the no-shows give no-show covers 2, 0, 4, 2, 2."""
    no_shows_per_day = [1, 0, 2, 1, 1]
    n = 0
    for offset, no_shows in enumerate(no_shows_per_day):
        day = first_day + timedelta(days=offset)
        for i in range(2):
            n += 1
            booked = reservation_create(restaurant=bistro, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                                        guest=GuestDetails(name=f"Guest {n}", phone=f"+38050200{n:04d}"))
            if i < no_shows:
                reservation_transition(reservation=booked, action="no-show", now=kyiv(day, "19:30"))
            else:
                reservation_transition(reservation=booked, action="seat", now=kyiv(day, "19:00"))
    return first_day, first_day + timedelta(days=4)


def test_the_manager_applies_the_suggestion_and_it_is_on_the_record(bistro, staff, tuesday, manager_api):
    first, last = five_dinners(bistro, tuesday)
    report = manager_api.get("/api/v1/restaurants/bistro/reports/recovery/",
                             {"from": first.isoformat(), "to": last.isoformat()}).json()
    (dinner,) = report["overbooking_caps"]
    # History 2 0 4 2 2; sorted 0 2 2 2 4; ⌊5 × 20%⌋ = 1 → 2. Fewer than 2 missing once (the 0).
    assert (dinner["service"], dinner["history"], dinner["suggested_cap"], dinner["too_many_in"]) == (
        "dinner", [2, 0, 4, 2, 2], 2, 1)
    assert dinner["current_cap"] is None
    # The day after the history, 19:00 is full: without a policy a fifth party for two is refused.
    for n in range(4):
        reservation_create(restaurant=bistro, start=kyiv(last + timedelta(days=1), "19:00"), party_size=2,
                           channel="phone", guest=GuestDetails(name=f"Full {n}", phone=f"+38050300{n:04d}"))
    with pytest.raises(NoTables):
        reservation_create(restaurant=bistro, start=kyiv(last + timedelta(days=1), "19:00"), party_size=2,
                           channel="phone", guest=GuestDetails(name="Extra", phone="+380503009999"))

    response = manager_api.post("/api/v1/restaurants/bistro/reports/overbooking-cap/",
                                {"service": "dinner", "from": first.isoformat(), "to": last.isoformat()},
                                format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["previous_cap"], response.json()["new_cap"], response.json()["by"]) == (None, 2, "manager")
    policy = OverbookingPolicy.objects.get(restaurant=bistro)
    assert (policy.max_overbooked_covers, policy.channels) == (2, ["phone", "host"])
    change = OverbookingCapChange.objects.get(restaurant=bistro)
    assert change.by == staff["manager"] and change.history_from == first and "A cap of 2" in change.reasoning

    # The engine sees it at once (the restaurant as the next request loads it): the fifth party is booked.
    bistro.refresh_from_db()
    extra = reservation_create(restaurant=bistro, start=kyiv(last + timedelta(days=1), "19:00"), party_size=2,
                               channel="phone", guest=GuestDetails(name="Extra", phone="+380503009999"))
    assert extra.overbooked


def test_only_a_manager_applies_a_cap_and_never_without_enough_history(bistro, staff, tuesday, host_api,
                                                                         manager_api):
    first, last = five_dinners(bistro, tuesday)
    body = {"service": "dinner", "from": first.isoformat(), "to": last.isoformat()}

    refused = host_api.post("/api/v1/restaurants/bistro/reports/overbooking-cap/", body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "managers_only")
    with pytest.raises(ManagersOnly):
        overbooking_cap_apply(restaurant=bistro, service="dinner", date_from=first, date_to=last, by=staff["host"])

    three_days = manager_api.post("/api/v1/restaurants/bistro/reports/overbooking-cap/",
                                  {**body, "to": (first + timedelta(days=2)).isoformat()}, format="json")
    assert (three_days.status_code, three_days.json()["code"]) == (409, "not_enough_history")
    unknown = manager_api.post("/api/v1/restaurants/bistro/reports/overbooking-cap/", {**body, "service": "lunch"},
                               format="json")
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["service"])
    assert not OverbookingPolicy.objects.filter(restaurant=bistro).exists()
    assert not OverbookingCapChange.objects.exists()


def test_the_report_pages_button_applies_the_cap(bistro, staff, tuesday, client):

    first, last = five_dinners(bistro, tuesday)
    assert log_in(client, "manager")
    page = client.get(f"/recovery/bistro/report/?from={first}&to={last}")
    assert "Apply a cap of 2 to the policy" in page.content.decode()

    response = client.post("/recovery/bistro/report/apply-cap/",
                           {"service": "dinner", "from": first.isoformat(), "to": last.isoformat()}, follow=True)

    assert response.status_code == 200
    assert "The overbooking cap is now 2 covers (it was unset)." in response.content.decode()
    assert OverbookingPolicy.objects.get(restaurant=bistro).max_overbooked_covers == 2


@given(st.lists(st.integers(0, 30), min_size=4, max_size=60), st.integers(0, 99))
def test_the_cap_is_the_largest_that_was_too_many_in_at_most_the_accepted_share(history, risk_percent):
    """Judged by brute force: try every cap from 0 up, keep the largest too many in ≤ risk% of services."""
    def too_many_in(cap: int) -> int:
        return sum(1 for covers in history if covers < cap)

    brute = max(cap for cap in range(max(history) + 2) if too_many_in(cap) * 100 <= risk_percent * len(history))

    suggestion = cap_suggestion(history, risk_percent=risk_percent)

    assert suggestion["suggested_cap"] == brute
    assert suggestion["too_many_in"] == too_many_in(brute)
