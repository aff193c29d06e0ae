"""One-tap status changes on the desk, seating (suggested, chosen, held), and undo of the user's last action."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reservations.models import Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv
from tests.reservations.test_walk_ins import set_local_hour

from .conftest import HX, desk_client

pytestmark = pytest.mark.django_db


def tables(reservation: Reservation) -> list[str]:
    return sorted(a.table.name for a in reservation.assignments.select_related("table").filter(released=False))


def actions_offered(panel: str) -> list[str]:
    return re.findall(r'data-action="([\w-]+)"', panel)


def act(client, reservation: Reservation, action: str, **data):
    return client.post(f"/desk/samna/r/{reservation.pk}/{action}/", data, **HX)


@pytest.fixture
def party(samna, staff, saturday) -> Reservation:
    return reservation_create(restaurant=samna, start=kyiv(saturday, "19:30"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena K."), by=staff["host"])


def test_the_panel_offers_only_the_steps_valid_now(host, staff, party):
    panel = host.get(f"/desk/samna/r/{party.pk}/", **HX).content.decode()
    assert 'data-testid="booking-panel"' in panel and "Olena K." in panel
    assert actions_offered(panel) == ["confirm", "arrive", "seat", "cancel"]  # no no-show before their time
    reservation_transition(reservation=party, action="seat", by=staff["host"])
    panel = host.get(f"/desk/samna/r/{party.pk}/", **HX).content.decode()
    assert actions_offered(panel) == ["complete"]
    reservation_transition(reservation=party, action="complete", by=staff["host"])
    assert actions_offered(host.get(f"/desk/samna/r/{party.pk}/", **HX).content.decode()) == []


def test_a_party_moves_through_the_evening_one_tap_at_a_time(host, party):
    table = tables(party)
    for action, status in (("confirm", "confirmed"), ("arrive", "arrived")):
        response = act(host, party, action)
        assert response.status_code == 200
        assert response["HX-Trigger"] == "book-changed"  # every host's book refreshes at once
        body = response.content.decode()
        assert 'data-testid="toast"' in body and 'data-testid="undo"' in body and "Olena K." in body
        party.refresh_from_db()
        assert party.status == status
    # Seating offers the party's own table, pre-chosen.
    form = host.get(f"/desk/samna/r/{party.pk}/seat-tables/", **HX).content.decode()
    assert 'data-testid="seat-tables"' in form and 'data-testid="seat-submit"' in form
    assert re.search(rf'value="{table[0]}" checked', form)
    assert act(host, party, "seat", tables=table).status_code == 200
    party.refresh_from_db()
    assert party.status == "seated" and tables(party) == table
    assert act(host, party, "complete").status_code == 200
    party.refresh_from_db()
    assert party.status == "completed" and tables(party) == []  # the table is free again


def test_seating_on_another_free_table_moves_the_party(host, party):
    before = tables(party)
    other = next(t for t in ("T5", "T6", "T7", "T8") if t not in before)
    response = act(host, party, "seat", tables=[other])
    assert response.status_code == 200 and other in response.content.decode()
    party.refresh_from_db()
    assert tables(party) == [other]


def test_a_held_table_needs_a_managers_reason(samna, staff, party):
    """Saturday 19:30 is inside the 19:00–22:00 hold on T3 and T4."""
    host, manager = desk_client(staff["host"]), desk_client(staff["manager"])
    host_form = host.get(f"/desk/samna/r/{party.pk}/seat-tables/", **HX).content.decode()
    assert 'name="override_reason"' not in host_form
    assert re.search(r'value="T3"[^>]*>\s*T3.*?held', host_form, re.S)  # shown as held
    refused = act(host, party, "seat", tables=["T3"])
    assert refused.status_code == 409 and "held back" in refused.content.decode()
    forbidden = act(host, party, "seat", tables=["T3"], override_reason="regulars")
    assert forbidden.status_code == 403
    party.refresh_from_db()
    assert party.status == "booked" and tables(party) != ["T3"]

    assert 'name="override_reason"' in manager.get(f"/desk/samna/r/{party.pk}/seat-tables/", **HX).content.decode()
    assert act(manager, party, "seat", tables=["T3"]).status_code == 409
    done = act(manager, party, "seat", tables=["T3"], override_reason="regulars, celebrating")
    assert done.status_code == 200
    party.refresh_from_db()
    assert party.status == "seated" and tables(party) == ["T3"]
    assert (party.override_bypassed, party.override_reason, party.override_by) == (
        "hold_back", "regulars, celebrating", staff["manager"])


def test_a_no_show_only_once_their_time_has_passed(host, samna, staff, party):
    early = act(host, party, "no-show")
    assert early.status_code == 409
    party.refresh_from_db()
    assert party.status == "booked"
    # A booking whose time has come: made an hour before its start, which is now behind us.
    set_local_hour(samna, 15)
    local_now = timezone.now().astimezone(samna.tz)
    start = local_now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    late = reservation_create(restaurant=samna, start=start, party_size=2, channel="host",
                              guest=GuestDetails(name="Late"), by=staff["host"], now=start - timedelta(hours=1))
    assert "no-show" in actions_offered(host.get(f"/desk/samna/r/{late.pk}/", **HX).content.decode())
    assert act(host, late, "no-show").status_code == 200
    late.refresh_from_db()
    assert late.status == "no_show" and tables(late) == []


def test_cancel_frees_the_table_and_an_unknown_action_is_404(host, party):
    assert act(host, party, "vanish").status_code == 404
    assert act(host, party, "cancel").status_code == 200
    party.refresh_from_db()
    assert party.status == "cancelled" and tables(party) == []
    again = act(host, party, "cancel")
    assert again.status_code == 409 and "cancelled" in again.content.decode()


# --- undo ---------------------------------------------------------------------------------------------------


def undo(client):
    return client.post("/desk/samna/undo/", **HX)


def test_undo_takes_back_a_status_step(host, party):
    act(host, party, "confirm")
    response = undo(host)
    assert response.status_code == 200 and "booked" in response.content.decode()
    party.refresh_from_db()
    assert party.status == "booked" and party.confirmed_at is None
    nothing = undo(host)
    assert nothing.status_code == 409 and "Nothing to undo" in nothing.content.decode()


def test_undo_of_a_cancel_holds_the_same_table_again_while_it_is_free(host, party):
    table = tables(party)
    act(host, party, "cancel")
    assert undo(host).status_code == 200
    party.refresh_from_db()
    assert party.status == "booked" and party.cancelled_at is None and tables(party) == table


def test_undo_of_a_cancel_says_so_when_the_table_was_given_away(host, samna, staff, saturday):
    # The only 5–6 tables are T9 and T10: book both, cancel one, let another party take it.
    first = reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=6, channel="host",
                               guest=GuestDetails(name="First"), by=staff["host"])
    reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=6, channel="host",
                       guest=GuestDetails(name="Second"), by=staff["host"])
    freed = tables(first)
    act(host, first, "cancel")
    taker = reservation_create(restaurant=samna, start=kyiv(saturday, "13:00"), party_size=6, channel="host",
                               guest=GuestDetails(name="Taker"), by=staff["manager"])
    assert tables(taker) == freed
    refused = undo(host)
    assert refused.status_code == 409
    assert f"{freed[0]} has been given to another party" in refused.content.decode()
    first.refresh_from_db()
    assert first.status == "cancelled" and tables(first) == []


def test_undo_is_refused_when_someone_moved_the_booking_since(host, staff, party):
    act(host, party, "confirm")
    reservation_transition(reservation=party, action="arrive", by=staff["manager"])
    refused = undo(host)
    assert refused.status_code == 409 and "changed it since" in refused.content.decode()
    party.refresh_from_db()
    assert party.status == "arrived"


def test_undo_is_each_users_own(staff, party):
    host, manager = desk_client(staff["host"]), desk_client(staff["manager"])
    act(host, party, "confirm")
    assert undo(manager).status_code == 409  # the manager did nothing to undo
    party.refresh_from_db()
    assert party.status == "confirmed"
    assert undo(host).status_code == 200


def test_undo_of_a_seat_and_of_a_complete(host, party):
    table = tables(party)
    act(host, party, "seat")
    undo(host)
    party.refresh_from_db()
    assert party.status == "booked" and party.seated_at is None and party.arrived_at is None
    act(host, party, "seat")
    act(host, party, "complete")
    assert undo(host).status_code == 200
    party.refresh_from_db()
    assert party.status == "seated" and party.completed_at is None and tables(party) == table
