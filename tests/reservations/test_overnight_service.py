"""A bar service that runs past midnight: its after-midnight slots belong to the evening it opened."""

from datetime import time, timedelta

import pytest

from reservations.errors import InvalidInput, NoTables
from reservations.models import ServiceHours
from reservations.services.booking import reservation_create
from reservations.services.walk_ins import walk_in_arrive
from tests.conftest import kyiv, next_weekday
from tests.factories import small_restaurant

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_bar():
    bar = small_restaurant(tables=1, slug="late-bar", time_zone="Europe/Kyiv")
    ServiceHours.objects.filter(restaurant=bar).delete()
    for weekday in range(7):
        ServiceHours.objects.create(restaurant=bar, weekday=weekday, opens=time(20), last_seating=time(1),
                                    closes=time(2))
    bar.refresh_from_db()
    return bar


def test_a_slot_after_midnight_is_bookable_and_taken_once(late_bar):
    friday = next_weekday(4)
    after_midnight = kyiv(friday + timedelta(days=1), "00:30")
    now = kyiv(friday, "12:00")

    booked = reservation_create(restaurant=late_bar, start=after_midnight, party_size=2, channel="phone", now=now)

    assert booked.start == after_midnight and booked.assignments.count() == 1
    with pytest.raises(NoTables):  # 23:30 + 90 minutes runs into the 00:30 booking on the only table
        reservation_create(restaurant=late_bar, start=kyiv(friday, "23:30"), party_size=2, channel="phone", now=now)
    with pytest.raises(InvalidInput):  # 01:15 is past the last seating
        reservation_create(restaurant=late_bar, start=after_midnight + timedelta(minutes=45), party_size=2,
                           channel="phone", now=now)


def test_a_walk_in_after_midnight_is_seated_in_the_evenings_service(late_bar):
    saturday_night = kyiv(next_weekday(5), "00:40")

    result = walk_in_arrive(restaurant=late_bar, party_size=2, now=saturday_night)

    assert result.status == "seated"
    assert result.reservation.start == saturday_night
