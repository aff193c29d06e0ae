"""POST/GET reservations and the status lifecycle, end to end through the API against the real database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.errors import NoTables
from reservations.models import (
    Guest,
    Refusal,
    Reservation,
    ReservationTable,
)
from reservations.services.booking import reservation_create

from ..conftest import at, kyiv

KYIV = ZoneInfo("Europe/Kyiv")
RESERVATIONS = "/api/v1/restaurants/samna/reservations/"
OFFSET = re.compile(r"[+-]\d\d:\d\d$")
TWO_TOPS = {"T1", "T2", "T3", "T4", "T11", "T12"}
NOT_HELD_FOR_TWO = {"T1", "T2", "T11", "T12", "T5", "T6", "T7", "T8"}
CONTRACT_FIELDS = {"id", "restaurant", "status", "start", "end", "party_size", "tables", "channel", "overbooked",
                   "override", "guest", "expectations", "notes"}


def booking(day, hhmm: str, party_size: int = 2, channel: str = "online", n: int = 0, **extra) -> dict:
    return {"start": at(day, hhmm), "party_size": party_size, "channel": channel,
            "guest": {"name": f"Guest {n}", "phone": f"+38067123{n:04d}"}, **extra}


def post(client: APIClient, body, **headers):
    return client.post(RESERVATIONS, body, format="json", headers=headers or None)


def book(client: APIClient, day, hhmm: str, party_size: int = 2, channel: str = "online", n: int = 0,
         **extra) -> dict:
    response = post(client, booking(day, hhmm, party_size, channel, n, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def fill_tables_not_held(client: APIClient, day, hhmm: str) -> None:
    """Every table a party of two may take online at this time, booked through the API (T3/T4 held)."""
    taken = {t for n in range(len(NOT_HELD_FOR_TWO)) for t in book(client, day, hhmm, n=100 + n)["tables"]}
    assert taken == NOT_HELD_FOR_TWO


def act(client: APIClient, reservation_id: int, action: str, body=None):
    return client.post(f"/api/v1/reservations/{reservation_id}/{action}/", body, format="json")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- creating -------------------------------------------------------------------------------


def test_online_booking_returns_the_contracts_reservation(anon_api, samna, tuesday):
    response = post(anon_api, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "online",
        "guest": {"name": "Olena K.", "phone": "+380671234567"},
        "expectations": ["kids_menu", "window_seat"], "notes": "anniversary",
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert CONTRACT_FIELDS <= body.keys()
    assert isinstance(body["id"], int)
    assert body["restaurant"] == "samna"
    assert body["status"] == "booked"
    assert body["start"] == kyiv(tuesday, "20:00").isoformat()
    assert body["end"] == kyiv(tuesday, "21:30").isoformat()
    assert OFFSET.search(body["start"]) and OFFSET.search(body["end"])
    assert body["party_size"] == 2
    assert len(body["tables"]) == 1 and body["tables"][0] in TWO_TOPS  # best fit: a table for two
    assert body["channel"] == "online"
    assert body["overbooked"] is False
    assert body["override"] is None
    guest = Guest.objects.get()
    assert (guest.name, str(guest.phone), guest.group) == ("Olena K.", "+380671234567", samna.group)
    assert body["guest"] == {"name": "Olena K.", "phone": "+380671234567"}  # anonymous: only what it sent
    assert body["expectations"] == ["kids_menu", "window_seat"]
    assert body["notes"] == "anniversary"
    stored = Reservation.objects.get()
    assert stored.pk == body["id"]
    assert stored.start == kyiv(tuesday, "20:00")
    assert [a.table.name for a in stored.assignments.all()] == body["tables"]


@pytest.mark.parametrize(
    ("party_size", "minutes", "allowed_tables"),
    [
        (2, 90, [[t] for t in TWO_TOPS]),
        (4, 120, [["T5"], ["T6"], ["T7"], ["T8"]]),
        (8, 180, [["T9", "T10"]]),
    ],
)
def test_end_is_start_plus_turn_time_on_the_best_fitting_table(anon_api, samna, tuesday, party_size, minutes,
                                                                allowed_tables):
    body = book(anon_api, tuesday, "19:00", party_size)

    assert body["start"] == kyiv(tuesday, "19:00").isoformat()
    assert body["end"] == (kyiv(tuesday, "19:00") + timedelta(minutes=minutes)).isoformat()
    assert body["tables"] in allowed_tables
    assert body["party_size"] == party_size


def test_start_with_an_offset_is_converted_to_kyiv_time(anon_api, samna, tuesday):
    body = book(anon_api, tuesday, "20:00", start=f"{tuesday.isoformat()}T18:00:00+00:00")

    expected = datetime(tuesday.year, tuesday.month, tuesday.day, 18, 0, tzinfo=UTC).astimezone(KYIV)
    assert body["start"] == expected.isoformat()
    assert body["start"] != f"{tuesday.isoformat()}T18:00:00+00:00"
    assert Reservation.objects.get().start == expected


def test_phone_is_stored_in_e164_and_guests_are_one_per_phone(host_api, samna, tuesday):
    first = book(host_api, tuesday, "19:00", channel="phone",
                 guest={"name": "Olena K.", "phone": "+380 67 123 45 67"})
    second = book(host_api, tuesday, "13:00", channel="phone",
                  guest={"name": "Olena", "phone": "+380671234567"})

    assert first["guest"]["phone"] == "+380671234567"
    assert second["guest"]["id"] == first["guest"]["id"]
    assert Guest.objects.count() == 1
    assert str(Guest.objects.get().phone) == "+380671234567"


def test_full_slot_is_409_no_tables_with_nearest_alternatives_and_a_refusal(anon_api, samna, tuesday):
    book(anon_api, tuesday, "20:00", party_size=8, n=1)  # T9+T10, the only place for eight, until 23:00

    response = post(anon_api, booking(tuesday, "20:00", party_size=8, n=2))

    body = assert_error(response, 409, "no_tables")
    assert body["reasons"] == ["fully_booked"]
    # Eight need three hours on T9+T10: the nearest starts that end by 20:00.
    assert body["alternatives"] == [{"start": kyiv(tuesday, hhmm).isoformat()} for hhmm in ("17:00", "16:45", "16:30")]
    refusal = Refusal.objects.get()
    assert str(refusal.guest_phone) == "+380671230002"
    assert refusal.party_size == 8
    assert refusal.start == kyiv(tuesday, "20:00")
    assert refusal.reasons == ["fully_booked"]
    assert Reservation.objects.count() == 1


def test_online_never_takes_held_tables_nor_overbooks(anon_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "20:00")

    response = post(anon_api, booking(saturday, "20:00", n=1))

    body = assert_error(response, 409, "no_tables")
    assert body["reasons"] == ["fully_booked", "held_for_walk_ins"]
    assert 0 < len(body["alternatives"]) <= 3
    for alternative in body["alternatives"]:
        assert alternative["start"].startswith(saturday.isoformat())
        assert OFFSET.search(alternative["start"])
    assert not ReservationTable.objects.filter(table__name__in=["T3", "T4"]).exists()
    assert not Reservation.objects.filter(overbooked=True).exists()
    assert Reservation.objects.count() == len(NOT_HELD_FOR_TWO)


def test_phone_overbooks_within_the_policy_then_refuses(anon_api, host_api, samna, tuesday):
    for n in range(10):  # every table a party of two may sit at
        book(anon_api, tuesday, "20:00", n=n)

    first = post(host_api, booking(tuesday, "20:00", channel="phone", n=20))
    second = post(host_api, booking(tuesday, "20:00", channel="phone", n=21))
    third = post(host_api, booking(tuesday, "20:00", channel="phone", n=22))

    for response in (first, second):
        assert response.status_code == 201, response.content
        assert response.json()["overbooked"] is True
        assert response.json()["tables"] == []
        assert response.json()["override"] is None
    # Four overbooked covers is Samna's limit.
    body = assert_error(third, 409, "no_tables")
    assert "overbooking_limit" in body["reasons"]
    assert len(body["alternatives"]) <= 3
    nearest = {a["start"] for a in body["alternatives"][:2]}
    assert nearest == {kyiv(tuesday, "18:30").isoformat(), kyiv(tuesday, "21:30").isoformat()}
    assert Reservation.objects.filter(overbooked=True).count() == 2


def _exhaust_saturday_20(anon_api, host_api, saturday) -> None:
    """Saturday 20:00: every table not held is booked and the overbooking policy is used up by phone."""
    fill_tables_not_held(anon_api, saturday, "20:00")
    for n in (30, 31):
        assert post(host_api, booking(saturday, "20:00", channel="phone", n=n)).json()["overbooked"] is True
    refused = post(host_api, booking(saturday, "20:00", channel="phone", n=32))
    assert assert_error(refused, 409, "no_tables")["reasons"] == ["fully_booked", "held_for_walk_ins",
                                                                  "overbooking_limit"]


def test_manager_override_takes_a_held_table(anon_api, host_api, manager_api, samna, saturday):
    _exhaust_saturday_20(anon_api, host_api, saturday)
    before = timezone.now()

    response = post(manager_api, booking(saturday, "20:00", channel="phone", n=40,
                                         override={"reason": "first visit, came with his partner"}))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tables"] in (["T3"], ["T4"])
    assert body["overbooked"] is False
    override = body["override"]
    assert override["by"] == "manager"
    assert override["reason"] == "first visit, came with his partner"
    assert override["bypassed"] == "hold_back"
    assert OFFSET.search(override["at"])
    assert before - timedelta(seconds=5) <= datetime.fromisoformat(override["at"]) <= timezone.now()


def test_an_override_prefers_a_held_table_to_overbooking_within_the_policy(anon_api, manager_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "20:00")  # the policy still has room for 4 covers

    response = post(manager_api, booking(saturday, "20:00", channel="phone", n=41, override={"reason": "regular"}))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tables"] in (["T3"], ["T4"]) and body["overbooked"] is False
    assert body["override"]["bypassed"] == "hold_back"


def test_an_override_where_a_table_is_free_bypasses_nothing(manager_api, samna, saturday):
    response = post(manager_api, booking(saturday, "20:00", channel="phone", n=42, override={"reason": "regular"}))

    assert response.status_code == 201, response.content
    assert response.json()["override"] is None
    assert response.json()["tables"] not in (["T3"], ["T4"])


def test_manager_override_beyond_the_policy_once_no_held_table_is_left(anon_api, host_api, manager_api, admin_api,
                                                                        samna, saturday):
    _exhaust_saturday_20(anon_api, host_api, saturday)
    held = [post(manager_api, booking(saturday, "20:00", channel="phone", n=40 + n, override={"reason": "regular"}))
            for n in range(2)]
    assert sorted(r.json()["tables"][0] for r in held) == ["T3", "T4"]

    response = post(admin_api, booking(saturday, "20:00", channel="host", n=50, override={"reason": "the mayor"}))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["overbooked"] is True
    assert body["tables"] == []
    assert body["override"]["bypassed"] == "overbooking_limit"
    assert body["override"]["by"] == "admin"
    assert body["override"]["reason"] == "the mayor"


def test_a_walk_in_booked_for_later_gets_no_held_table(anon_api, host_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "20:00")

    response = post(host_api, booking(saturday, "20:00", channel="walk_in", n=43))

    assert response.status_code == 201, response.content
    assert response.json()["tables"] == [] and response.json()["overbooked"] is True


def test_public_requests_are_rate_limited_with_a_json_429(anon_api, samna, saturday, monkeypatch):
    from reservations.api.views import PublicThrottle

    monkeypatch.setattr(PublicThrottle, "THROTTLE_RATES", {"public": "3/min"})
    url = f"/api/v1/restaurants/samna/availability/?date={saturday.isoformat()}&party_size=2"
    answers = [anon_api.get(url) for _ in range(4)]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_error(answers[3], 429, "too_many_requests")
    assert int(answers[3]["Retry-After"]) > 0


def test_override_from_a_host_is_403_and_books_nothing(host_api, samna, saturday):
    response = post(host_api, booking(saturday, "20:00", channel="phone", override={"reason": "friend"}))

    assert_error(response, 403, "override_forbidden")
    assert not Reservation.objects.exists()


def test_override_from_an_anonymous_client_is_401(anon_api, samna, saturday):
    for channel in ("online", "phone"):
        response = post(anon_api, booking(saturday, "20:00", channel=channel, override={"reason": "please"}))
        assert response.status_code == 401, response.content
        assert response.json()["code"] and response.json()["detail"]
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("channel", ["phone", "host", "walk_in"])
def test_staff_channels_need_a_token(anon_api, diner_api, samna, tuesday, channel):
    anonymous = post(anon_api, booking(tuesday, "20:00", channel=channel))
    not_staff = post(diner_api, booking(tuesday, "20:00", channel=channel))

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] and anonymous.json()["detail"]
    assert not_staff.status_code == 403
    assert not Reservation.objects.exists()


# --- reading ----------------------------------------------------------------------------------


def test_the_days_book_is_for_staff_only(anon_api, diner_api, host_api, samna, tuesday):
    late = book(anon_api, tuesday, "21:00", n=1)
    early = book(host_api, tuesday, "12:30", channel="phone", n=2)
    book(anon_api, tuesday + timedelta(days=1), "20:00", n=3)  # another day

    staff = host_api.get(RESERVATIONS, {"date": tuesday.isoformat()})
    anonymous = anon_api.get(RESERVATIONS, {"date": tuesday.isoformat()})
    not_staff = diner_api.get(RESERVATIONS, {"date": tuesday.isoformat()})

    assert staff.status_code == 200
    assert [r["id"] for r in staff.json()] == [early["id"], late["id"]]
    assert staff.json()[0] == early
    assert anonymous.status_code == 401
    assert anonymous.json()["code"]
    assert not_staff.status_code == 403


def test_one_reservation_by_id(anon_api, host_api, samna, tuesday):
    created = book(anon_api, tuesday, "20:00", expectations=["high_chair"], notes="stroller")

    response = host_api.get(f"/api/v1/reservations/{created['id']}/")
    anonymous = anon_api.get(f"/api/v1/reservations/{created['id']}/")

    assert response.status_code == 200
    staff_view = response.json()
    assert {**staff_view, "guest": None} == {**created, "guest": None}
    # Staff see the stored profile; the anonymous booker saw only what it sent.
    assert staff_view["guest"] == {**created["guest"], "id": staff_view["guest"]["id"], "first_visit": True,
                                   "phone_verified": False}  # an anonymous booking: nobody proved the phone
    assert anonymous.status_code == 401


# --- the lifecycle ----------------------------------------------------------------------------


def test_the_whole_lifecycle(host_api, samna, tuesday):
    reservation = book(host_api, tuesday, "20:00", channel="phone")
    table = reservation["tables"]

    statuses = []
    for action in ("confirm", "arrive", "seat", "complete"):
        response = act(host_api, reservation["id"], action)
        assert response.status_code == 200, response.content
        statuses.append(response.json()["status"])
        if action == "seat":
            assert response.json()["tables"] == table

    assert statuses == ["confirmed", "arrived", "seated", "completed"]
    assert Reservation.objects.get(pk=reservation["id"]).status == "completed"
    # A completed visit: the guest is no longer a first-timer.
    assert host_api.get(f"/api/v1/reservations/{reservation['id']}/").json()["guest"]["first_visit"] is False


def test_seat_on_chosen_tables_and_never_on_a_taken_one(host_api, samna, tuesday):
    first = book(host_api, tuesday, "20:00", channel="phone", n=1)
    second = book(host_api, tuesday, "20:00", channel="phone", n=2)
    assert first["tables"] != second["tables"]

    moved = act(host_api, first["id"], "seat", {"tables": ["T12"]})
    clash = act(host_api, second["id"], "seat", {"tables": ["T12"]})

    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "seated"
    assert moved.json()["tables"] == ["T12"]
    assert_error(clash, 409, "table_taken")
    assert Reservation.objects.get(pk=second["id"]).status == "booked"
    # The first party's old table is free again: a new party of two gets it.
    third = book(host_api, tuesday, "20:00", channel="phone", n=3)
    assert third["tables"] == first["tables"]


def test_cancel_frees_the_table_at_once(anon_api, host_api, samna, tuesday):
    first = book(anon_api, tuesday, "20:00", party_size=8, n=1)
    assert_error(post(anon_api, booking(tuesday, "20:00", party_size=8, n=2)), 409, "no_tables")

    cancelled = act(host_api, first["id"], "cancel")
    again = post(anon_api, booking(tuesday, "20:00", party_size=8, n=3))

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 201, again.content
    assert sorted(again.json()["tables"]) == ["T10", "T9"]


def test_no_show_frees_the_table_at_once(host_api, samna):
    day = timezone.localdate() - timedelta(days=1)
    start = kyiv(day, "20:00")
    earlier = start - timedelta(hours=3)
    missed = reservation_create(restaurant=samna, start=start, party_size=8, channel="phone", now=earlier)
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=start, party_size=8, channel="phone", now=earlier)

    response = act(host_api, missed.pk, "no-show")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "no_show"
    assert not ReservationTable.objects.filter(reservation=missed, released=False).exists()
    rebooked = reservation_create(restaurant=samna, start=start, party_size=8, channel="phone", now=earlier)
    assert sorted(t.name for t in rebooked.tables.all()) == ["T10", "T9"]


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "complete"),
        (["seat", "complete"], "cancel"),
        (["cancel"], "confirm"),
        (["cancel"], "cancel"),
        (["seat"], "arrive"),
        (["confirm"], "confirm"),
        (["seat", "complete"], "seat"),
    ],
)
def test_invalid_transitions_are_409(host_api, samna, tuesday, steps, action):
    reservation = book(host_api, tuesday, "20:00", channel="phone")
    for step in steps:
        assert act(host_api, reservation["id"], step).status_code == 200
    status_before = Reservation.objects.get(pk=reservation["id"]).status

    response = act(host_api, reservation["id"], action)

    assert_error(response, 409, "invalid_transition")
    assert Reservation.objects.get(pk=reservation["id"]).status == status_before


def test_no_show_before_the_start_is_409(host_api, samna, tuesday):
    reservation = book(host_api, tuesday, "20:00", channel="phone")

    response = act(host_api, reservation["id"], "no-show")

    assert response.status_code == 409
    assert response.json()["code"] and response.json()["detail"]
    assert Reservation.objects.get(pk=reservation["id"]).status == "booked"


def test_unknown_action_is_404(host_api, samna, tuesday):
    reservation = book(host_api, tuesday, "20:00", channel="phone")

    response = act(host_api, reservation["id"], "teleport")

    assert_error(response, 404, "not_found")
    assert Reservation.objects.get(pk=reservation["id"]).status == "booked"


def test_actions_are_for_staff_only(anon_api, diner_api, samna, tuesday):
    reservation = book(anon_api, tuesday, "20:00")

    assert act(anon_api, reservation["id"], "cancel").status_code == 401
    assert act(diner_api, reservation["id"], "cancel").status_code == 403
    assert Reservation.objects.get(pk=reservation["id"]).status == "booked"


# --- Idempotency-Key -----------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_answer(anon_api, samna, tuesday):
    body = booking(tuesday, "20:00")

    first = post(anon_api, body, **{"Idempotency-Key": "order-1"})
    again = post(anon_api, body, **{"Idempotency-Key": "order-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Reservation.objects.count() == 1


def test_same_key_with_another_body_is_422(host_api, samna, tuesday):
    # A caller with a token: an anonymous caller's key is scoped by its body (tests/reservations/test_public_path.py).
    first = post(host_api, booking(tuesday, "20:00", channel="phone"), **{"Idempotency-Key": "order-2"})

    other = post(host_api, booking(tuesday, "20:15", channel="phone"), **{"Idempotency-Key": "order-2"})

    assert first.status_code == 201
    assert_error(other, 422, "idempotency_key_reused")
    assert Reservation.objects.count() == 1


def test_a_no_tables_answer_is_replayed_without_a_second_refusal(anon_api, samna, tuesday):
    book(anon_api, tuesday, "20:00", party_size=8, n=1)
    body = booking(tuesday, "20:00", party_size=8, n=2)

    first = post(anon_api, body, **{"Idempotency-Key": "order-3"})
    again = post(anon_api, body, **{"Idempotency-Key": "order-3"})

    assert_error(first, 409, "no_tables")
    assert again.status_code == 409
    assert again.json() == first.json()
    assert Refusal.objects.count() == 1
    assert Reservation.objects.count() == 1


# A repeat while the first is in flight: raced with two real requests in
# tests/concurrency/test_idempotency_and_lock.py (PostgreSQL).


@pytest.mark.parametrize("party_size", [2, 8])  # 8: only T9+T10 together, a combination's names in table order
def test_a_public_booking_is_answered_as_written_exactly_as_a_read_of_it_would_say(anon_api, samna, tuesday,
                                                                                    party_size):
    """The public 201 is rendered from the booking the service wrote, not read back: it must say exactly what the
    booking read from the database says (with only the guest details the caller sent)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reservations import selectors
    from reservations.api import serializers as s
    from reservations.services.guests import GuestDetails

    body = booking(tuesday, "20:00", party_size, n=7, expectations=["high_chair"], notes="by the window")
    with CaptureQueriesContext(connection) as queries:
        response = post(anon_api, body)
    assert response.status_code == 201, response.content

    stored = selectors.reservation_get(response.json()["id"])
    read = s.ReservationOutput(stored).data
    read["guest"] = s.guest_echo(GuestDetails(name="Guest 7", phone="+380671230007"))
    assert response.json() == read
    assert len(response.json()["tables"]) == (1 if party_size == 2 else 2)
    inserted = next(i for i, q in enumerate(queries) if q["sql"].startswith('INSERT INTO "reservations_reservation"'))
    read_back = [q["sql"] for q in queries[inserted:] if q["sql"].startswith("SELECT")
                 and 'FROM "reservations_reservation"' in q["sql"]]
    assert read_back == [], "the new booking is answered without reading it back"
