"""Recovery on the front desk: a mistake in two taps, the cases panel and its one-tap steps, the tables held
for a recovery offer on the timeline, and fail / OK / WOW after a visit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.models import CaseAction, ExpectationOutcome, RecoveryCase, RecoveryOffer
from recovery.services.cases import case_open
from reservations.models import Reservation, Table
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.demo_evening import demo_evening_book
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

from .conftest import HX, desk_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def party(samna, staff, saturday) -> Reservation:
    return reservation_create(restaurant=samna, start=kyiv(saturday, "19:30"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena K."), by=staff["host"],
                              expectations=["window seat", "birthday"])


@pytest.fixture
def seated(party, staff) -> Reservation:
    return reservation_transition(reservation=party, action="seat", by=staff["host"])


def overdue_case(restaurant, summary="Marta, party of 4, turned away") -> RecoveryCase:
    """A case opened an hour ago that nobody answered: long past any kind's deadline."""
    return case_open(restaurant=restaurant, kind="mistake", summary=summary, now=timezone.now() - timedelta(hours=1))


def fresh_case(restaurant, summary="Ivan, spilled drink at T3") -> RecoveryCase:
    return case_open(restaurant=restaurant, kind="mistake", summary=summary)


# --- a mistake in two taps -------------------------------------------------------------------------------------


def test_a_seated_partys_panel_offers_something_went_wrong_and_two_taps_open_a_case(host, staff, seated):
    panel = host.get(f"/desk/samna/r/{seated.pk}/", **HX).content.decode()
    assert 'data-testid="mistake"' in panel
    choices = host.get(f"/desk/samna/r/{seated.pk}/mistake/", **HX).content.decode()  # tap one
    assert re.findall(r'data-mistake="(\w+)"', choices) == ["wrong_dish", "spilled_drink", "forgotten_request",
                                                             "other"]
    response = host.post(f"/desk/samna/r/{seated.pk}/mistake/",  # tap two
                         {"what": "spilled_drink", "note": "red wine on the jacket"}, **HX)
    assert response.status_code == 200
    assert "Case opened; the manager will see it" in response.content.decode()
    assert response["HX-Trigger"] == "book-changed"
    case = RecoveryCase.objects.get(reservation=seated)
    assert (case.kind, case.status, case.mistake, case.opened_by) == ("mistake", "open", "spilled_drink",
                                                                       staff["host"])
    assert "red wine on the jacket" in case.summary
    # The booking now wears the "case" badge on the timeline.
    page = host.get("/desk/samna/", {"date": seated.start.astimezone(seated.restaurant.tz).date().isoformat()})
    block = re.search(rf'data-testid="booking-{seated.pk}".*?</button>', page.content.decode(), re.S).group(0)
    assert 'data-badge="recovery"' in block


def test_a_party_not_yet_here_has_no_mistake_button_and_the_desk_refuses_one(host, party):
    assert 'data-testid="mistake"' not in host.get(f"/desk/samna/r/{party.pk}/", **HX).content.decode()
    response = host.post(f"/desk/samna/r/{party.pk}/mistake/", {"what": "wrong_dish"}, **HX)
    assert response.status_code == 409
    assert not RecoveryCase.objects.exists()


def test_a_mistake_needs_one_of_the_choices(host, seated):
    response = host.post(f"/desk/samna/r/{seated.pk}/mistake/", {"what": "rude_waiter"}, **HX)
    assert response.status_code == 400
    assert not RecoveryCase.objects.exists()


def test_another_restaurants_party_is_not_found(staff, seated):
    steak = desk_client(staff["steak-host"])
    response = steak.post(f"/desk/steakhouse/r/{seated.pk}/mistake/", {"what": "wrong_dish"}, **HX)
    assert response.status_code == 404
    assert not RecoveryCase.objects.exists()


# --- the cases panel ---------------------------------------------------------------------------------------------


