"""The day's bookings as the engine reads them: times exact to the microsecond on both databases (they come as
epoch integers, not parsed datetimes), and only the bookings that can touch the service day."""

from datetime import timedelta

import pytest

from reservations import engine, selectors
from reservations.services.booking import reservation_create
from reservations.services.walk_ins import walk_in_arrive
from tests.conftest import kyiv, next_weekday
from tests.factories import small_restaurant

pytestmark = pytest.mark.django_db


def test_a_walk_in_seated_at_an_odd_microsecond_holds_its_table_exactly_that_long():
    bistro = small_restaurant(tables=1)
    day = next_weekday(2)
    arrived = kyiv(day, "19:00") + timedelta(seconds=7, microseconds=123456)

    seated = walk_in_arrive(restaurant=bistro, party_size=2, now=arrived).reservation

    plan = selectors.day_plan(bistro, day)
    (booking,) = plan.bookings
    assert (booking.start, booking.end) == (seated.start, seated.end) == (arrived, arrived + timedelta(minutes=90))
    table = booking.tables[0]
    one_us = timedelta(microseconds=1)
    assert not plan.table_free(table, seated.end - one_us, seated.end + timedelta(hours=1))
    assert plan.table_free(table, seated.end, seated.end + timedelta(hours=1))
    assert plan.table_free(table, seated.start - timedelta(hours=1), seated.start)
    assert not plan.table_free(table, seated.start - timedelta(hours=1), seated.start + one_us)


def test_the_slot_after_a_booking_ends_is_offered_and_the_one_before_is_not():
    bistro = small_restaurant(tables=1)
    day = next_weekday(3)
    now = kyiv(day, "09:00") - timedelta(days=1)
    reservation_create(restaurant=bistro, start=kyiv(day, "18:00"), party_size=2, channel="phone", now=now)

    slots = {s.start: s for s in engine.availability(selectors.day_plan(bistro, day), party_size=2,
                                                     channel="phone", now=now)}

    assert slots[kyiv(day, "19:30")].available, "19:30 starts as the 18:00 party's 90 minutes end"
    assert not slots[kyiv(day, "19:15")].available and slots[kyiv(day, "19:15")].reason == "fully_booked"
    assert not slots[kyiv(day, "16:45")].available, "16:45 + 90 minutes runs into 18:00"
    assert slots[kyiv(day, "16:30")].available


def test_the_day_plan_leaves_out_the_day_before_and_the_day_after():
    bistro = small_restaurant(tables=1)
    day = next_weekday(4)
    now = kyiv(day, "09:00") - timedelta(days=3)
    for when in (day - timedelta(days=1), day, day + timedelta(days=1)):
        reservation_create(restaurant=bistro, start=kyiv(when, "21:30"), party_size=2, channel="phone", now=now)

    plan = selectors.day_plan(bistro, day)

    assert [b.start for b in plan.bookings] == [kyiv(day, "21:30")]
