"""Walk-ins and the waitlist: seated now where a table is free (held ones included), else a padded quote.

The service tests pass an explicit `now=`. The API reads the real clock, so
the API tests move Samna into a fixed-offset time zone where it is, at this
very moment, mid-afternoon (inside service) or the small hours (outside it):
the same test gives the same answer whatever the hour in Kyiv, midnight
included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from reservations.errors import InvalidTransition, NoFreeTable, NoTables, OutsideServiceHours
from reservations.models import Refusal, Reservation, ReservationTable, Table, WaitlistEntry
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.services.walk_ins import waitlist_leave, waitlist_positions, waitlist_seat, walk_in_arrive
from tests.conftest import kyiv
from tests.factories import small_restaurant

pytestmark = pytest.mark.django_db


HELD = {"T3", "T4"}
TWO_TOPS = {"T1", "T2", "T3", "T4", "T11", "T12", "T5", "T6", "T7", "T8"}  # every single table that seats 2
NON_HELD_TWO_TOPS = TWO_TOPS - HELD


def book(restaurant, day, hhmm: str, party_size: int = 2, channel: str = "host", **kwargs) -> Reservation:
    """A booking made today (the real clock) for `day` at `hhmm`, through the one booking path."""
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=party_size, channel=channel,
                              **kwargs)


def table_names(reservation: Reservation) -> list[str]:
    return sorted(a.table.name for a in reservation.assignments.select_related("table").filter(released=False))


def fitting_tables_free_at(restaurant, party_size: int, now: datetime) -> list[datetime]:
    """From the book: when each single table that fits the party is next free, earliest first.

    The end of whatever occupies a table now is a lower bound on when it frees:
    no honest quote can promise a seat sooner.
    """
    free_at = []
    for table in Table.objects.filter(restaurant=restaurant, is_active=True, min_covers__lte=party_size,
                                      max_covers__gte=party_size):
        ends = ReservationTable.objects.filter(
            table=table, released=False, start__lte=now, end__gt=now,
            reservation__status__in=Reservation.ACTIVE_STATUSES,
        ).values_list("end", flat=True)
        free_at.append(max(ends, default=now))
    return sorted(free_at)


def minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


# --- the services, with an explicit clock ------------------------------------------------------------------------


def test_walk_in_is_seated_now_on_a_free_table(samna, tuesday):
    now = kyiv(tuesday, "19:07")  # any minute, not only a slot of the grid

    result = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Taras"), now=now)

    assert result.status == "seated"
    reservation = Reservation.objects.get(pk=result.reservation.pk)
    assert reservation.status == Reservation.Status.SEATED
    assert reservation.channel == Reservation.Channel.WALK_IN
    assert reservation.start == now
    assert reservation.end == now + timedelta(minutes=90)
    assert reservation.seated_at == now
    assert len(table_names(reservation)) == 1
    assert table_names(reservation)[0] in TWO_TOPS
    assert not WaitlistEntry.objects.exists()


def test_walk_in_takes_a_held_table_that_online_and_phone_bookings_may_not(samna, saturday):
    # Booked in advance for Saturday 19:30, inside the 19:00–22:00 hold on T3 and T4.
    fillers = [book(samna, saturday, "19:30") for _ in NON_HELD_TWO_TOPS]
    assert {name for r in fillers for name in table_names(r)} == NON_HELD_TWO_TOPS

    with pytest.raises(NoTables) as refused:
        book(samna, saturday, "19:30", channel="online",
             guest=GuestDetails(name="Online Olha", phone="+380671110001"))
    assert "held_for_walk_ins" in refused.value.reasons
    phone = book(samna, saturday, "19:30", channel="phone")
    assert phone.overbooked is True
    assert table_names(phone) == []

    first = walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(saturday, "19:30"))
    second = walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(saturday, "19:31"))

    assert first.status == second.status == "seated"
    assert first.reservation.channel == Reservation.Channel.WALK_IN
    assert {*table_names(first.reservation), *table_names(second.reservation)} == HELD


def test_before_the_release_a_walk_in_gets_a_held_table_a_booking_at_the_same_moment_does_not(samna, saturday):
    # 17:45 + 90 minutes runs into the 19:00 hold, and 17:45 is before its 18:00 release.
    for _ in NON_HELD_TWO_TOPS:
        book(samna, saturday, "17:45")
    now = kyiv(saturday, "17:45")

    phone = reservation_create(restaurant=samna, start=now, party_size=2, channel="phone", now=now)
    walk_in = walk_in_arrive(restaurant=samna, party_size=2, now=now)

    assert phone.overbooked is True and table_names(phone) == []
    assert walk_in.status == "seated"
    assert table_names(walk_in.reservation)[0] in HELD


def fill_saturday_evening(samna, saturday) -> None:
    """Every table for two taken at 19:30: T1 until 20:00, the rest until 21:00."""
    early = book(samna, saturday, "18:30")
    assert table_names(early) == ["T1"]
    for _ in NON_HELD_TWO_TOPS - {"T1"}:
        book(samna, saturday, "19:30")
    for minute in ("19:30", "19:31"):
        assert walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(saturday, minute)).status == "seated"


def test_when_nothing_is_free_walk_ins_are_waitlisted_in_order_with_padded_quotes(samna, saturday):
    fill_saturday_evening(samna, saturday)
    now = kyiv(saturday, "19:35")
    free_at = fitting_tables_free_at(samna, 2, now)
    assert free_at[0] == kyiv(saturday, "20:00") and free_at[1] == kyiv(saturday, "21:00")

    first = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Ira"), now=now)
    second = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Bohdan"), now=now)

    assert (first.status, first.position) == ("waitlisted", 1)
    assert (second.status, second.position) == ("waitlisted", 2)
    quote_1, quote_2 = first.entry.quoted_wait_minutes, second.entry.quoted_wait_minutes
    assert quote_1 % 5 == 0 and quote_2 % 5 == 0
    # Never less than the real wait: the first party waits for T1 (20:00); the second, behind it, for 21:00.
    assert quote_1 >= minutes_between(free_at[0], now)
    assert quote_2 >= minutes_between(free_at[1], now)
    assert quote_2 >= quote_1
    assert first.entry.likely_tonight and second.entry.likely_tonight
    assert Reservation.objects.filter(channel="walk_in").count() == 2  # only the two seated at 19:30
    assert [(e.pk, p) for e, p in waitlist_positions(samna, now=now)] == [(first.entry.pk, 1), (second.entry.pk, 2)]


def test_a_quote_says_when_no_table_is_likely_before_the_last_seating(samna, tuesday):
    # Every table that seats 2 is taken from 20:30 to the end of the evening.
    for hhmm in ("20:30", "22:00"):
        for _ in TWO_TOPS:
            book(samna, tuesday, hhmm)
    now = kyiv(tuesday, "20:45")

    late = walk_in_arrive(restaurant=samna, party_size=2, now=now)

    assert late.status == "waitlisted"
    assert late.entry.likely_tonight is False
    assert WaitlistEntry.objects.get(pk=late.entry.pk).likely_tonight is False


def test_a_party_for_another_kind_of_table_is_seated_past_the_waitlist(samna, saturday):
    fill_saturday_evening(samna, saturday)
    now = kyiv(saturday, "19:35")
    assert walk_in_arrive(restaurant=samna, party_size=2, now=now).status == "waitlisted"

    four = walk_in_arrive(restaurant=samna, party_size=4, now=now)

    assert four.status == "seated"
    assert table_names(four.reservation)[0] in {"T9", "T10"}


def test_seating_from_the_waitlist_and_leaving_it(samna, saturday):
    fill_saturday_evening(samna, saturday)
    now = kyiv(saturday, "19:35")
    first = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Ira", phone="+380671110002"),
                           now=now).entry
    second = walk_in_arrive(restaurant=samna, party_size=2, now=now).entry

    with pytest.raises(NoFreeTable):
        waitlist_seat(entry=first, now=kyiv(saturday, "19:50"))  # T1 is still taken until 20:00

    seated = waitlist_seat(entry=first, now=kyiv(saturday, "20:00"))

    assert seated.status == Reservation.Status.SEATED
    assert seated.channel == Reservation.Channel.WALK_IN
    assert seated.start == kyiv(saturday, "20:00")
    assert table_names(seated) == ["T1"]
    assert str(seated.guest.phone) == "+380671110002"
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.SEATED and first.reservation_id == seated.pk
    assert [(e.pk, p) for e, p in waitlist_positions(samna, now=kyiv(saturday, "20:00"))] == [(second.pk, 1)]

    with pytest.raises(NoFreeTable):
        waitlist_seat(entry=second, now=kyiv(saturday, "20:05"))
    with pytest.raises(InvalidTransition):
        waitlist_seat(entry=first, now=kyiv(saturday, "20:05"))

    left = waitlist_leave(entry=second, now=kyiv(saturday, "20:10"))

    assert left.status == WaitlistEntry.Status.LEFT
    assert waitlist_positions(samna, now=kyiv(saturday, "20:10")) == []
    with pytest.raises(InvalidTransition):
        waitlist_leave(entry=second, now=kyiv(saturday, "20:11"))


def test_walk_ins_at_a_restaurant_with_no_holds_and_no_overbooking_policy(tuesday):
    bistro = small_restaurant(tables=1)
    now = kyiv(tuesday, "13:00")

    first = walk_in_arrive(restaurant=bistro, party_size=2, now=now)
    second = walk_in_arrive(restaurant=bistro, party_size=1, now=now)

    assert first.status == "seated" and table_names(first.reservation) == ["S1"]
    assert (second.status, second.position) == ("waitlisted", 1)
    assert second.entry.quoted_wait_minutes >= 90 and second.entry.quoted_wait_minutes % 5 == 0
    assert [e.pk for e, _ in waitlist_positions(bistro, now=now)] == [second.entry.pk]


@pytest.mark.parametrize("hhmm", ["11:59", "22:01", "22:30"])
def test_no_walk_ins_outside_service_hours(samna, tuesday, hhmm):
    with pytest.raises(OutsideServiceHours):
        walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(tuesday, hhmm))

    assert not Reservation.objects.exists()
    assert not WaitlistEntry.objects.exists()


def test_walk_ins_at_the_first_and_last_seating_are_seated(samna, tuesday):
    assert walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(tuesday, "12:00")).status == "seated"
    assert walk_in_arrive(restaurant=samna, party_size=2, now=kyiv(tuesday, "22:00")).status == "seated"


def test_a_walk_in_party_too_large_for_any_table_is_refused_and_recorded(samna, tuesday):
    now = kyiv(tuesday, "19:00")

    with pytest.raises(NoTables) as refused:
        walk_in_arrive(restaurant=samna, party_size=12, guest=GuestDetails(name="Big", phone="+380671110003"),
                       now=now)

    assert "party_too_large" in refused.value.reasons
    refusal = Refusal.objects.get()
    assert (refusal.party_size, refusal.channel, refusal.start) == (12, "walk_in", now)
    assert "party_too_large" in refusal.reasons
    assert str(refusal.guest_phone) == "+380671110003"
    assert not WaitlistEntry.objects.exists()
    assert not Reservation.objects.exists()


# --- the API, on the real clock -------------------------------------------------------------------------------------


def set_local_hour(restaurant, hour: int) -> None:
    """Put the restaurant in the fixed-offset zone where the local time is now `hour`:xx."""
    offset = hour - datetime.now(UTC).hour
    if offset > 14:
        offset -= 24
    elif offset < -12:
        offset += 24
    restaurant.time_zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3
    restaurant.save()
    assert timezone.now().astimezone(restaurant.tz).hour in (hour, (hour + 1) % 24)


@pytest.fixture
def open_now(samna):
    """Samna mid-afternoon: inside its 12:00–22:00 seating hours, hours away from either end."""
    set_local_hour(samna, 14)
    return samna


WALK_INS = "/api/v1/restaurants/samna/walk-ins/"
WAITLIST = "/api/v1/restaurants/samna/waitlist/"


def walk_in(api, party_size: int = 2, **extra):
    return api.post(WALK_INS, {"party_size": party_size, **extra}, format="json")


def test_api_walk_in_is_seated_now(open_now, host_api):
    before = timezone.now()

    response = walk_in(host_api, 2, guest={"name": "Taras", "phone": "+380671110004"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "seated"
    reservation = body["reservation"]
    assert reservation["status"] == "seated"
    assert reservation["channel"] == "walk_in"
    assert reservation["restaurant"] == "samna"
    assert reservation["party_size"] == 2
    assert len(reservation["tables"]) == 1 and reservation["tables"][0] in TWO_TOPS
    assert reservation["guest"]["phone"] == "+380671110004"
    start = parse_datetime(reservation["start"])
    assert start.utcoffset() is not None
    assert before - timedelta(seconds=1) <= start <= timezone.now()
    assert Reservation.objects.get(pk=reservation["id"]).status == Reservation.Status.SEATED


def test_api_waitlist_from_full_room_to_seated_and_gone(open_now, host_api):
    seated = [walk_in(host_api, 2).json() for _ in TWO_TOPS]
    assert {s["status"] for s in seated} == {"seated"}
    assert {s["reservation"]["tables"][0] for s in seated} == TWO_TOPS  # held tables included

    first = walk_in(host_api, 2, guest={"name": "Ira"})
    second = walk_in(host_api, 2, guest={"name": "Bohdan"})

    assert first.status_code == second.status_code == 201
    first, second = first.json(), second.json()
    assert first["status"] == second["status"] == "waitlisted"
    assert (first["entry"]["position"], second["entry"]["position"]) == (1, 2)
    entry = WaitlistEntry.objects.get(pk=first["entry"]["id"])
    real_wait = minutes_between(fitting_tables_free_at(open_now, 2, entry.created_at)[0], entry.created_at)
    assert real_wait > 80  # everything seated moments ago, for 90 minutes
    assert first["entry"]["quoted_wait_minutes"] >= real_wait
    assert first["entry"]["quoted_wait_minutes"] % 5 == 0
    assert second["entry"]["quoted_wait_minutes"] >= first["entry"]["quoted_wait_minutes"]
    assert second["entry"]["quoted_wait_minutes"] % 5 == 0

    listing = host_api.get(WAITLIST)
    assert listing.status_code == 200
    assert [(e["id"], e["position"], e["party_size"]) for e in listing.json()] == [
        (first["entry"]["id"], 1, 2), (second["entry"]["id"], 2, 2)
    ]
    assert listing.json()[0]["quoted_wait_minutes"] == first["entry"]["quoted_wait_minutes"]

    full = host_api.post(f"/api/v1/waitlist/{first['entry']['id']}/seat/", format="json")
    assert full.status_code == 409
    assert full.json()["code"] == "no_free_table"

    leaving = seated[0]["reservation"]
    assert host_api.post(f"/api/v1/reservations/{leaving['id']}/complete/").status_code == 200
    response = host_api.post(f"/api/v1/waitlist/{first['entry']['id']}/seat/", format="json")

    assert response.status_code == 200, response.json()
    reservation = response.json()["reservation"]
    assert (reservation["status"], reservation["channel"]) == ("seated", "walk_in")
    assert reservation["tables"] == leaving["tables"]
    assert reservation["guest"]["name"] == "Ira"
    assert WaitlistEntry.objects.get(pk=first["entry"]["id"]).reservation_id == reservation["id"]
    assert [(e["id"], e["position"]) for e in host_api.get(WAITLIST).json()] == [(second["entry"]["id"], 1)]

    left = host_api.post(f"/api/v1/waitlist/{second['entry']['id']}/leave/")
    assert left.status_code == 200
    assert host_api.get(WAITLIST).json() == []
    assert WaitlistEntry.objects.get(pk=second["entry"]["id"]).status == WaitlistEntry.Status.LEFT
    assert host_api.post(f"/api/v1/waitlist/{second['entry']['id']}/leave/").status_code == 409


def test_api_walk_in_outside_service_hours(samna, host_api):
    set_local_hour(samna, 4)

    response = walk_in(host_api, 2)

    assert response.status_code == 409
    assert response.json()["code"] == "outside_service_hours"
    assert not Reservation.objects.exists()
    assert not WaitlistEntry.objects.exists()


def test_api_walk_in_party_too_large_is_refused_and_recorded(open_now, host_api):
    response = walk_in(host_api, 12, guest={"name": "Big table", "phone": "+380671110005"})

    assert response.status_code == 409
    assert response.json()["code"] == "no_tables"
    assert "party_too_large" in response.json()["reasons"]
    refusal = Refusal.objects.get()
    assert (refusal.party_size, refusal.channel) == (12, "walk_in")
    assert not WaitlistEntry.objects.exists()


def test_api_walk_ins_and_waitlist_are_staff_only(open_now, anon_api, host_api):
    entry = walk_in(host_api, 2)  # a seated party, so an id exists to try
    assert entry.status_code == 201

    answers = [
        anon_api.post(WALK_INS, {"party_size": 2}, format="json"),
        anon_api.get(WAITLIST),
        anon_api.post("/api/v1/waitlist/1/seat/", format="json"),
        anon_api.post("/api/v1/waitlist/1/leave/", format="json"),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert {a.json()["code"] for a in answers} == {"not_authenticated"}
    assert Reservation.objects.count() == 1


def test_api_walk_in_honours_the_idempotency_key(open_now, host_api):
    body = {"party_size": 2, "guest": {"name": "Once", "phone": "+380671110006"}}

    first = host_api.post(WALK_INS, body, format="json", HTTP_IDEMPOTENCY_KEY="walk-in-42")
    again = host_api.post(WALK_INS, body, format="json", HTTP_IDEMPOTENCY_KEY="walk-in-42")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Reservation.objects.filter(channel="walk_in").count() == 1

    other = host_api.post(WALK_INS, {**body, "party_size": 3}, format="json", HTTP_IDEMPOTENCY_KEY="walk-in-42")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Reservation.objects.filter(channel="walk_in").count() == 1
