"""GET /api/v1/restaurants/{slug}/availability/ end to end: shape, auth, reason codes and bad input."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.errors import NotFound
from reservations.models import Closure, ServiceHours

from ..conftest import at, kyiv

AVAILABILITY = "/api/v1/restaurants/samna/availability/"
RESERVATIONS = "/api/v1/restaurants/samna/reservations/"
OFFSET = re.compile(r"[+-]\d\d:\d\d$")
# Samna seats 12:00 to 22:00 every 15 minutes: 41 slots.
SAMNA_SLOTS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(12 * 60, 22 * 60 + 1, 15)]
# What a party of two may sit at on Samna's book, held tables (T3, T4) aside.
NOT_HELD_FOR_TWO = {"T1", "T2", "T11", "T12", "T5", "T6", "T7", "T8"}


def availability(client: APIClient, day, party_size=2, **params):
    query = {"date": day.isoformat(), "party_size": party_size, **params}
    return client.get(AVAILABILITY, query)


def slots_by_time(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {slot["time"]: slot for slot in response.json()["slots"]}


def book_online(client: APIClient, day, hhmm: str, n: int, party_size: int = 2) -> dict:
    response = client.post(RESERVATIONS, {
        "start": at(day, hhmm), "party_size": party_size, "channel": "online",
        "guest": {"name": f"Guest {n}", "phone": f"+38067123{n:04d}"},
    }, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def fill_tables_not_held(client: APIClient, day, hhmm: str) -> None:
    """Book every table a party of two may take online at this time, through the API."""
    taken = {table for n in range(len(NOT_HELD_FOR_TWO)) for table in book_online(client, day, hhmm, n)["tables"]}
    assert taken == NOT_HELD_FOR_TWO


def test_shape_is_the_contracts_one_entry_per_slot(anon_api, samna, tuesday):
    response = availability(anon_api, tuesday)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["date"] == tuesday.isoformat()
    assert body["party_size"] == 2
    assert [slot["time"] for slot in body["slots"]] == SAMNA_SLOTS
    assert len(body["slots"]) == 41
    for slot in body["slots"]:
        assert {"time", "available", "overbook", "reason", "reasons"} <= slot.keys()
        assert slot == {**slot, "available": True, "overbook": False, "reason": None, "reasons": []}


def test_slot_start_carries_the_kyiv_offset(anon_api, samna, tuesday):
    slots = slots_by_time(availability(anon_api, tuesday))

    expected = kyiv(tuesday, "20:00").isoformat()
    assert slots["20:00"]["start"] == expected
    assert OFFSET.search(slots["20:00"]["start"])
    if tuesday.month in (11, 12, 1, 2):  # winter time in Kyiv: the contract's own example
        assert expected.endswith("+02:00")
    for hhmm, slot in slots.items():
        assert slot["start"] == kyiv(tuesday, hhmm).isoformat()


def test_online_is_public_and_the_default_channel(anon_api, samna, tuesday):
    default = availability(anon_api, tuesday)
    online = availability(anon_api, tuesday, channel="online")

    assert default.status_code == online.status_code == 200
    assert default.json()["slots"] == online.json()["slots"]


@pytest.mark.parametrize("channel", ["phone", "host", "walk_in"])
def test_other_channels_need_a_staff_token(anon_api, diner_api, host_api, samna, tuesday, channel):
    anonymous = availability(anon_api, tuesday, channel=channel)
    not_staff = availability(diner_api, tuesday, channel=channel)
    staff = availability(host_api, tuesday, channel=channel)

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] and anonymous.json()["detail"]
    assert not_staff.status_code == 403
    assert not_staff.json()["code"] and not_staff.json()["detail"]
    assert staff.status_code == 200
    assert len(staff.json()["slots"]) == 41


def test_held_for_walk_ins_once_saturdays_other_tables_are_taken(anon_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "19:00")

    slots = slots_by_time(availability(anon_api, saturday, channel="online"))

    # The bookings run 19:00–20:30: every start whose 90 minutes meet them finds only T3/T4, held.
    for hhmm in ("19:00", "19:30", "20:15"):
        assert slots[hhmm]["available"] is False
        assert slots[hhmm]["overbook"] is False
        assert slots[hhmm]["reason"] == "fully_booked"
        assert slots[hhmm]["reasons"] == ["fully_booked", "held_for_walk_ins"]
    assert slots["20:30"]["available"] is True
    assert slots["17:30"]["available"] is True


def test_no_hold_on_a_tuesday_lets_online_bookings_take_t3_and_t4(anon_api, samna, tuesday):
    taken = {table for n in range(8) for table in book_online(anon_api, tuesday, "19:00", n)["tables"]}

    slots = slots_by_time(availability(anon_api, tuesday))

    assert {"T3", "T4"} <= taken
    assert slots["19:00"]["available"] is True  # two 2–4 tables are still free
    assert slots["19:00"]["reasons"] == []


def test_phone_may_overbook_once_tables_are_full(anon_api, host_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "19:00")

    phone = slots_by_time(availability(host_api, saturday, channel="phone"))
    online = slots_by_time(availability(anon_api, saturday, channel="online"))

    assert phone["19:00"] == {**phone["19:00"], "available": True, "overbook": True, "reason": None}
    assert online["19:00"]["overbook"] is False
    assert online["19:00"]["available"] is False
    # Before the bookings' time a real table is free: no overbooking needed.
    assert phone["17:30"]["overbook"] is False
    assert phone["17:30"]["available"] is True


def test_every_table_taken_on_a_tuesday_is_fully_booked_online_and_overbook_by_phone(
    anon_api, host_api, samna, tuesday
):
    for n in range(10):  # T1–T8, T11, T12: every table a party of two may sit at
        book_online(anon_api, tuesday, "20:00", n)

    online = slots_by_time(availability(anon_api, tuesday))
    phone = slots_by_time(availability(host_api, tuesday, channel="phone"))

    assert online["20:00"]["reason"] == "fully_booked"
    assert online["20:00"]["reasons"] == ["fully_booked"]
    assert online["20:00"]["available"] is False
    assert phone["20:00"]["available"] is True
    assert phone["20:00"]["overbook"] is True


def test_party_of_eleven_is_too_large_for_every_slot(anon_api, samna, tuesday):
    too_large = availability(anon_api, tuesday, party_size=11)
    largest = availability(anon_api, tuesday, party_size=10)

    for slot in too_large.json()["slots"]:
        assert slot["available"] is False
        assert slot["reason"] == "party_too_large"
        assert "party_too_large" in slot["reasons"]
    assert len(too_large.json()["slots"]) == 41
    assert all(slot["available"] for slot in largest.json()["slots"])


def test_a_past_date_is_in_the_past(anon_api, samna):
    yesterday = timezone.localdate() - timedelta(days=1)

    body = availability(anon_api, yesterday).json()

    assert len(body["slots"]) == 41
    for slot in body["slots"]:
        assert slot["available"] is False
        assert slot["reason"] == "in_the_past"


def test_a_closure_closes_the_day(anon_api, samna, saturday):
    Closure.objects.create(restaurant=samna, date=saturday, reason="private event")

    closed = availability(anon_api, saturday).json()
    day_after = availability(anon_api, saturday + timedelta(days=1)).json()

    assert len(closed["slots"]) == 41
    for slot in closed["slots"]:
        assert slot["available"] is False
        assert slot["reason"] == "closed"
    assert all(slot["available"] for slot in day_after["slots"])


def test_beyond_the_180_day_horizon_is_closed(anon_api, samna):
    today = timezone.localdate()

    beyond = availability(anon_api, today + timedelta(days=181)).json()
    within = availability(anon_api, today + timedelta(days=178)).json()

    assert beyond["slots"]
    assert all(slot["reason"] == "closed" and not slot["available"] for slot in beyond["slots"])
    assert all(slot["available"] for slot in within["slots"])


def test_the_gap_between_lunch_and_dinner_is_outside_service_hours(anon_api, samna, tuesday):
    lunch = ServiceHours.objects.get(restaurant=samna, weekday=tuesday.weekday())
    lunch.name, lunch.last_seating, lunch.closes = "lunch", time(14), time(15)
    lunch.save()
    ServiceHours.objects.create(restaurant=samna, weekday=tuesday.weekday(), name="dinner", opens=time(18),
                                last_seating=time(22), closes=time(23))

    slots = slots_by_time(availability(anon_api, tuesday))

    assert list(slots) == SAMNA_SLOTS
    gap = [hhmm for hhmm, slot in slots.items() if slot["reason"] == "outside_service_hours"]
    assert gap == [hhmm for hhmm in SAMNA_SLOTS if "14:15" <= hhmm <= "17:45"]
    assert all(slots[hhmm]["available"] is False for hhmm in gap)
    assert slots["14:00"]["available"] is True
    assert slots["18:00"]["available"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"party_size": "2"}, "date"),
        ({"date": "2026-13-45", "party_size": "2"}, "date"),
        ({"date": "tomorrow", "party_size": "2"}, "date"),
        ({"date": "{day}"}, "party_size"),
        ({"date": "{day}", "party_size": "0"}, "party_size"),
        ({"date": "{day}", "party_size": "1000"}, "party_size"),
        ({"date": "{day}", "party_size": "abc"}, "party_size"),
        ({"date": "{day}", "party_size": "2", "channel": "fax"}, "channel"),
    ],
)
def test_bad_queries_are_400_naming_the_field(anon_api, samna, tuesday, query, field):
    params = {key: value.format(day=tuesday.isoformat()) for key, value in query.items()}

    response = anon_api.get(AVAILABILITY, params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"]
    assert field in body["fields"]


def test_unknown_restaurant_is_404_json(anon_api, samna, tuesday):
    response = anon_api.get("/api/v1/restaurants/no-such-place/availability/",
                            {"date": tuesday.isoformat(), "party_size": 2})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"]


def test_a_booking_shows_at_once_in_availability(anon_api, samna, tuesday):
    # Party of eight: only T9+T10 seats them, so one booking takes the slot and its neighbours.
    book_online(anon_api, tuesday, "20:00", 1, party_size=8)

    slots = slots_by_time(availability(anon_api, tuesday, party_size=8))

    assert slots["20:00"]["reason"] == "fully_booked"
    assert slots["17:15"]["available"] is False  # 17:15 + 3 h runs into 20:00
    assert slots["17:00"]["available"] is True


def test_walk_in_availability_for_later_shows_the_hold_as_a_booking_would_meet_it(anon_api, host_api, samna, saturday):
    # A walk-in booked for later is a host's booking: the held tables are not its to take, so with every
    # other table for two taken the slot offers only an overbooking, exactly as booking it then answers.
    fill_tables_not_held(anon_api, saturday, "20:00")

    slot = slots_by_time(availability(host_api, saturday, channel="walk_in"))["20:00"]
    booked = host_api.post(RESERVATIONS, {"start": at(saturday, "20:00"), "party_size": 2, "channel": "walk_in"},
                           format="json")

    assert booked.status_code == 201, booked.json()
    assert (booked.json()["overbooked"], booked.json()["tables"]) == (True, [])
    assert (slot["available"], slot["overbook"]) == (True, True)


def test_the_restaurant_read_without_its_group_is_the_same_restaurant(samna):
    from django.forms.models import model_to_dict

    from reservations import access

    plain, joined = access.restaurant_public("samna", with_group=False), access.restaurant_public("samna")

    assert model_to_dict(plain) == model_to_dict(joined)
    assert (plain.pk, plain.config_token, plain.tz, plain.first_visit_gesture) == (
        joined.pk, joined.config_token, joined.tz, joined.first_visit_gesture)
    assert plain.group == joined.group  # read when asked for
    with pytest.raises(NotFound):
        access.restaurant_public("nowhere", with_group=False)