def test_the_panel_lists_open_and_offered_cases_with_overdue_ones_marked(manager, samna, steakhouse):
    late, fresh = overdue_case(samna), fresh_case(samna)
    closed = fresh_case(samna, "Closed one")
    RecoveryCase.objects.filter(pk=closed.pk).update(status="resolved")
    theirs = overdue_case(steakhouse, "Steakhouse guest")
    body = manager.get("/desk/samna/recovery/", **HX).content.decode()
    assert 'data-testid="recovery-panel"' in body
    shown = dict(re.findall(r'data-testid="case-(\d+)" data-overdue="(\w+)"', body))
    assert shown == {str(late.pk): "true", str(fresh.pk): "false"}
    assert "OVERDUE" in body and "Marta, party of 4" in body and "min left" in body
    assert str(theirs.pk) not in shown and "Steakhouse guest" not in body
    assert 'href="/recovery/samna/report/"' in body  # the manager's report, a tap away


def test_the_manager_sees_the_overdue_count_in_the_header_and_a_host_does_not(manager, host, samna):
    overdue_case(samna), overdue_case(samna, "Second"), fresh_case(samna)
    page = manager.get("/desk/samna/").content.decode()
    assert re.search(r'data-testid="overdue-count" data-count="2"', page)
    assert 'data-testid="recovery-tab"' in page
    host_page = host.get("/desk/samna/").content.decode()
    assert 'data-testid="recovery-tab"' in host_page and 'data-testid="overdue-count"' not in host_page


def test_a_host_records_a_call_and_the_case_is_no_longer_overdue(host, manager, staff, samna):
    case = overdue_case(samna)
    response = host.post(f"/desk/samna/case/{case.pk}/called/", {"note": "left a voicemail"}, **HX)
    assert response.status_code == 200 and "Call recorded" in response.content.decode()
    step = case.actions.get(kind="called")
    assert (step.note, step.by) == ("left a voicemail", staff["host"])
    assert re.search(rf'data-testid="case-{case.pk}" data-overdue="false"', response.content.decode())
    assert 'data-count="0"' in manager.get("/desk/samna/").content.decode()


def test_apology_and_note_go_on_the_timeline_and_an_empty_note_is_refused(host, samna):
    case = fresh_case(samna)
    assert host.post(f"/desk/samna/case/{case.pk}/apology/", {}, **HX).status_code == 200
    assert host.post(f"/desk/samna/case/{case.pk}/note/", {"note": "  "}, **HX).status_code == 400
    assert host.post(f"/desk/samna/case/{case.pk}/note/", {"note": "will come Friday"}, **HX).status_code == 200
    assert [a.kind for a in case.actions.all()] == ["opened", "apology", "note"]
    assert host.post(f"/desk/samna/case/{case.pk}/refund/", {}, **HX).status_code == 404  # not a desk tap


def test_a_host_cannot_resolve_or_lose_a_case_and_sees_no_such_buttons(host, samna):
    case = fresh_case(samna)
    body = host.get("/desk/samna/recovery/", **HX).content.decode()
    assert 'data-action="called"' in body and 'data-action="resolve"' not in body and 'data-action="lost"' not in body
    for action in ("resolve", "lost"):
        response = host.post(f"/desk/samna/case/{case.pk}/{action}/", {}, **HX)
        assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == "open"


def test_a_manager_resolves_a_case_and_it_leaves_the_panel(manager, staff, samna):
    case, other = fresh_case(samna), fresh_case(samna, "Other")
    response = manager.post(f"/desk/samna/case/{case.pk}/resolve/", {"note": "dessert on us"}, **HX)
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.closed_at is not None) == ("resolved", True)
    assert case.actions.get(kind="resolved").by == staff["manager"]
    body = response.content.decode()
    assert f'data-testid="case-{case.pk}"' not in body and f'data-testid="case-{other.pk}"' in body
    assert manager.post(f"/desk/samna/case/{case.pk}/lost/", {}, **HX).status_code == 409  # already closed
    assert manager.post(f"/desk/samna/case/{other.pk}/lost/", {}, **HX).status_code == 200
    assert RecoveryCase.objects.get(pk=other.pk).status == "lost"


def test_another_restaurants_case_is_404_and_untouched(staff, samna):
    case = fresh_case(samna)
    steak = desk_client(staff["steak-manager"])
    for action in ("called", "resolve"):
        assert steak.post(f"/desk/steakhouse/case/{case.pk}/{action}/", {}, **HX).status_code == 404
    # Nor through Samna's desk: a steakhouse manager is not on Samna's staff.
    assert steak.post(f"/desk/samna/case/{case.pk}/resolve/", {}, **HX).status_code == 403
    assert [a.kind for a in case.actions.all()] == ["opened"]
    assert RecoveryCase.objects.get(pk=case.pk).status == "open"


