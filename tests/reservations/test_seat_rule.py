"""The seat rule: every path that puts a party on a table asks the engine, and holds stay the managers' call.

`POST /reservations/{id}/seat/` with tables must respect holds (a manager's override, recorded) and free
tables; seating without tables never silently takes a held table; a waitlisted party is seated only where
the engine allows (never after the last seating); a walk-in booked for later is offered only starts it can
book.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.errors import NoTables, OutsideServiceHours, TableTaken
from reservations.models import Reservation, WaitlistEntry
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.walk_ins import waitlist_positions, waitlist_seat, walk_in_arrive
from tests.conftest import kyiv
from tests.factories import small_restaurant

from .test_api_reservations import act, assert_error, book, fill_tables_not_held, post
from .test_api_reservations import booking as booking_body

HELD = {"T3", "T4"}


def tables_of(reservation_id: int) -> list[str]:
    reservation = Reservation.objects.get(pk=reservation_id)
    return sorted(a.table.name for a in reservation.assignments.select_related("table").filter(released=False))


# --- seat with tables, weeks ahead ---------------------------------------------------------------


def test_a_host_cannot_move_a_booking_onto_a_held_table(host_api, samna, saturday):
    reservation = book(host_api, saturday, "20:00", channel="phone")

    response = act(host_api, reservation["id"], "seat", {"tables": ["T3"]})

    assert_error(response, 409, "held_for_walk_ins")
    assert "T3" in response.json()["detail"]
    after = Reservation.objects.get(pk=reservation["id"])
    assert after.status == "booked" and after.override_bypassed == ""
    assert tables_of(reservation["id"]) == reservation["tables"]


def test_a_hosts_override_on_seat_is_403(host_api, samna, saturday):
    reservation = book(host_api, saturday, "20:00", channel="phone")

    response = act(host_api, reservation["id"], "seat", {"tables": ["T3"], "override": {"reason": "a friend"}})

    assert_error(response, 403, "override_forbidden")
    assert Reservation.objects.get(pk=reservation["id"]).status == "booked"
    assert tables_of(reservation["id"]) == reservation["tables"]


def test_a_managers_override_seats_on_a_held_table_and_is_recorded_like_a_bookings(manager_api, samna, saturday):
    reservation = book(manager_api, saturday, "20:00", channel="phone")
    before = timezone.now()

    response = act(manager_api, reservation["id"], "seat",
                   {"tables": ["T3"], "override": {"reason": "regulars, asked for the window"}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "seated"
    assert body["tables"] == ["T3"]
    assert body["override"]["by"] == "manager"
    assert body["override"]["reason"] == "regulars, asked for the window"
    assert body["override"]["bypassed"] == "hold_back"
    stored = Reservation.objects.get(pk=reservation["id"])
    assert stored.override_by.username == "manager" and stored.override_at >= before
    assert stored.override_bypassed == "hold_back"


def test_an_override_that_bypasses_nothing_is_not_recorded(manager_api, samna, saturday):
    reservation = book(manager_api, saturday, "20:00", channel="phone")

    response = act(manager_api, reservation["id"], "seat", {"tables": ["T12"], "override": {"reason": "why not"}})

    assert response.status_code == 200, response.content
    assert response.json()["tables"] == ["T12"] and response.json()["override"] is None


def test_even_a_managers_override_never_seats_on_a_taken_table(manager_api, samna, saturday):
    first = book(manager_api, saturday, "20:00", channel="phone", n=1)
    assert act(manager_api, first["id"], "seat", {"tables": ["T3"], "override": {"reason": "vip"}}).status_code == 200
    second = book(manager_api, saturday, "20:00", channel="phone", n=2)

    response = act(manager_api, second["id"], "seat", {"tables": ["T3"], "override": {"reason": "vip too"}})

    assert_error(response, 409, "table_taken")
    assert Reservation.objects.get(pk=second["id"]).status == "booked"
    assert Reservation.objects.get(pk=second["id"]).override_bypassed == ""


def test_on_the_evening_a_held_table_released_to_the_book_needs_no_override(samna, saturday, staff):
    reservation = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                                     now=kyiv(saturday, "12:00"))

    # 19:30 is inside the hour before the 20:00 booking: T3, still free, is back in the book.
    seated = reservation_transition(reservation=reservation, action="seat", by=staff["host"], table_names=["T3"],
                                    now=kyiv(saturday, "19:30"))

    assert seated.status == "seated" and seated.override_bypassed == ""
    assert tables_of(seated.pk) == ["T3"]


# --- seat without tables: an overbooked party ------------------------------------------------------


def test_an_overbooked_party_is_never_seated_on_a_held_table_without_an_override(
    anon_api, host_api, manager_api, samna, saturday
):
    fill_tables_not_held(anon_api, saturday, "20:00")
    overbooked = book(host_api, saturday, "20:00", channel="phone", n=60)
    assert overbooked["overbooked"] is True

    by_host = act(host_api, overbooked["id"], "seat")

    assert_error(by_host, 409, "no_free_table")
    assert "held" in by_host.json()["detail"]
    assert Reservation.objects.get(pk=overbooked["id"]).overbooked is True

    by_manager = act(manager_api, overbooked["id"], "seat", {"override": {"reason": "birthday, waited long"}})

    assert by_manager.status_code == 200, by_manager.content
    assert by_manager.json()["tables"][0] in HELD
    assert by_manager.json()["overbooked"] is False
    assert by_manager.json()["override"]["bypassed"] == "hold_back"


# --- a walk-in booked for later ------------------------------------------------------------------


def test_a_walk_in_refused_for_later_is_offered_only_starts_it_can_book(host_api, anon_api, samna, saturday):
    fill_tables_not_held(anon_api, saturday, "20:00")
    for n in range(2):  # two overbooked parties of two: the cap of four covers is reached
        assert book(host_api, saturday, "20:00", channel="phone", n=70 + n)["overbooked"] is True

    refused = post(host_api, booking_body(saturday, "20:00", channel="walk_in", n=80))

    body = assert_error(refused, 409, "no_tables")
    offered = [a["start"][11:16] for a in body["alternatives"]]
    assert offered
    for n, hhmm in enumerate(offered):
        again = post(host_api, booking_body(saturday, hhmm, channel="walk_in", n=90 + n))
        assert again.status_code == 201, (hhmm, again.content)


# --- the waitlist --------------------------------------------------------------------------------


def test_a_waitlisted_party_seated_on_chosen_tables_after_the_last_seating_is_a_clear_409(db, tuesday):
    bistro = small_restaurant(tables=2)
    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "21:00")).status == "seated"
    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "21:00")).status == "seated"
    waiting = walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "21:00")).entry
    Reservation.objects.filter(restaurant=bistro).update(status="completed")  # both tables free again

    with pytest.raises(OutsideServiceHours):
        waitlist_seat(entry=waiting, table_names=["S1"], now=kyiv(tuesday, "22:30"))  # last seating 22:00

    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.WAITING
    assert Reservation.objects.filter(restaurant=bistro, status="seated").count() == 0


def test_a_waitlisted_party_may_be_seated_on_a_held_table_and_never_on_a_taken_one(samna, saturday):
    taken = reservation_create(restaurant=samna, start=kyiv(saturday, "19:30"), party_size=2, channel="phone")
    taken_table = tables_of(taken.pk)[0]
    entry = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                         created_at=kyiv(saturday, "19:30"))

    with pytest.raises(TableTaken):
        waitlist_seat(entry=entry, table_names=[taken_table], now=kyiv(saturday, "19:40"))
    seated = waitlist_seat(entry=entry, table_names=["T3"], now=kyiv(saturday, "19:40"))

    assert tables_of(seated.pk) == ["T3"] and seated.override_bypassed == ""


def test_the_position_a_walk_in_is_told_is_its_place_in_the_line(db, tuesday):
    bistro = small_restaurant(tables=1)
    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "19:30")).status == "seated"
    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "19:30")).status == "waitlisted"

    # Two arrive at once: the one whose clock read 19:41 reaches the lock first, the 19:40 one after it.
    first = walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "19:41"))
    second = walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(tuesday, "19:40"))

    line = {entry.pk: position for entry, position in waitlist_positions(bistro, now=kyiv(tuesday, "19:45"))}
    assert (first.position, second.position) == (2, 3)
    assert line[first.entry.pk] == first.position
    assert line[second.entry.pk] == second.position


# --- one transaction owner, one lock call ----------------------------------------------------------


def test_seating_from_the_waitlist_takes_the_day_lock_once(samna, saturday):
    entry = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                         created_at=kyiv(saturday, "19:30"))

    with CaptureQueriesContext(transaction.get_connection()) as queries:
        waitlist_seat(entry=entry, now=kyiv(saturday, "19:40"))

    # On PostgreSQL the lock is one compound statement (SET LOCAL lock_timeout; INSERT …; SELECT … FOR UPDATE),
    # on SQLite an INSERT OR IGNORE of the day's rows.
    lock_calls = [q for q in queries.captured_queries
                  if "INSERT" in q["sql"] and '"reservations_bookday"' in q["sql"]]
    assert len(lock_calls) == 1


@pytest.mark.parametrize("service", ["reservation_create", "walk_in_arrive"])
def test_a_service_owns_its_transaction_and_refuses_to_run_inside_anothers(samna, tuesday, service):
    with pytest.raises(RuntimeError), transaction.atomic():
        if service == "reservation_create":
            reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="host")
        else:
            walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(tuesday, "20:00"))

    assert not Reservation.objects.exists()


def test_a_party_too_large_at_the_door_is_turned_away_without_a_profile(samna, tuesday):
    from reservations.models import Guest
    from reservations.services.guests import GuestDetails

    with pytest.raises(NoTables):
        walk_in_arrive(restaurant=samna, party_size=12, guest=GuestDetails(name="Big", phone="+380671110009"),
                       now=kyiv(tuesday, "19:00"))

    assert not Guest.objects.exists()


# --- the contract's schema -----------------------------------------------------------------------


def test_the_schema_describes_the_seat_override(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    seat = schema["components"]["schemas"]["SeatInputRequest"]["properties"]

    assert "override" in seat and "tables" in seat
