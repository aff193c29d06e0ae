"""New bookings at the desk: free slots before submitting, "no tables" with its way out, and the override."""

from __future__ import annotations

import re

import pytest

from reservations.models import Refusal, Reservation
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

from .conftest import HX, desk_client

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"
FOURS = ("T5", "T6", "T7", "T8")  # every table (or combination) that seats 4 … with T11+T12 and T9/T10


def slots_in(html: str) -> list[str]:
    return re.findall(r'data-slot="(\d\d:\d\d)"', html)


def fill_for_four(samna, staff, day, hhmm: str) -> None:
    """Every seating for a party of 4 taken at `hhmm`, and the overbooking limit (4 covers) used up."""
    for i in range(7):  # T5–T8, T11+T12, T9, T10
        reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=4, channel="host",
                           guest=GuestDetails(name=f"Four {i}"), by=staff["host"])
    over = reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=4, channel="phone",
                              guest=GuestDetails(name="Over"), by=staff["host"])
    assert over.overbooked


def book(client, day, hhmm: str, party_size: int = 4, **extra):
    data = {"party_size": party_size, "date": day.isoformat(), "time": hhmm, "name": "Olena K.", "phone": PHONE,
            "expectations": "kids_menu, window_seat", "notes": "anniversary", **extra}
    return client.post("/desk/samna/book/", data, **HX)


def test_the_form_shows_free_slots_for_the_party_and_day(host, samna, staff, saturday):
    form = host.get("/desk/samna/new/", **HX).content.decode()
    assert 'data-testid="booking-form"' in form and 'data-testid="slots"' in form
    for name in ("party_size", "date", "time", "name", "phone", "expectations"):
        assert f'name="{name}"' in form
    slots = slots_in(host.get(f"/desk/samna/slots/?party_size=4&date={saturday}").content.decode())
    assert slots[0] == "12:00" and slots[-1] == "22:00" and "20:00" in slots
    fill_for_four(samna, staff, saturday, "20:00")
    slots = slots_in(host.get(f"/desk/samna/slots/?party_size=4&date={saturday}").content.decode())
    assert "20:00" not in slots and "19:45" not in slots and "12:00" in slots
    # Parties of two still fit at 20:00; a party larger than every table fits nowhere.
    assert "20:00" in slots_in(host.get(f"/desk/samna/slots/?party_size=2&date={saturday}").content.decode())
    assert slots_in(host.get(f"/desk/samna/slots/?party_size=40&date={saturday}").content.decode()) == []
    assert host.get("/desk/samna/slots/?party_size=x&date=nope").status_code == 200


def test_a_booking_from_the_form_is_in_the_book(host, samna, staff, saturday):
    response = book(host, saturday, "19:00")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "book-changed"
    assert "Booked" in response.content.decode() and 'data-testid="undo"' in response.content.decode()
    reservation = Reservation.objects.get()
    assert (reservation.party_size, reservation.channel, reservation.start) == (4, "phone", kyiv(saturday, "19:00"))
    assert str(reservation.guest.phone) == PHONE and reservation.guest.name == "Olena K."
    assert reservation.expectations == ["kids_menu", "window_seat"] and reservation.notes == "anniversary"
    assert reservation.created_by == staff["host"]
    page = host.get(f"/desk/samna/?date={saturday}").content.decode()
    assert f'data-testid="booking-{reservation.pk}"' in page
    # Undo of a new booking cancels it (a booking once made is never silently deleted).
    assert host.post("/desk/samna/undo/", **HX).status_code == 200
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_bad_input_is_shown_on_the_form(host, saturday):
    response = book(host, saturday, "19:07", phone="not a phone", name="")
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="booking-form"' in body and "country code" in body
    assert not Reservation.objects.exists()
    off_grid = book(host, saturday, "19:07")
    assert off_grid.status_code == 400 and "slot" in off_grid.content.decode()
    assert not Reservation.objects.exists()


def test_no_tables_shows_reasons_and_alternatives_and_a_host_no_override(host, samna, staff, saturday):
    fill_for_four(samna, staff, saturday, "20:00")
    refusals_before = Refusal.objects.count()
    response = book(host, saturday, "20:00")
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-testid="no-tables"' in body and 'data-testid="refusal-reasons"' in body
    assert "Every table that fits is booked" in body and "overbooking limit" in body
    alternatives = re.findall(r'data-testid="alternative" data-slot="(\d\d:\d\d)"', body)
    assert 1 <= len(alternatives) <= 3
    free = slots_in(host.get(f"/desk/samna/slots/?party_size=4&date={saturday}").content.decode())
    assert set(alternatives) <= set(free)
    assert 'data-testid="record-refusal"' in body
    assert 'data-testid="override"' not in body and "override_reason" not in body
    assert Refusal.objects.count() == refusals_before  # recorded when the host records it, once
    # The guest takes the first alternative: it books.
    taken = book(host, saturday, alternatives[0])
    assert taken.status_code == 200
    assert Reservation.objects.filter(guest__phone=PHONE, start=kyiv(saturday, alternatives[0])).exists()


