"""Walk-ins, the waitlist and the guest panel on the desk, on the real clock.

Walk-ins happen now: like the API's walk-in tests, these move Samna into the fixed-offset time zone where it
is mid-afternoon at this very moment, so they give the same answer at any hour.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reservations.models import HoldBackRule, OutboundMessage, OverbookingPolicy, Reservation, Table, WaitlistEntry
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.walk_ins import walk_in_arrive
from tests.conftest import kyiv
from tests.reservations.test_walk_ins import set_local_hour

from .conftest import HX

pytestmark = pytest.mark.django_db

TWO_TOPS = {"T1", "T2", "T3", "T4", "T11", "T12", "T5", "T6", "T7", "T8"}


@pytest.fixture
def open_now(samna):
    set_local_hour(samna, 14)
    return samna


def walk_in(client, party_size: int = 2, **guest):
    return client.post("/desk/samna/walk-in/", {"party_size": party_size, **guest}, **HX)


def waiting_item(page: str, entry: WaitlistEntry) -> str:
    match = re.search(rf'<li data-testid="waiting-{entry.pk}".*?</li>', page, re.S)
    assert match, f"entry {entry.pk} is not on the waitlist"
    return match.group(0)


def test_a_walk_in_is_seated_at_once_and_undo_frees_the_table(host, open_now):
    response = walk_in(host, 2, name="Taras", phone="+380671110004")
    assert response.status_code == 200
    seated = Reservation.objects.get()
    assert (seated.status, seated.channel, seated.party_size) == ("seated", "walk_in", 2)
    table = seated.assignments.get().table.name
    assert table in TWO_TOPS and table in response.content.decode()
    assert str(seated.guest.phone) == "+380671110004"
    assert host.post("/desk/samna/undo/", **HX).status_code == 200
    seated.refresh_from_db()
    assert seated.status == "cancelled" and not seated.assignments.filter(released=False).exists()


def test_a_walk_in_takes_a_held_table_a_booking_may_not(host, open_now):
    """Only the held T3 and T4 are left: the walk-in sits at one; a booking for later is refused them."""
    Table.objects.filter(restaurant=open_now).exclude(name__in=["T3", "T4"]).update(is_active=False)
    rule = HoldBackRule.objects.get(restaurant=open_now)
    rule.weekdays, rule.starts, rule.ends = list(range(7)), rule.starts.replace(hour=12), rule.ends.replace(hour=22)
    rule.save()
    OverbookingPolicy.objects.filter(restaurant=open_now).update(is_active=False)  # no way round the hold
    open_now.save()  # a new configuration token, as the admin gives it
    local = timezone.now().astimezone(open_now.tz)
    later = (local + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    refused = host.post("/desk/samna/book/", {"party_size": 2, "date": later.date().isoformat(),
                                              "time": f"{later:%H:%M}", "name": "Phone"}, **HX)
    assert refused.status_code == 409 and "held back for walk-ins" in refused.content.decode()
    assert walk_in(host, 2).status_code == 200
    seated = Reservation.objects.get(channel="walk_in")
    assert seated.assignments.get().table.name in ("T3", "T4")


def test_a_full_room_puts_the_walk_in_on_the_waitlist_with_a_quote(host, open_now, staff):
    for _ in TWO_TOPS:
        assert walk_in_arrive(restaurant=open_now, party_size=2, by=staff["host"]).status == "seated"
    response = walk_in(host, 2, name="Ira", phone="+380671110005")
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.status == "waiting" and entry.quoted_wait_minutes >= 80  # every table just sat for 90 minutes
    assert f"quote {entry.quoted_wait_minutes} min" in response.content.decode()
    page = host.get("/desk/samna/").content.decode()
    item = waiting_item(page, entry)
    assert 'data-late="false"' in item and "Ira" in item
    assert f"quoted {entry.quoted_wait_minutes} min" in item and "waiting 0 min" in item
    assert 'data-action="notify"' in item and 'data-action="seat"' in item
    # Undo takes them off the list.
    assert host.post("/desk/samna/undo/", **HX).status_code == 200
    entry.refresh_from_db()
    assert entry.status == "left"


def test_a_party_waiting_longer_than_quoted_turns_red(host, open_now, staff):
    for _ in TWO_TOPS:
        walk_in_arrive(restaurant=open_now, party_size=2, by=staff["host"])
    walk_in(host, 2, name="Ira")
    entry = WaitlistEntry.objects.get()
    entry.created_at = timezone.now() - timedelta(minutes=entry.quoted_wait_minutes + 3)
    entry.save()
    item = waiting_item(host.get("/desk/samna/").content.decode(), entry)
    assert 'data-late="true"' in item and f"waiting {entry.quoted_wait_minutes + 3} min" in item


def test_text_table_ready_then_seat_from_the_waitlist(host, open_now, staff):
    seated = [walk_in_arrive(restaurant=open_now, party_size=2, by=staff["host"]).reservation for _ in TWO_TOPS]
    walk_in(host, 2, name="Ira", phone="+380671110005")
    walk_in(host, 2)  # no phone: nobody to text
    ira, anonymous = WaitlistEntry.objects.order_by("pk")
    assert host.post(f"/desk/samna/w/{ira.pk}/notify/", **HX).status_code == 200
    # The toast offers undo after every action, and says so when a step has no inverse.
    no_undo = host.post("/desk/samna/undo/", **HX)
    assert no_undo.status_code == 409 and "cannot be taken back" in no_undo.content.decode()
    text = OutboundMessage.objects.get(kind="table_ready")
    assert str(text.to) == "+380671110005" and text.waitlist_entry == ira
    page = host.get("/desk/samna/").content.decode()
    assert "texted" in waiting_item(page, ira)
    assert re.search(r'data-action="notify"[^>]*disabled', waiting_item(page, anonymous))
    assert host.post(f"/desk/samna/w/{anonymous.pk}/notify/", **HX).status_code == 409
    # No table yet: seating is refused and they keep their place.
    assert host.post(f"/desk/samna/w/{ira.pk}/seat/", **HX).status_code == 409
    # A party leaves; Ira takes the table.
    reservation_transition(reservation=seated[0], action="complete", by=staff["host"])
    response = host.post(f"/desk/samna/w/{ira.pk}/seat/", **HX)
    assert response.status_code == 200
    ira.refresh_from_db()
    assert ira.status == "seated" and ira.reservation.status == "seated"
    page = host.get("/desk/samna/").content.decode()
    assert f'data-testid="waiting-{ira.pk}"' not in page and f'data-testid="waiting-{anonymous.pk}"' in page
    assert host.post(f"/desk/samna/w/{anonymous.pk}/leave/", **HX).status_code == 200
    anonymous.refresh_from_db()
    assert anonymous.status == "left"


def test_another_restaurants_waitlist_entry_is_404(open_now, staff, steakhouse):
    from .conftest import desk_client

    for _ in TWO_TOPS:
        walk_in_arrive(restaurant=open_now, party_size=2)
    entry = walk_in_arrive(restaurant=open_now, party_size=2).entry
    steak = desk_client(staff["steak-host"])
    for action in ("notify", "seat", "leave"):
        assert steak.post(f"/desk/steakhouse/w/{entry.pk}/{action}/", **HX).status_code == 404
    entry.refresh_from_db()
    assert entry.status == "waiting"


def test_walk_ins_outside_service_hours_are_told_so(host, samna):
    set_local_hour(samna, 4)
    response = walk_in(host, 2)
    assert response.status_code == 409 and "not seating" in response.content.decode()
    assert not Reservation.objects.exists() and not WaitlistEntry.objects.exists()


def test_the_guest_panel_shows_what_we_know_of_them(host, samna, staff, saturday):
    phone = "+380501112233"
    past = reservation_create(restaurant=samna, start=kyiv(saturday, "12:00"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Oksana", phone=phone), by=staff["host"],
                              expectations=["window_seat"])
    reservation_transition(reservation=past, action="seat", by=staff["host"])
    reservation_transition(reservation=past, action="complete", by=staff["host"])
    guest = past.guest
    guest.tags, guest.notes, guest.sms_opt_out = ["regular"], "Prefers still water", True
    guest.save()
    upcoming = reservation_create(restaurant=samna, start=kyiv(saturday, "19:00"), party_size=4, channel="phone",
                                  guest=GuestDetails(name="Oksana", phone=phone), by=staff["host"])
    panel = host.get(f"/desk/samna/r/{upcoming.pk}/", **HX).content.decode()
    assert f'data-guest="{guest.pk}"' in panel
    card = host.get(f"/desk/samna/guest/{guest.pk}/", **HX).content.decode()
    assert 'data-testid="guest-panel"' in card
    assert re.search(r'data-testid="guest-visits">1<', card)
    assert "window_seat" in card and "regular" in card and "Prefers still water" in card
    assert "opted out" in card
    history = re.search(r'data-testid="guest-history">(.*?)</table>', card, re.S).group(1)
    assert history.count("<tr>") == 2 and "completed" in history and "booked" in history


def test_the_host_corrects_what_we_know_of_a_guest(host, samna, staff, saturday, steakhouse):
    booking = reservation_create(restaurant=samna, start=kyiv(saturday, "19:00"), party_size=2, channel="phone",
                                 guest=GuestDetails(name="Oksana", phone="+380501112233"), by=staff["host"])
    guest = booking.guest
    response = host.post(f"/desk/samna/guest/{guest.pk}/", {
        "notes": "Allergic to nuts", "tags": "regular, vip", "expectations": "window_seat", "sms_opt_out": "on"}, **HX)
    assert response.status_code == 200 and 'data-testid="guest-panel"' in response.content.decode()
    guest.refresh_from_db()
    assert (guest.notes, guest.tags, guest.expectations, guest.sms_opt_out) == (
        "Allergic to nuts", ["regular", "vip"], ["window_seat"], True)
    assert "opted out" in response.content.decode()
    # Only the guest takes back their STOP: the desk cannot switch our texts on again.
    host.post(f"/desk/samna/guest/{guest.pk}/", {"notes": "Allergic to nuts"}, **HX)
    guest.refresh_from_db()
    assert guest.sms_opt_out is True
    # Another group's staff cannot see or change them.
    from .conftest import desk_client

    steak = desk_client(staff["steak-host"])
    assert steak.post(f"/desk/steakhouse/guest/{guest.pk}/", {"notes": "x"}, **HX).status_code == 404
    guest.refresh_from_db()
    assert guest.notes == "Allergic to nuts"


def test_the_walk_in_form_says_before_the_tap_whether_they_sit_or_wait(host, open_now, staff):
    form = host.get("/desk/samna/new/?kind=walk_in", **HX).content.decode()
    free = re.search(r'data-seating="([^"]+)"', form)
    assert free and free.group(1) in TWO_TOPS  # a party of two sits now
    assert re.search(r'data-seating="(T9|T10)"', host.get("/desk/samna/walk-in/now/?party_size=6").content.decode())
    assert "this large" in host.get("/desk/samna/walk-in/now/?party_size=40").content.decode()
    for _ in TWO_TOPS:
        walk_in_arrive(restaurant=open_now, party_size=2, by=staff["host"])
    outlook = host.get("/desk/samna/walk-in/now/?party_size=2").content.decode()
    quoted = int(re.search(r'data-wait="(\d+)"', outlook).group(1))
    assert quoted >= 80 and "0 parties ahead" in outlook  # every 2-top just sat for 90 minutes
    # Looking changed nothing; the tap itself gives the same quote (a rounding step apart at most: the clock moved).
    assert not WaitlistEntry.objects.exists()
    walk_in(host, 2)
    assert abs(WaitlistEntry.objects.get().quoted_wait_minutes - quoted) <= 5
    assert "1 party ahead" in host.get("/desk/samna/walk-in/now/?party_size=2").content.decode()


def test_the_walk_in_form_says_when_the_restaurant_is_not_seating(host, samna):
    set_local_hour(samna, 4)
    assert "outside service hours" in host.get("/desk/samna/new/?kind=walk_in", **HX).content.decode()
