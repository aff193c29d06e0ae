"""The promise, proved on a live multi-process server: "Two bookings can never hold the same table at
overlapping times, and overbooked covers can never exceed the policy without an override — however many
requests arrive at once, on however many processes."

Every volley below is fired at once at gunicorn (several worker processes × threads) with each booking's
decide→write gap widened to RACE_DELAY_MS. The control runs use the same volleys on a server that skips
the restaurant-day lock (and, once, a database without the exclusion constraint) and show that the same
checks then catch double-booked tables and a broken overbooking cap: the checks can fail.
"""

from __future__ import annotations

from datetime import date

import pytest

from reservations.models import Reservation, ReservationTable, Table
from reservations.services.booking import reservation_create
from tests.conftest import DEMO_PASSWORD, at, kyiv

from .conftest import (
    TABLES_FOR_TWO,
    assert_no_server_errors,
    booking_call,
    double_booked_tables,
    overlap_constraint_dropped,
    peak_overbooked_covers,
    run_concurrently,
    tally,
)

pytestmark = pytest.mark.postgres

SLOT = "20:00"
HELD = {"T3", "T4"}  # held for walk-ins on Fridays and Saturdays 19:00–22:00
OVERBOOKING_CAP = 4  # covers


def fill_tables(samna, day: date, count: int) -> set[str]:
    """Book `count` parties of 2 by phone at the slot through the real service; the tables they took."""
    from django.contrib.auth import get_user_model

    host = get_user_model().objects.get(username="host")
    taken: set[str] = set()
    for _ in range(count):
        reservation = reservation_create(
            restaurant=samna, start=kyiv(day, SLOT), party_size=2, channel="phone", by=host
        )
        assert not reservation.overbooked
        taken |= set(reservation.tables.values_list("name", flat=True))
    return taken


def active_tables_at_slot(samna) -> list[str]:
    return list(
        ReservationTable.objects.filter(
            reservation__restaurant=samna, released=False, reservation__status__in=Reservation.ACTIVE_STATUSES
        ).values_list("table__name", flat=True)
    )


def test_the_contract_tables_for_two_are_the_ones_counted(samna):
    seats_two = {t.name for t in Table.objects.filter(restaurant=samna, min_covers__lte=2, max_covers__gte=2)}
    assert seats_two == TABLES_FOR_TWO


# --- protected: the lock (and the constraint) hold the line ------------------------------------------


def test_simultaneous_online_bookings_get_each_table_once(guarded_server, samna, tuesday):
    calls = [booking_call(at(tuesday, SLOT), n) for n in range(40)]

    answers = run_concurrently(guarded_server, calls)

    assert_no_server_errors(answers, guarded_server)
    won = [a for a in answers if a.status == 201]
    assert len(won) == len(TABLES_FOR_TWO), tally(answers)
    assert all(a.status == 409 and a.code == "no_tables" for a in answers if a.status != 201), tally(answers)
    won_tables = [t for a in won for t in a.body["tables"]]
    assert sorted(won_tables) == sorted(TABLES_FOR_TWO)  # each table once; online never overbooks
    assert not any(a.body["overbooked"] for a in won)
    assert sorted(active_tables_at_slot(samna)) == sorted(TABLES_FOR_TWO)
    assert double_booked_tables() == []


def test_simultaneous_phone_bookings_never_overbook_past_the_cap(guarded_server, samna, tuesday):
    assert fill_tables(samna, tuesday, len(TABLES_FOR_TWO)) == TABLES_FOR_TWO
    token = guarded_server.token_for("host", DEMO_PASSWORD)
    calls = [booking_call(at(tuesday, SLOT), n, channel="phone", token=token) for n in range(30)]

    answers = run_concurrently(guarded_server, calls)

    assert_no_server_errors(answers, guarded_server)
    won = [a for a in answers if a.status == 201]
    assert len(won) == OVERBOOKING_CAP // 2, tally(answers)
    assert all(a.body["overbooked"] is True and a.body["tables"] == [] for a in won)
    refused = [a for a in answers if a.status != 201]
    assert all(a.status == 409 and a.code == "no_tables" for a in refused), tally(answers)
    assert all("overbooking_limit" in a.body["reasons"] for a in refused)
    assert peak_overbooked_covers(samna.pk) == OVERBOOKING_CAP
    assert double_booked_tables() == []


