"""`seed_load` builds `big` as asked: counts, a book no table is double-booked in, statuses that follow the
clock, a re-run that replaces rather than adds, and an availability API that answers for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from reservations.models import (
    Area,
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    ReservationTable,
    Restaurant,
    Table,
    TableCombination,
)

pytestmark = pytest.mark.django_db

# Any two assignments of one table that overlap in time, released or not: the history must be consistent too.
OVERLAPPING_SQL = """
    SELECT a.table_id, a.reservation_id, b.reservation_id
    FROM reservations_reservationtable a
    JOIN reservations_reservationtable b
      ON b.table_id = a.table_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
"""


def build(days=2, per_day=300, history_days=3):
    call_command("seed_load", days=days, per_day=per_day, history_days=history_days, stdout=open("/dev/null", "w"))
    return Restaurant.objects.get(slug="big")


def test_small_build_has_the_floor_and_rules_asked_for():
    big = build()
    tables = Table.objects.filter(restaurant=big)
    assert tables.count() == 200
    assert sorted(set(tables.values_list("max_covers", flat=True))) == [2, 4, 6, 8]
    assert Area.objects.filter(restaurant=big).count() == 6
    assert TableCombination.objects.filter(restaurant=big).count() == 20
    for combination in TableCombination.objects.filter(restaurant=big):
        members = list(combination.tables.all())
        assert len(members) == 2 and members[0].area_id == members[1].area_id
        assert combination.max_covers == sum(t.max_covers for t in members)
    assert HoldBackRule.objects.filter(restaurant=big, is_active=True).get().tables.count() > 0
    assert OverbookingPolicy.objects.get(restaurant=big).max_overbooked_covers == 40


def test_counts_as_asked_and_no_table_double_booked():
    before = timezone.now()
    big = build(days=2, per_day=300, history_days=3)
    after = timezone.now()
    bookings = Reservation.objects.filter(restaurant=big)
    assert bookings.count() == 5 * 300
    today = timezone.localdate(before, timezone=big.tz)
    for offset, expected in ((-3, 300), (-1, 300), (0, 300), (1, 300), (2, 0)):
        day = today + timedelta(days=offset)
        assert sum(1 for r in bookings.only("start") if r.start.astimezone(big.tz).date() == day) == expected
    # Every booking holds exactly one table, over exactly its own time, of its size.
    assert ReservationTable.objects.filter(reservation__restaurant=big).count() == 1500
    for a in ReservationTable.objects.filter(reservation__restaurant=big).select_related("reservation", "table"):
        assert (a.start, a.end) == (a.reservation.start, a.reservation.end)
        assert a.table.min_covers <= a.reservation.party_size <= a.table.max_covers
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPPING_SQL)
        assert cursor.fetchall() == []
    # Statuses follow the clock: what is over is completed (its table released), the rest still ahead.
    for r in bookings.prefetch_related("assignments"):
        assert r.start < r.end
        if r.status == "completed":
            assert r.end <= after and r.completed_at == r.end and r.arrived_at <= r.seated_at <= r.completed_at
            assert all(a.released for a in r.assignments.all())
        else:
            assert r.status in ("booked", "confirmed", "seated")
            assert r.completed_at is None and r.end > before
            assert not any(a.released for a in r.assignments.all())
            if r.status == "confirmed":
                assert r.confirmed_at is not None and r.confirmed_at <= after
    assert bookings.filter(start__lt=before - timedelta(days=1)).exclude(status="completed").count() == 0


def test_rerun_resets_big_instead_of_adding():
    build(days=1, per_day=200, history_days=1)
    first = set(Table.objects.filter(restaurant__slug="big").values_list("pk", flat=True))
    big = build(days=1, per_day=100, history_days=2)
    assert Restaurant.objects.filter(slug="big").count() == 1
    assert Reservation.objects.filter(restaurant=big).count() == 300
    assert Reservation.objects.filter(restaurant__slug="big").count() == 300
    assert not first & set(Table.objects.filter(restaurant=big).values_list("pk", flat=True))
    assert Table.objects.filter(restaurant=big).count() == 200


def test_a_day_more_than_the_tables_hold_is_refused():
    with pytest.raises(ValueError):
        build(days=1, per_day=100_000, history_days=0)


def test_availability_answers_for_big(anon_api, manager_api):
    big = build(days=3, per_day=400, history_days=2)
    day = timezone.localdate(timezone=big.tz) + timedelta(days=1)
    for party in (2, 8):
        response = anon_api.get(f"/api/v1/restaurants/big/availability/?date={day.isoformat()}&party_size={party}")
        assert response.status_code == 200, response.content
        slots = {s["time"]: s for s in response.json()["slots"]}
        # The day runs 11:00 to the last seating at 22:30 on a 15-minute grid.
        assert "11:00" in slots and "22:30" in slots
        # 400 bookings on 200 tables leave a table for two and one for eight free at some time of the day.
        assert any(s["available"] for s in slots.values())


FOREIGN_KEYS_SQL = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE contype = 'f' AND (conrelid IN ('reservations_reservation'::regclass,
      'reservations_reservationtable'::regclass) OR confrelid IN ('reservations_reservation'::regclass,
      'reservations_reservationtable'::regclass))
"""


