"""A bar service that runs past midnight: its after-midnight slots belong to the evening it opened."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from reservations.errors import InvalidInput, NoTables
from reservations.models import Reservation, ServiceHours
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


def spring_forward_night_ahead() -> date:
    """The Saturday before the next spring-forward in Kyiv (Sunday 03:00 jumps to 04:00)."""
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        sunday = date(year, 3, 31)
        sunday -= timedelta(days=(sunday.weekday() - 6) % 7)
        if sunday - timedelta(days=1) > today:
            return sunday - timedelta(days=1)
    raise AssertionError("unreachable")


@pytest.fixture
def all_night_bar(db):
    """Open 20:00 to 06:00 (last seating 05:00): its Saturday night runs across the spring-forward gap."""
    bar = small_restaurant(tables=2, slug="all-night", time_zone="Europe/Kyiv", booking_horizon_days=400)
    ServiceHours.objects.filter(restaurant=bar).delete()
    for weekday in range(7):
        ServiceHours.objects.create(restaurant=bar, weekday=weekday, opens=time(20), last_seating=time(5),
                                    closes=time(6))
    bar.refresh_from_db()
    return bar


def test_a_start_the_clocks_skip_is_refused_as_a_time_that_does_not_exist(all_night_bar, anon_api):
    sunday = spring_forward_night_ahead() + timedelta(days=1)
    url = "/api/v1/restaurants/all-night/reservations/"

    def book(hhmm: str, phone: str):
        return anon_api.post(url, {"start": f"{sunday.isoformat()}T{hhmm}", "party_size": 2, "channel": "online",
                                   "guest": {"name": "Night owl", "phone": phone}}, format="json")

    # The bar is open across the gap: the slots either side of it are bookable…
    before, after = book("02:45", "+380671112001"), book("04:00", "+380671112002")
    assert before.status_code == after.status_code == 201, (before.json(), after.json())
    assert after.json()["start"] == f"{sunday.isoformat()}T04:00:00+03:00"

    # … but 03:30 never happens that night: a 400 naming the start and saying why, not an off-grid slot.
    skipped = book("03:30", "+380671112003")

    assert skipped.status_code == 400, skipped.json()
    body = skipped.json()
    assert body["code"] == "validation_error"
    assert any("does not exist" in message for message in body["fields"]["start"]), body
    assert Reservation.objects.filter(restaurant=all_night_bar).count() == 2
