"""The waitlist is tonight's: a party still waiting when its service ends leaves the list.

Parties left over from an earlier service (last night, or lunch) must not take
tonight's places in line nor lengthen tonight's quotes; they read as left.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from reservations.errors import InvalidTransition
from reservations.models import ServiceHours, WaitlistEntry
from reservations.services.guests import GuestDetails
from reservations.services.waitlist import waitlist_expire
from reservations.services.walk_ins import waitlist_leave, waitlist_positions, waitlist_seat, walk_in_arrive
from tests.conftest import kyiv, next_weekday
from tests.factories import small_restaurant

from .test_walk_ins import fill_saturday_evening, set_local_hour

pytestmark = pytest.mark.django_db


def test_last_nights_waiting_party_neither_takes_a_place_nor_lengthens_a_quote(samna, saturday):
    friday = saturday - timedelta(days=1)
    fill_saturday_evening(samna, friday)  # Friday has the same hold: the same full room
    stale = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Friday"),
                           now=kyiv(friday, "19:35"))
    assert stale.status == "waitlisted"  # and nobody ever seated them or marked them gone
    fill_saturday_evening(samna, saturday)
    now = kyiv(saturday, "19:35")

    tonight = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Saturday"), now=now)

    assert (tonight.status, tonight.position) == ("waitlisted", 1)
    # First in line, T1 frees at 20:00: 25 minutes, padded by 10 (behind Friday's party it was 21:00, 110).
    assert tonight.entry.quoted_wait_minutes == 35
    assert [(e.pk, p) for e, p in waitlist_positions(samna, now=now)] == [(tonight.entry.pk, 1)]


def test_a_party_left_waiting_reads_as_left_from_when_its_service_closed(samna, saturday):
    friday = saturday - timedelta(days=1)
    fill_saturday_evening(samna, friday)
    stale = walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(friday, "19:35")).entry
    # Still Friday's service until it closes at 23:00.
    assert waitlist_expire(restaurant=samna, now=kyiv(friday, "22:59")) == 0
    assert [e.pk for e, _ in waitlist_positions(samna, now=kyiv(friday, "22:59"))] == [stale.pk]
    assert waitlist_positions(samna, now=kyiv(friday, "23:00")) == []

    with pytest.raises(InvalidTransition):
        waitlist_seat(entry=stale, now=kyiv(saturday, "12:30"))  # a free room, but they are long gone
    stale.refresh_from_db()
    assert stale.status == WaitlistEntry.Status.LEFT
    assert stale.left_at == kyiv(friday, "23:00")
    assert stale.reservation is None
    with pytest.raises(InvalidTransition):
        waitlist_leave(entry=stale, now=kyiv(saturday, "12:31"))


def test_lunchs_line_is_not_dinners():
    bistro = small_restaurant(tables=1, slug="two-services")
    ServiceHours.objects.filter(restaurant=bistro).delete()
    for weekday in range(7):
        ServiceHours.objects.create(restaurant=bistro, weekday=weekday, name="lunch", opens=time(12),
                                    last_seating=time(14, 30), closes=time(15, 30))
        ServiceHours.objects.create(restaurant=bistro, weekday=weekday, name="dinner", opens=time(18),
                                    last_seating=time(22), closes=time(23))
    bistro.refresh_from_db()
    day = next_weekday(2)
    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(day, "14:00")).status == "seated"
    lunch = walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(day, "14:05"))
    assert (lunch.status, lunch.position) == ("waitlisted", 1)
    # Between services nobody is waiting.
    assert waitlist_positions(bistro, now=kyiv(day, "16:00")) == []

    assert walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(day, "18:00")).status == "seated"
    dinner = walk_in_arrive(restaurant=bistro, party_size=2, now=kyiv(day, "18:10"))

    assert (dinner.status, dinner.position) == ("waitlisted", 1)
    assert dinner.entry.quoted_wait_minutes == 100  # the table frees at 19:30: 80 minutes and a quarter
    lunch.entry.refresh_from_db()
    assert lunch.entry.status == WaitlistEntry.Status.LEFT and lunch.entry.left_at == kyiv(day, "15:30")


def test_a_night_service_keeps_its_line_past_midnight_and_drops_it_the_next_evening():
    bar = small_restaurant(tables=1, slug="night-bar")
    ServiceHours.objects.filter(restaurant=bar).delete()
    for weekday in range(7):
        ServiceHours.objects.create(restaurant=bar, weekday=weekday, opens=time(20), last_seating=time(1),
                                    closes=time(2))
    bar.refresh_from_db()
    friday = next_weekday(4)
    saturday = friday + timedelta(days=1)
    assert walk_in_arrive(restaurant=bar, party_size=2, now=kyiv(friday, "23:50")).status == "seated"
    waiting = walk_in_arrive(restaurant=bar, party_size=2, now=kyiv(friday, "23:55"))
    assert waiting.position == 1
    # Past midnight it is still Friday night's line.
    assert [e.pk for e, _ in waitlist_positions(bar, now=kyiv(saturday, "01:30"))] == [waiting.entry.pk]

    assert walk_in_arrive(restaurant=bar, party_size=2, now=kyiv(saturday, "20:00")).status == "seated"
    tonight = walk_in_arrive(restaurant=bar, party_size=2, now=kyiv(saturday, "20:05"))

    assert tonight.position == 1
    assert tonight.entry.quoted_wait_minutes == 110  # 85 minutes until 21:30, and a quarter


WAITLIST = "/api/v1/restaurants/samna/waitlist/"


def test_api_waitlist_lists_tonights_parties_only(samna, host_api):
    set_local_hour(samna, 14)
    for _ in range(10):  # every table for two, held ones included
        assert host_api.post("/api/v1/restaurants/samna/walk-ins/", {"party_size": 2},
                             format="json").json()["status"] == "seated"
    tonight = host_api.post("/api/v1/restaurants/samna/walk-ins/", {"party_size": 2}, format="json").json()
    entry = WaitlistEntry.objects.get(pk=tonight["entry"]["id"])
    # Yesterday's party, never seated nor marked gone: made as the walk-in service would have left it.
    WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=30,
                                 created_at=entry.created_at - timedelta(days=1))

    listing = host_api.get(WAITLIST)

    assert listing.status_code == 200
    assert [(e["id"], e["position"]) for e in listing.json()] == [(entry.pk, 1)]


def test_the_periodic_task_marks_every_restaurants_leftover_parties_left(samna):
    from reservations.tasks import expire_waitlists_task

    yesterday = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=30,
                                             created_at=timezone.now() - timedelta(days=1, hours=1))
    bistro = small_restaurant(tables=1, slug="bistro-task")
    set_local_hour(bistro, 14)
    walk_in_arrive(restaurant=bistro, party_size=2, now=timezone.now())
    tonight = walk_in_arrive(restaurant=bistro, party_size=2, now=timezone.now()).entry

    assert expire_waitlists_task.delay().get() == 1

    yesterday.refresh_from_db()
    tonight.refresh_from_db()
    assert yesterday.status == WaitlistEntry.Status.LEFT and yesterday.left_at is not None
    assert tonight.status == WaitlistEntry.Status.WAITING