@pytest.mark.postgres  # the keys are set aside for the load on PostgreSQL only
def test_the_bulk_load_leaves_every_foreign_key_as_it_found_it():
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_SQL)
        before = sorted(cursor.fetchall())
        build(days=1, per_day=50, history_days=1)
        build(days=1, per_day=50, history_days=1)  # a rebuild sets them aside and back again
        cursor.execute(FOREIGN_KEYS_SQL)
        assert sorted(cursor.fetchall()) == before
    assert len(before) >= 6
    # And they hold: a booking of a table that does not exist is refused at the commit's check.
    from django.db import IntegrityError, transaction

    booking = Reservation.objects.filter(restaurant__slug="big").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationTable.objects.create(reservation=booking, table_id=10**9, start=booking.start, end=booking.end)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- A chain of sites (`seed_load --sites N`): many restaurants of one group on one database.

def build_sites(sites=3, days=2, per_day=150, history_days=1):
    call_command("seed_load", sites=sites, days=days, per_day=per_day, history_days=history_days,
                 stdout=open("/dev/null", "w"))
    return list(Restaurant.objects.filter(slug__startswith="site-").order_by("slug"))


def test_sites_are_built_in_one_group_with_their_counts_and_no_table_double_booked():
    before = timezone.now()
    sites = build_sites(sites=3, days=2, per_day=150, history_days=1)
    assert [s.slug for s in sites] == ["site-01", "site-02", "site-03"]
    assert len({s.group_id for s in sites}) == 1
    for site in sites:
        tables = Table.objects.filter(restaurant=site)
        assert 30 <= tables.count() <= 40
        assert TableCombination.objects.filter(restaurant=site).count() == 4
        for combination in TableCombination.objects.filter(restaurant=site):
            assert {t.restaurant_id for t in combination.tables.all()} == {site.pk}
        bookings = Reservation.objects.filter(restaurant=site)
        assert bookings.count() == 3 * 150
        today = timezone.localdate(before, timezone=site.tz)
        for offset, expected in ((-1, 150), (0, 150), (1, 150), (2, 0)):
            day = today + timedelta(days=offset)
            assert sum(1 for r in bookings.only("start") if r.start.astimezone(site.tz).date() == day) == expected
        # Each booking holds one table of its own site, of its size, over exactly its own time.
        assignments = ReservationTable.objects.filter(reservation__restaurant=site).select_related("reservation",
                                                                                                    "table")
        assert assignments.count() == 450
        for a in assignments:
            assert a.table.restaurant_id == site.pk
            assert (a.start, a.end) == (a.reservation.start, a.reservation.end)
            assert a.table.min_covers <= a.reservation.party_size <= a.table.max_covers
            assert a.reservation.guest.group_id == site.group_id
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPPING_SQL)
        assert cursor.fetchall() == []


def test_a_smaller_chain_replaces_a_larger_one_and_leaves_big_alone():
    big = build(days=1, per_day=50, history_days=0)
    build_sites(sites=3, days=1, per_day=100, history_days=0)
    sites = build_sites(sites=2, days=1, per_day=60, history_days=0)
    assert [s.slug for s in sites] == ["site-01", "site-02"]
    assert Reservation.objects.filter(restaurant__slug__startswith="site-").count() == 2 * 60
    assert Table.objects.filter(restaurant__slug__startswith="site-").count() == 2 * 36
    assert Reservation.objects.filter(restaurant=big).count() == 50
    assert Table.objects.filter(restaurant=big).count() == 200


def test_more_bookings_a_day_than_a_site_holds_is_refused_plainly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="hold at most"):
        build_sites(sites=1, days=1, per_day=1000, history_days=0)
    assert not Restaurant.objects.filter(slug__startswith="site-").exists()


def test_availability_answers_for_every_site(anon_api):
    sites = build_sites(sites=2, days=2, per_day=150, history_days=0)
    for site in sites:
        day = timezone.localdate(timezone=site.tz) + timedelta(days=1)
        response = anon_api.get(f"/api/v1/restaurants/{site.slug}/availability/?date={day.isoformat()}&party_size=2")
        assert response.status_code == 200, response.content
        slots = {s["time"]: s for s in response.json()["slots"]}
        assert "11:00" in slots and "22:30" in slots
        # Full around the peak, free at its edges: the day's book was read, not ignored.
        assert any(s["available"] for s in slots.values()) and not all(s["available"] for s in slots.values())


@pytest.mark.postgres  # the keys are set aside for the load on PostgreSQL only
def test_the_chain_load_leaves_every_foreign_key_as_it_found_it():
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_SQL)
        before = sorted(cursor.fetchall())
        build_sites(sites=2, days=1, per_day=50, history_days=0)
        build_sites(sites=2, days=1, per_day=50, history_days=0)
        cursor.execute(FOREIGN_KEYS_SQL)
        assert sorted(cursor.fetchall()) == before
    assert Reservation.objects.filter(restaurant__slug__startswith="site-").count() == 100