def test_case_steps_and_mistakes_refuse_cross_site_posts_and_anonymous_users(staff, samna, seated):
    case = fresh_case(samna)
    browser = desk_client(staff["manager"], csrf=True)
    assert browser.post(f"/desk/samna/case/{case.pk}/resolve/", {}, **HX).status_code == 403
    assert browser.post(f"/desk/samna/r/{seated.pk}/mistake/", {"what": "wrong_dish"}, **HX).status_code == 403
    anonymous = desk_client()
    assert anonymous.post(f"/desk/samna/case/{case.pk}/called/", {}).status_code == 302
    assert anonymous.get("/desk/samna/recovery/").status_code == 302
    assert RecoveryCase.objects.get(pk=case.pk).status == "open"
    assert CaseAction.objects.filter(case=case).count() == 1
    assert RecoveryCase.objects.filter(kind="mistake", reservation=seated).count() == 0


# --- a table held for a recovery offer -------------------------------------------------------------------------


@pytest.fixture
def offer(samna, staff, saturday) -> RecoveryOffer:
    case = case_open(restaurant=samna, kind="turned_away", summary="Marta, party of 2", now=timezone.now())
    case.guest = None
    expires = kyiv(saturday, "20:12")
    held = RecoveryOffer.objects.create(
        restaurant=samna, case=case, start=kyiv(saturday, "20:00"), end=kyiv(saturday, "22:00"), party_size=2,
        offered_at=expires - timedelta(minutes=10), expires_at=expires)
    held.tables.set([Table.objects.get(restaurant=samna, name="T3")])
    RecoveryCase.objects.filter(pk=case.pk).update(status="offered", summary="Marta, party of 2")
    return held


def test_a_table_held_for_an_offer_shows_on_the_timeline_whom_for_and_until_when(host, samna, offer, saturday):
    from reservations.models import Guest

    guest = Guest.objects.create(group=samna.group, name="Marta S.")
    RecoveryCase.objects.filter(pk=offer.case_id).update(guest=guest)
    page = host.get("/desk/samna/", {"date": saturday.isoformat(), "view": "timeline"}).content.decode()
    row = re.search(r'data-testid="table-row-T3".*?</div>\s*</div>', page, re.S).group(0)
    hold = re.search(rf'<span class="hold" data-testid="offer-hold-{offer.pk}"[^>]*>([^<]*)</span>', row)
    assert hold and hold.group(1) == "held for Marta S. until 20:12 — offered by SMS"
    other = re.search(r'data-testid="table-row-T4".*?</div>\s*</div>', page, re.S).group(0)
    assert "offer-hold" not in other
    # Taken, expired or withdrawn: the table is the book's again and the block is gone.
    RecoveryOffer.objects.filter(pk=offer.pk).update(status="expired")
    page = host.get("/desk/samna/", {"date": saturday.isoformat()}).content.decode()
    assert "offer-hold-" not in page


def test_the_desk_page_costs_a_bounded_number_of_queries_with_cases_and_offers(host, manager, samna, staff,
                                                                               saturday, offer):
    book = demo_evening_book(restaurant=samna, day=saturday, parties=40, by=staff["host"])

    def cost(client, url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, **HX).status_code == 200
        return len(queries)

    url = f"/desk/samna/?date={saturday}&view=timeline"
    before = {who: cost(client, url) for who, client in (("host", host), ("manager", manager))}
    panel_before = cost(manager, "/desk/samna/recovery/")
    for r in book[:6]:
        fresh_case(samna, f"case for {r.pk}")
        overdue_case(samna, f"late case for {r.pk}")
    for i in range(3):
        more = RecoveryOffer.objects.create(
            restaurant=samna, case=fresh_case(samna), start=kyiv(saturday, "21:00"), end=kyiv(saturday, "23:00"),
            party_size=2, offered_at=timezone.now(), expires_at=timezone.now() + timedelta(minutes=10))
        more.tables.set([Table.objects.get(restaurant=samna, name=f"T{i + 5}")])
    assert cost(host, url) == before["host"]
    assert cost(manager, url) == before["manager"] <= 22
    assert cost(manager, "/desk/samna/recovery/") == panel_before <= 10