def test_overrides_racing_phone_bookings_on_a_full_held_slot(guarded_server, samna, saturday):
    # Every table for two that is not held is booked: what is left is the hold and the overbooking cap.
    assert fill_tables(samna, saturday, len(TABLES_FOR_TWO - HELD)) == TABLES_FOR_TWO - HELD
    host = guarded_server.token_for("host", DEMO_PASSWORD)
    manager = guarded_server.token_for("manager", DEMO_PASSWORD)
    overrides, ordinary = 8, 24
    calls = [
        booking_call(
            at(saturday, SLOT), n, channel="phone", token=manager, override="regular, birthday", tag="override"
        )
        if n % 4 == 0
        else booking_call(at(saturday, SLOT), n, channel="phone", token=host, tag="ordinary")
        for n in range(overrides + ordinary)
    ]

    answers = run_concurrently(guarded_server, calls)

    assert_no_server_errors(answers, guarded_server)
    assert [a.status for a in answers if a.tag == "override"] == [201] * overrides, tally(answers)
    ordinary_won = [a for a in answers if a.tag == "ordinary" and a.status == 201]
    assert len(ordinary_won) <= OVERBOOKING_CAP // 2, tally(answers)
    assert all(a.body["overbooked"] is True and a.body["override"] is None for a in ordinary_won)
    assert all(a.status == 409 and a.code == "no_tables" for a in answers if a.tag == "ordinary" and a.status != 201), (
        tally(answers)
    )

    # Each held table went once, and only to an override that bypassed the hold.
    held = ReservationTable.objects.filter(reservation__restaurant=samna, released=False, table__name__in=HELD)
    assert sorted(held.values_list("table__name", flat=True)) == sorted(HELD)
    assert set(held.values_list("reservation__override_bypassed", flat=True)) == {"hold_back"}
    assert double_booked_tables() == []

    # Overbooked covers never exceeded the cap without an override, at any moment, in the order the
    # bookings were made (ids are drawn under the lock, so id order is the order of decisions).
    assert peak_overbooked_covers(samna.pk, with_overrides=False) <= OVERBOOKING_CAP
    earlier_covers = 0
    for party, bypassed in (
        Reservation.objects.filter(restaurant=samna, overbooked=True, status__in=Reservation.ACTIVE_STATUSES)
        .order_by("pk")
        .values_list("party_size", "override_bypassed")
    ):
        if not bypassed:
            assert earlier_covers + party <= OVERBOOKING_CAP
        earlier_covers += party
    assert Reservation.objects.filter(restaurant=samna).count() == len(TABLES_FOR_TWO - HELD) + overrides + len(
        ordinary_won
    )


# --- control runs: without the lock, the same checks catch the bug ---------------------------------


def test_control_without_lock_or_constraint_tables_are_double_booked(unguarded_server, samna, tuesday):
    with overlap_constraint_dropped():
        answers = run_concurrently(unguarded_server, [booking_call(at(tuesday, SLOT), n) for n in range(40)])

        won = [a for a in answers if a.status == 201]
        assert len(won) > len(TABLES_FOR_TWO), tally(answers)
        assert len(double_booked_tables()) > 0


def test_control_without_lock_the_constraint_alone_keeps_tables_single(unguarded_server, samna, tuesday):
    answers = run_concurrently(unguarded_server, [booking_call(at(tuesday, SLOT), n) for n in range(40)])

    assert_no_server_errors(answers, unguarded_server)
    refused = [a for a in answers if a.status != 201]
    assert all(a.status == 409 and a.code in {"table_taken", "no_tables"} for a in refused), tally(answers)
    assert any(a.code == "table_taken" for a in refused), tally(answers)  # the race happened and was caught
    won = [a for a in answers if a.status == 201]
    assert 1 <= len(won) <= len(TABLES_FOR_TWO)
    assert sorted(t for a in won for t in a.body["tables"]) == sorted(active_tables_at_slot(samna))
    assert double_booked_tables() == []


def test_control_without_lock_overbooking_breaks_the_cap(unguarded_server, samna, tuesday):
    fill_tables(samna, tuesday, len(TABLES_FOR_TWO))
    token = unguarded_server.token_for("host", DEMO_PASSWORD)
    calls = [booking_call(at(tuesday, SLOT), n, channel="phone", token=token) for n in range(30)]

    answers = run_concurrently(unguarded_server, calls)

    assert len([a for a in answers if a.status == 201]) > OVERBOOKING_CAP // 2, tally(answers)
    assert peak_overbooked_covers(samna.pk) > OVERBOOKING_CAP
