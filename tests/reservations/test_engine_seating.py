"""`engine.decide_seating` on plain data: hard checks (free tables, seating hours) before the hold rule."""

from __future__ import annotations

from datetime import timedelta

from reservations.engine import (
    FULLY_BOOKED,
    HELD_FOR_WALK_INS,
    HOLD_BACK,
    OUTSIDE_SERVICE_HOURS,
    PARTY_TOO_LARGE,
    TABLE_TAKEN,
    booking_channel,
    decide_seating,
    plan_day,
    seating_of,
    start_problems,
)

from .test_engine import FITS_TWO, HELD, NOW, SAMNA, SAT, WED, at, booked, occupy

T3 = seating_of([(3, "T3", 1, 2)])
T5 = seating_of([(5, "T5", 2, 4)])


def seat(plan, start, end=None, *, tables=None, now=NOW, **kw):
    return decide_seating(plan, party_size=2, start=start, end=end, now=now, tables=tables, **kw)


def test_a_held_table_needs_an_override_and_the_override_is_what_it_bypasses():
    plan = plan_day(SAMNA, SAT, ())
    start, end = at(SAT, 20), at(SAT, 21, 30)

    plain = seat(plan, start, end, tables=T3)
    forced = seat(plan, start, end, tables=T3, override=True)
    free = seat(plan, start, end, tables=T5, override=True)

    assert not plain.available and plain.reasons == (HELD_FOR_WALK_INS,)
    assert forced.available and forced.bypassed == HOLD_BACK and forced.seating == T3
    assert free.available and free.bypassed is None


def test_no_override_makes_a_taken_table_free():
    plan = plan_day(SAMNA, SAT, [booked(at(SAT, 19), 120, 2, 3)])

    d = seat(plan, at(SAT, 20), at(SAT, 21, 30), tables=T3, override=True)

    assert not d.available and d.reasons == (TABLE_TAKEN,)


def test_a_hold_released_to_the_book_needs_no_override():
    plan = plan_day(SAMNA, SAT, ())
    d = seat(plan, at(SAT, 20), at(SAT, 21, 30), tables=T3, now=at(SAT, 19, 30))
    assert d.available and d.bypassed is None


def test_without_tables_unheld_first_and_a_held_one_only_with_an_override():
    plan = plan_day(SAMNA, SAT, occupy(SAT, FITS_TWO - HELD))
    start, end = at(SAT, 20), at(SAT, 21, 30)

    plain = seat(plan, start, end)
    forced = seat(plan, start, end, override=True)

    assert not plain.available and plain.reasons == (FULLY_BOOKED, HELD_FOR_WALK_INS)
    assert forced.available and set(forced.seating.tables) <= HELD and forced.bypassed == HOLD_BACK


def test_a_party_at_the_door_takes_a_held_table_within_the_seating_hours_only():
    plan = plan_day(SAMNA, SAT, occupy(SAT, FITS_TWO - HELD))

    now = seat(plan, at(SAT, 20, 7), now=at(SAT, 20, 7), walk_in_now=True)
    chosen = seat(plan, at(SAT, 20, 7), now=at(SAT, 20, 7), tables=T3, walk_in_now=True)
    late = seat(plan, at(SAT, 22, 30), now=at(SAT, 22, 30), tables=T3, walk_in_now=True)

    assert now.available and set(now.seating.tables) <= HELD and now.bypassed is None
    assert chosen.available and chosen.end - chosen.start == timedelta(minutes=90)
    assert not late.available and late.reasons == (OUTSIDE_SERVICE_HOURS,)


def test_a_party_too_large_for_every_table_is_told_so():
    d = decide_seating(plan_day(SAMNA, WED, ()), party_size=12, start=at(WED, 20), now=at(WED, 20),
                       walk_in_now=True)
    assert not d.available and d.reasons == (PARTY_TOO_LARGE,)


def test_a_walk_in_booked_for_later_is_a_host_booking():
    assert booking_channel(SAMNA, "walk_in", start=at(WED, 20), now=at(WED, 19, 50)) == "walk_in"
    assert booking_channel(SAMNA, "walk_in", start=at(WED, 20), now=at(WED, 19, 40)) == "host"
    assert booking_channel(SAMNA, "phone", start=at(WED, 20), now=NOW) == "phone"


def test_start_problems_name_every_reason_a_start_is_not_bookable():
    plan = plan_day(SAMNA, WED, ())
    assert start_problems(plan, at(WED, 20), NOW) == ()
    assert start_problems(plan, at(WED, 20, 5), NOW) == (OUTSIDE_SERVICE_HOURS,)
    assert start_problems(plan, at(WED, 20), at(WED, 21)) == ("in_the_past",)
