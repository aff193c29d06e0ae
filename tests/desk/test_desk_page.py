"""Tonight at a glance: the timeline, the list, the badges, and a page that costs the same however full."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.services.cases import case_open
from reservations.models import Guest, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.demo_evening import demo_evening_book
from reservations.services.gestures import gesture_offer
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

from .conftest import desk_client

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"


def block(page: str, reservation: Reservation) -> str:
    """The markup of one booking's block (or list row), up to its end tag."""
    match = re.search(rf'<(button|tr)[^>]*data-testid="booking-{reservation.pk}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"booking {reservation.pk} is not on the page"
    return match.group(0)


def badges_of(page: str, reservation: Reservation) -> set[str]:
    return set(re.findall(r'data-badge="(\w+)"', block(page, reservation)))


def row_of(page: str, table: str) -> str:
    match = re.search(rf'data-testid="table-row-{table}".*?(?=data-testid="table-row-|</div>\s*</div>\s*<aside)',
                      page, re.S)
    assert match, f"no row for {table}"
    return match.group(0)


def test_the_timeline_shows_each_booking_on_its_table_with_name_size_and_status(host, samna, staff, saturday):
    olena = reservation_create(restaurant=samna, start=kyiv(saturday, "19:00"), party_size=4, channel="phone",
                               guest=GuestDetails(name="Olena K.", phone=PHONE), by=staff["host"])
    taras = reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=2, channel="host",
                               guest=GuestDetails(name="Taras"), by=staff["host"])
    reservation_transition(reservation=taras, action="confirm", by=staff["host"])
    page = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert 'data-testid="timeline"' in page
    olena_table = olena.assignments.get().table.name
    assert f'data-testid="booking-{olena.pk}"' in row_of(page, olena_table)
    olena_block = block(page, olena)
    assert 'data-status="booked"' in olena_block
    assert "Olena K." in olena_block and "<b>4</b>" in olena_block
    assert 'data-status="confirmed"' in block(page, taras)
    for name in ("T1", "T7", "T12"):
        assert f'data-testid="table-row-{name}"' in page
    # Another day's book is another page.
    other = host.get(f"/desk/samna/?date={saturday.replace(day=1) if saturday.day > 1 else saturday}")
    assert other.status_code == 200


def test_the_list_view_shows_the_same_book_for_phones(host, samna, staff, saturday):
    made = [reservation_create(restaurant=samna, start=kyiv(saturday, hhmm), party_size=2, channel="host",
                               guest=GuestDetails(name=name), by=staff["host"])
            for hhmm, name in (("20:00", "Iryna"), ("12:30", "Bohdan"))]
    reservation_transition(reservation=made[0], action="cancel", by=staff["host"])
    page = host.get(f"/desk/samna/?date={saturday}&view=list").content.decode()
    assert 'data-testid="book-list"' in page and 'data-testid="timeline"' not in page
    rows = re.findall(r'<tr data-testid="booking-(\d+)" data-status="(\w+)"', page)
    # In start order, cancelled ones too (the list is the whole book).
    assert rows == [(str(made[1].pk), "booked"), (str(made[0].pk), "cancelled")]
    assert "Iryna" in block(page, made[0]) and "12:30" in block(page, made[1])
    # The timeline leaves a cancelled party off the floor.
    timeline = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert f'data-testid="booking-{made[0].pk}"' not in timeline


