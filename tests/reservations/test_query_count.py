"""A day's availability costs the same few queries however large the restaurant and its history."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations import selectors
from reservations.models import Reservation, ReservationTable, ServiceHours, Table, TurnTime
from reservations.services.demo import demo_restaurant_reset

from ..conftest import next_weekday


def _grow(restaurant, factor: int, day) -> None:
    """Add tables and a book (on the day and on the days before it) `factor` times the demo's size."""
    existing = Table.objects.filter(restaurant=restaurant).count()
    tables = Table.objects.bulk_create(
        Table(restaurant=restaurant, name=f"X{i}", min_covers=1, max_covers=4) for i in range(existing * (factor - 1))
    )
    tz = restaurant.tz
    reservations = []
    for days_back in range(0, 30):  # history must not cost anything either
        for i in range(len(tables)):
            start = datetime.combine(day - timedelta(days=days_back), time(12)).replace(tzinfo=tz) + timedelta(
                minutes=15 * (i % 40)
            )
            reservations.append(
                Reservation(restaurant=restaurant, party_size=2, start=start, end=start + timedelta(minutes=90),
                            channel="phone")
            )
    Reservation.objects.bulk_create(reservations)
    ReservationTable.objects.bulk_create(
        ReservationTable(reservation=r, table=tables[i % len(tables)], start=r.start, end=r.end)
        for i, r in enumerate(reservations)
    )
    restaurant.save()  # a new config token, as the admin would give it


def _availability_queries(client, day) -> tuple[int, int]:
    url = f"/api/v1/restaurants/samna/availability/?date={day.isoformat()}&party_size=2"
    selectors.clear_config_cache()
    with CaptureQueriesContext(connection) as cold:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        response = client.get(url)
        assert response.status_code == 200
    assert len(response.json()["slots"]) == 41
    return len(cold), len(warm)


@pytest.mark.django_db
def test_availability_query_count_does_not_grow_with_tables_or_bookings(anon_api):
    day = next_weekday(1)
    samna = demo_restaurant_reset()
    small_cold, small_warm = _availability_queries(anon_api, day)

    _grow(samna, 10, day)
    assert Table.objects.filter(restaurant=samna).count() == 120
    assert Reservation.objects.filter(restaurant=samna).count() >= 3000
    large_cold, large_warm = _availability_queries(anon_api, day)

    assert small_warm <= 4, "a day's availability is a handful of queries once the set-up is cached"
    assert large_warm == small_warm
    assert large_cold == small_cold, "loading the set-up is a fixed number of queries, not one per table"


@pytest.mark.django_db
def test_a_configuration_change_is_seen_at_once_despite_the_cache(anon_api):
    day = next_weekday(1)
    samna = demo_restaurant_reset()
    url = f"/api/v1/restaurants/samna/availability/?date={day.isoformat()}&party_size=2"
    assert anon_api.get(url).json()["slots"][0]["time"] == "12:00"

    ServiceHours.objects.filter(restaurant=samna, weekday=day.weekday()).update(opens=time(13))
    # A queryset update sends no signal; a model save (as the admin does) renews the token.
    ServiceHours.objects.filter(restaurant=samna, weekday=day.weekday()).first().save()
    assert anon_api.get(url).json()["slots"][0]["time"] == "13:00"

    TurnTime.objects.filter(restaurant=samna).delete()
    assert anon_api.get(url).json()["slots"][0]["reason"] == "party_too_large"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_days_bookings_are_found_by_the_restaurant_and_time_index():
    samna = demo_restaurant_reset()
    config = selectors.restaurant_config(samna)
    start, end = selectors.day_bounds(config, next_weekday(1))
    queryset = Reservation.objects.filter(
        restaurant=samna, status__in=Reservation.ACTIVE_STATUSES,
        start__gte=start - config.longest_turn - timedelta(days=1), start__lt=end, end__gt=start,
    )
    with connection.cursor() as cursor:
        # The table is tiny here, so ask whether the planner *can* avoid scanning history.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "reservation_day_idx" in plan


def _waitlist_queries(client) -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/restaurants/samna/waitlist/")
    assert response.status_code == 200
    return len(queries), response.json()