def test_the_host_records_the_turned_away_guests_phone(host, samna, staff, saturday):
    fill_for_four(samna, staff, saturday, "20:00")
    body = book(host, saturday, "20:00", phone="").content.decode()
    start = re.search(r'name="start" value="([^"]+)"', body).group(1)
    reasons = re.search(r'name="reasons" value="([^"]+)"', body).group(1)
    response = host.post("/desk/samna/refusal/", {"party_size": 4, "start": start, "name": "Olena K.",
                                                   "phone": "+380 67 123 45 67", "reasons": reasons}, **HX)
    assert response.status_code == 200 and PHONE in response.content.decode()
    refusal = Refusal.objects.get()
    assert (refusal.start, refusal.party_size, refusal.guest_name, str(refusal.guest_phone)) == (
        kyiv(saturday, "20:00"), 4, "Olena K.", PHONE)
    assert "fully_booked" in refusal.reasons and refusal.created_by == staff["host"]
    bad = host.post("/desk/samna/refusal/", {"party_size": 4, "start": start, "phone": "12"}, **HX)
    assert bad.status_code == 400 and Refusal.objects.count() == 1


def test_a_manager_overrides_with_a_reason_and_a_host_cannot(samna, staff, saturday):
    fill_for_four(samna, staff, saturday, "20:00")
    host, manager = desk_client(staff["host"]), desk_client(staff["manager"])
    forbidden = book(host, saturday, "20:00", override_reason="my friend")
    assert forbidden.status_code == 403
    assert not Reservation.objects.filter(guest__phone=PHONE).exists()

    dialog = book(manager, saturday, "20:00").content.decode()
    assert 'data-testid="override"' in dialog and 'name="override_reason"' in dialog
    assert 'data-testid="override-submit"' in dialog
    done = book(manager, saturday, "20:00", override_reason="regulars, celebrating")
    assert done.status_code == 200 and "override" in done.content.decode()
    won = Reservation.objects.get(guest__phone=PHONE)
    assert won.start == kyiv(saturday, "20:00") and won.overbooked
    assert (won.override_bypassed, won.override_reason, won.override_by) == (
        "overbooking_limit", "regulars, celebrating", staff["manager"])
    page = manager.get(f"/desk/samna/?date={saturday}").content.decode()
    assert re.search(rf'data-testid="booking-{won.pk}".*?data-badge="override"', page, re.S)


def test_the_override_takes_a_held_table_first(samna, staff, saturday):
    """Saturday 19:30, every free 2-top but the held T3 and T4 taken: a manager's override seats on one."""
    manager = desk_client(staff["manager"])
    for i in range(8):  # T1, T2, T11, T12, T5–T8
        reservation_create(restaurant=samna, start=kyiv(saturday, "19:30"), party_size=2, channel="host",
                           guest=GuestDetails(name=f"Two {i}"), by=staff["host"])
    for i in range(2):  # the overbooking limit: 4 covers
        reservation_create(restaurant=samna, start=kyiv(saturday, "19:30"), party_size=2, channel="phone",
                           guest=GuestDetails(name=f"Over {i}"), by=staff["host"])
    dialog = book(manager, saturday, "19:30", party_size=2).content.decode()
    assert "held back for walk-ins" in dialog
    assert book(manager, saturday, "19:30", party_size=2, override_reason="a regular").status_code == 200
    won = Reservation.objects.get(guest__phone=PHONE)
    assert won.override_bypassed == "hold_back"
    assert [a.table.name for a in won.assignments.select_related("table")] in (["T3"], ["T4"])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "tomorrow"])
def test_dates_off_the_calendar_are_bad_input_never_an_error_page(host, day):
    response = host.post("/desk/samna/book/", {"party_size": 2, "date": day, "time": "20:00", "name": "X"}, **HX)
    assert response.status_code == 400 and 'data-testid="booking-form"' in response.content.decode()
    refusal = host.post("/desk/samna/refusal/", {"party_size": 2, "start": f"{day}T20:00", "phone": ""}, **HX)
    assert refusal.status_code == 400
    assert host.get(f"/desk/samna/?date={day}").status_code == 200
    assert host.get(f"/desk/samna/slots/?party_size=2&date={day}").status_code == 200
    assert not Reservation.objects.exists() and not Refusal.objects.exists()


def test_a_manager_next_door_is_a_host_at_this_desk(samna, steakhouse, staff, saturday):
    """`duo` manages The Steakhouse and hosts at Samna: at Samna's desk no Override, and one posted is refused;
    at The Steakhouse's, a manager's seat form with its reason."""
    fill_for_four(samna, staff, saturday, "20:00")
    duo = desk_client(staff["duo"])

    dialog = book(duo, saturday, "20:00")
    assert dialog.status_code == 409
    assert 'data-testid="override"' not in dialog.content.decode()
    forbidden = book(duo, saturday, "20:00", override_reason="my friend")
    assert forbidden.status_code == 403
    assert not Reservation.objects.filter(guest__phone=PHONE).exists()

    steak = reservation_create(restaurant=steakhouse, start=kyiv(saturday, "20:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Taras"), by=staff["steak-host"])
    samna_party = Reservation.objects.filter(restaurant=samna).first()
    assert 'name="override_reason"' in duo.get(f"/desk/steakhouse/r/{steak.pk}/seat-tables/", **HX).content.decode()
    assert 'name="override_reason"' not in duo.get(f"/desk/samna/r/{samna_party.pk}/seat-tables/",
                                                   **HX).content.decode()