def test_badges_say_what_the_host_should_notice(host, samna, staff, saturday):
    first = reservation_create(restaurant=samna, start=kyiv(saturday, "12:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="New Guest", phone=PHONE), by=staff["host"],
                               expectations=["kids_menu"])
    # A regular: one completed visit before.
    regular_phone = "+380501112233"
    past = reservation_create(restaurant=samna, start=kyiv(saturday, "12:00"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Regular", phone=regular_phone), by=staff["host"])
    reservation_transition(reservation=past, action="seat", by=staff["host"])
    reservation_transition(reservation=past, action="complete", by=staff["host"])
    again = reservation_create(restaurant=samna, start=kyiv(saturday, "18:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Regular", phone=regular_phone), by=staff["host"])
    # Fill every 2-top at 20:00 (the held ones need a manager), then one overbooked and one overridden party.
    fillers = [reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                                  guest=GuestDetails(name=f"F{i}"), by=staff["host"]) for i in range(8)]
    assert all(not r.overbooked for r in fillers)
    over = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Over"), by=staff["host"])
    assert over.overbooked
    won = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                             guest=GuestDetails(name="Won"), by=staff["manager"], override_reason="regulars")
    assert won.override_bypassed
    case_open(restaurant=samna, kind="mistake", summary="wrong table", guest=again.guest)
    gesture_offer(reservation=again, occasion="won_back", reason="turned away last week")

    page = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert badges_of(page, first) == {"first_visit", "expectations"}
    assert badges_of(page, again) == {"recovery", "dessert"}
    assert "overbooked" in badges_of(page, over)
    assert "override" in badges_of(page, won)
    assert 'data-testid="table-row-none"' in page  # the overbooked party has no table yet
    assert badges_of(page, fillers[0]) == {"first_visit"}


def test_a_closed_recovery_case_is_no_badge(host, samna, staff, saturday):
    booking = reservation_create(restaurant=samna, start=kyiv(saturday, "12:00"), party_size=2, channel="phone",
                                 guest=GuestDetails(name="G", phone=PHONE), by=staff["host"])
    case = case_open(restaurant=samna, kind="mistake", summary="cold soup", reservation=booking)
    page = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert "recovery" in badges_of(page, booking)
    case.status = "resolved"
    case.save()
    page = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert "recovery" not in badges_of(page, booking)


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_desk_page_costs_the_same_queries_for_10_and_60_bookings(samna, staff, saturday, sunday_after,
                                                                    django_assert_max_num_queries):
    host = desk_client(staff["host"])
    quiet = demo_evening_book(restaurant=samna, day=sunday_after, parties=10, by=staff["host"])
    full = demo_evening_book(restaurant=samna, day=saturday, parties=60, by=staff["host"])
    assert (len(quiet), len(full)) == (10, 60)
    for r in full[:5]:  # badges that need their own lookups, on the full evening only
        case_open(restaurant=samna, kind="mistake", summary="x", reservation=r)
        gesture_offer(reservation=r, occasion="won_back", reason="x")
    for view in ("timeline", "list"):
        small = _page_queries(host, f"/desk/samna/?date={sunday_after}&view={view}")
        large = _page_queries(host, f"/desk/samna/?date={saturday}&view={view}")
        assert large == small, view
        with django_assert_max_num_queries(20):
            host.get(f"/desk/samna/?date={saturday}&view={view}")
        with django_assert_max_num_queries(20):
            host.get(f"/desk/samna/board/?date={saturday}&view={view}")
    page = host.get(f"/desk/samna/?date={saturday}&view=list").content.decode()
    assert len(re.findall(r'<tr data-testid="booking-\d+"', page)) == 60


@pytest.fixture
def sunday_after(saturday):
    from datetime import timedelta

    return saturday + timedelta(days=1)


def test_guests_are_not_counted_twice(samna, staff, saturday):
    """The evening's helper books real parties: each a guest of its own (the badges depend on it)."""
    made = demo_evening_book(restaurant=samna, day=saturday, parties=12, by=staff["host"])
    assert Guest.objects.filter(reservations__in=made).distinct().count() == 12


def test_a_service_past_midnight_is_one_evening_on_the_desk(staff, steakhouse, saturday):
    """The Steakhouse serves 18:00–01:00: its last party, at 23:30, is drawn on an evening that runs past midnight."""
    from datetime import timedelta

    late = reservation_create(restaurant=steakhouse, start=kyiv(saturday, "23:30"), party_size=2,
                              channel="phone", guest=GuestDetails(name="Night Owl"), by=staff["steak-host"])
    steak = desk_client(staff["steak-host"])
    saturday_page = steak.get(f"/desk/steakhouse/?date={saturday}").content.decode()
    assert "Night Owl" in block(saturday_page, late)
    assert ">00:00<" in saturday_page and ">18:00<" in saturday_page  # the hours run on past midnight
    left = float(re.search(r'left:([\d.]+)%', block(saturday_page, late)).group(1))
    assert left == pytest.approx(5.5 / 7 * 100, abs=0.01)  # 23:30 is 5½ hours into a 7-hour evening
    sunday_page = steak.get(f"/desk/steakhouse/?date={saturday + timedelta(days=1)}").content.decode()
    assert f'data-testid="booking-{late.pk}"' not in sunday_page


def test_tonight_after_midnight_is_the_evening_still_under_way(steakhouse, samna, saturday):
    from datetime import timedelta

    from reservations.desk.board import tonight

    sunday = saturday + timedelta(days=1)
    assert tonight(steakhouse, kyiv(sunday, "00:30")) == saturday  # still Saturday's service
    assert tonight(steakhouse, kyiv(sunday, "02:00")) == sunday  # closed at 01:00: the new day
    assert tonight(samna, kyiv(sunday, "00:30")) == sunday  # Samna closed at 23:00
    assert tonight(samna, kyiv(saturday, "20:00")) == saturday


def test_the_booking_panel_shows_what_the_floor_was_told(host, samna, staff, saturday):
    """A first visit's note with their expectations, and a dessert queued with the line to present it."""
    from reservations.services.gestures import guest_prepare

    booking = reservation_create(restaurant=samna, start=kyiv(saturday, "19:00"), party_size=2, channel="phone",
                                 guest=GuestDetails(name="Oksana", phone=PHONE), by=staff["host"],
                                 expectations=["window_seat"])
    guest_prepare(reservation_id=booking.pk)
    gesture = gesture_offer(reservation=booking, occasion="won_back", reason="turned away last Friday")
    panel = host.get(f"/desk/samna/r/{booking.pk}/", HTTP_HX_REQUEST="true").content.decode()
    notes = re.findall(r'data-testid="staff-note">(.*?)</p>', panel, re.S)
    assert len(notes) == 1 and "First visit" in notes[0] and "window seat" in notes[0]
    assert re.search(r'data-testid="gesture" data-status="queued">.*?turned away last Friday', panel, re.S)
    assert gesture.prompt and gesture.prompt.split()[0] in panel


def test_the_floor_marks_a_dessert_presented_and_a_manager_approves_one_over_budget(samna, staff, saturday):
    from reservations.models import Gesture

    from .conftest import HX

    samna.gesture_budget_per_service = samna.dessert_cost  # room for one dessert in the service
    samna.save()
    first, second = (reservation_create(restaurant=samna, start=kyiv(saturday, hhmm), party_size=2, channel="host",
                                        guest=GuestDetails(name=name), by=staff["host"])
                     for hhmm, name in (("19:00", "First"), ("19:30", "Second")))
    queued = gesture_offer(reservation=first, occasion="won_back", reason="turned away")
    over = gesture_offer(reservation=second, occasion="won_back", reason="turned away too")
    assert (queued.status, over.status) == ("queued", "needs_approval")
    host, manager = desk_client(staff["host"]), desk_client(staff["manager"])
    host_panel = host.get(f"/desk/samna/r/{second.pk}/", **HX).content.decode()
    assert 'data-action="approve"' not in host_panel and 'data-action="present"' not in host_panel
    assert host.post(f"/desk/samna/comp/{over.pk}/approve/", **HX).status_code == 403
    assert host.post(f"/desk/samna/comp/{over.pk}/present/", **HX).status_code == 409  # not approved yet
    assert 'data-action="approve"' in manager.get(f"/desk/samna/r/{second.pk}/", **HX).content.decode()
    assert manager.post(f"/desk/samna/comp/{over.pk}/approve/", **HX).status_code == 200
    assert 'data-action="present"' in host.get(f"/desk/samna/r/{first.pk}/", **HX).content.decode()
    assert host.post(f"/desk/samna/comp/{queued.pk}/present/", **HX).status_code == 200
    queued.refresh_from_db()
    over.refresh_from_db()
    assert (queued.status, queued.presented_by, over.status) == ("presented", staff["host"], "queued")
    assert host.post(f"/desk/samna/comp/{queued.pk}/nibble/", **HX).status_code == 404
    steak = desk_client(staff["steak-host"])
    assert steak.post(f"/desk/steakhouse/comp/{over.pk}/present/", **HX).status_code == 404
    assert Gesture.objects.get(pk=over.pk).status == "queued"