@pytest.mark.django_db
def test_the_waitlist_costs_the_same_few_queries_for_two_parties_or_eight(samna, host_api):
    from django.utils import timezone

    from reservations.services.booking import reservation_transition
    from reservations.services.guests import GuestDetails
    from reservations.services.walk_ins import walk_in_arrive

    from .test_walk_ins import set_local_hour

    set_local_hour(samna, 14)  # mid-service on the real clock, which the endpoint reads
    regular = GuestDetails(name="Regular", phone="+380671119000")
    visit = walk_in_arrive(restaurant=samna, party_size=2, guest=regular, now=timezone.now()).reservation
    reservation_transition(reservation=visit, action="complete")  # a completed visit: not a first one
    for _ in range(10):  # every table for two taken again
        assert walk_in_arrive(restaurant=samna, party_size=2, now=timezone.now()).status == "seated"

    def wait(i: int, guest: GuestDetails | None = None) -> None:
        guest = guest or GuestDetails(name=f"Guest {i}", phone=f"+38067111{9100 + i}")
        assert walk_in_arrive(restaurant=samna, party_size=2, guest=guest, now=timezone.now()).status == "waitlisted"

    wait(0, regular)
    wait(1)
    two, listed = _waitlist_queries(host_api)
    assert [e["guest"]["first_visit"] for e in listed] == [False, True]
    for i in range(2, 8):
        wait(i)
    eight, listed = _waitlist_queries(host_api)

    assert len(listed) == 8
    assert [e["guest"]["first_visit"] for e in listed] == [False] + [True] * 7
    assert eight == two, "listing the waitlist costs no query per party"
    assert two <= 7  # 6, and the set-up's version: service hours written around the ORM are seen (issue 16)


def _floor_lists_queries(client, day) -> tuple[int, int, int, int]:
    counts = []
    for path in ("comps", "staff-notes"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/restaurants/samna/{path}/", {"date": day.isoformat()})
        assert response.status_code == 200
        counts += [len(queries), len(response.json())]
    return tuple(counts)


@pytest.mark.django_db
def test_the_floors_comps_and_notes_cost_the_same_few_queries_for_two_parties_or_eight(samna, host_api, staff):
    from reservations.services.booking import reservation_create
    from reservations.services.gestures import gesture_offer, gesture_present, guest_prepare
    from reservations.services.guests import GuestDetails

    from ..conftest import kyiv

    day = next_weekday(1)
    samna.gesture_budget_per_service = 10_000
    samna.save()

    def party(i: int) -> None:
        reservation = reservation_create(restaurant=samna, start=kyiv(day, f"{12 + i}:00"), party_size=2,
                                         channel="phone", guest=GuestDetails(name=f"Guest {i}",
                                                                             phone=f"+38067111{9100 + i}"))
        guest_prepare(reservation_id=reservation.pk)
        gesture = gesture_offer(reservation=reservation, occasion="won_back", reason="turned away")
        if i % 2:  # presented ones name who presented them: loaded with the list, not per row
            gesture_present(gesture=gesture, by=staff["host"])

    for i in range(2):
        party(i)
    comps_two, listed_comps, notes_two, listed_notes = _floor_lists_queries(host_api, day)
    assert (listed_comps, listed_notes) == (2, 2)
    for i in range(2, 8):
        party(i)
    comps_eight, listed_comps, notes_eight, listed_notes = _floor_lists_queries(host_api, day)

    assert (listed_comps, listed_notes) == (8, 8)
    assert comps_eight == comps_two and notes_eight == notes_two, "no query per gesture or note"
    assert comps_two <= 6 and notes_two <= 6


@pytest.mark.django_db
def test_the_days_bookings_are_searched_by_restaurant_and_start_not_read_through_the_history(anon_api):
    """SQLite's planner once walked the restaurant-only index (its rows come in id order, which the query sorted
    by), reading every booking the restaurant ever had: availability grew with years of history."""
    day = next_weekday(1)
    samna = demo_restaurant_reset()
    _grow(samna, 10, day)
    url = f"/api/v1/restaurants/samna/availability/?date={day.isoformat()}&party_size=2"
    with CaptureQueriesContext(connection) as captured:
        assert anon_api.get(url).status_code == 200
    (sql,) = [q["sql"] for q in captured.captured_queries
              if q["sql"].startswith('SELECT "reservations_reservation"."id"') and "reservationtable" in q["sql"]]

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute("ANALYZE reservations_reservation")
            cursor.execute(f"EXPLAIN {sql}")
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert "reservation_day_idx" in plan, plan
    if connection.vendor == "sqlite":
        assert "start>? AND start<?" in plan, plan