# --- expectations: fail / OK / WOW -------------------------------------------------------------------------------


def test_after_the_visit_each_expectation_is_scored_in_two_taps_and_can_be_corrected(host, staff, seated):
    done = reservation_transition(reservation=seated, action="complete", by=staff["host"])
    panel = host.get(f"/desk/samna/r/{done.pk}/", **HX).content.decode()
    assert 'data-testid="outcomes-open"' in panel
    form = host.get(f"/desk/samna/r/{done.pk}/outcomes/", **HX).content.decode()
    assert 'data-testid="outcome-window seat"' in form and 'data-testid="outcome-birthday"' in form
    response = host.post(f"/desk/samna/r/{done.pk}/outcomes/", {"expectation": "birthday", "outcome": "wow"}, **HX)
    assert response.status_code == 200
    assert re.search(r'data-testid="outcome-birthday" data-outcome="wow"', response.content.decode())
    host.post(f"/desk/samna/r/{done.pk}/outcomes/", {"expectation": "window seat", "outcome": "fail"}, **HX)
    host.post(f"/desk/samna/r/{done.pk}/outcomes/", {"expectation": "window seat", "outcome": "ok"}, **HX)
    scored = {o.expectation: (o.outcome, o.by) for o in ExpectationOutcome.objects.filter(reservation=done)}
    assert scored == {"birthday": ("wow", staff["host"]), "window seat": ("ok", staff["host"])}


def test_outcomes_are_refused_before_the_party_is_seated_and_for_unnamed_expectations(host, party, seated):
    assert host.post(f"/desk/samna/r/{seated.pk}/outcomes/", {"expectation": "live music", "outcome": "wow"},
                     **HX).status_code == 400
    assert host.post(f"/desk/samna/r/{seated.pk}/outcomes/", {"expectation": "birthday", "outcome": "great"},
                     **HX).status_code == 400
    reservation_transition(reservation=seated, action="complete", by=None)
    assert not ExpectationOutcome.objects.exists()


def test_a_booked_party_cannot_be_scored_yet(host, samna, staff, saturday):
    booked = reservation_create(restaurant=samna, start=kyiv(saturday, "18:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Petro"), by=staff["host"], expectations=["birthday"])
    assert 'data-testid="outcomes-open"' not in host.get(f"/desk/samna/r/{booked.pk}/", **HX).content.decode()
    response = host.post(f"/desk/samna/r/{booked.pk}/outcomes/", {"expectation": "birthday", "outcome": "ok"}, **HX)
    assert response.status_code == 409
    assert not ExpectationOutcome.objects.exists()


def test_another_restaurants_outcomes_are_404(staff, seated):
    steak = desk_client(staff["steak-host"])
    response = steak.post(f"/desk/steakhouse/r/{seated.pk}/outcomes/",
                          {"expectation": "birthday", "outcome": "wow"}, **HX)
    assert response.status_code == 404
    assert not ExpectationOutcome.objects.exists()


def test_the_recovery_work_speaks_ukrainian(staff, samna, seated, offer, saturday):
    from django.conf import settings
    from django.utils import translation

    late = overdue_case(samna)
    client = desk_client(staff["manager"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    try:
        panel = client.get("/desk/samna/recovery/", **HX).content.decode()
        assert "Повернення гостей" in panel and "ПРОСТРОЧЕНО" in panel and f"case-{late.pk}" in panel
        assert "Щось пішло не так" in client.get(f"/desk/samna/r/{seated.pk}/", **HX).content.decode()
        page = client.get("/desk/samna/", {"date": saturday.isoformat()}).content.decode()
        assert "до 20:12 — запропоновано SMS" in page
        done = client.post(f"/desk/samna/r/{seated.pk}/mistake/", {"what": "wrong_dish"}, **HX).content.decode()
        assert "Випадок відкрито; менеджер його побачить." in done
    finally:
        translation.activate(settings.LANGUAGE_CODE)
