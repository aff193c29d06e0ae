"""The recovery cases API: the list and its filters, one case, what staff record, closing, and overdue.

Expected answers are written out by hand: times with Kyiv's winter offset (+02:00), the order by deadline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.models import RecoveryCase
from recovery.services.cases import case_act, case_open
from recovery.services.causes import mistake_log
from reservations.errors import NoTables
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db

URL = "/api/v1/restaurants/samna/recovery-cases/"
PHONE = "+380671234567"


def booked(samna, day, hhmm="19:00", name="Olena K.", phone=PHONE):
    return reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=2, channel="phone",
                              guest=GuestDetails(name=name, phone=phone))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [c["id"] for c in response.json()]


@pytest.fixture
def three_cases(samna, staff, tuesday):
    """Opened on a December Tuesday (Kyiv +02:00): a mistake at 19:00, a long wait at 19:02, a cancellation at
    18:50 — deadlines 19:10, 19:07 and 19:20."""
    reservation = booked(samna, tuesday)
    mistake = mistake_log(reservation=reservation, what="forgotten_request", note="no candle on the cake",
                          by=staff["host"], now=kyiv(tuesday, "19:00"))
    wait = case_open(restaurant=samna, kind="long_wait", summary="waited", guest=reservation.guest,
                     reservation=reservation, now=kyiv(tuesday, "19:02"))
    other = booked(samna, tuesday, "20:00", name="Taras", phone="+380501112233")
    cancelled = case_open(restaurant=samna, kind="cancelled_by_restaurant", summary="cancelled",
                          guest=other.guest, reservation=other, by=staff["manager"], now=kyiv(tuesday, "18:50"))
    return mistake, wait, cancelled


def test_one_case_as_the_contract_shows_it(samna, host_api, three_cases, tuesday):
    mistake = three_cases[0]
    day = tuesday.isoformat()

    response = host_api.get(f"{URL}{mistake.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": mistake.pk, "kind": "mistake",
        "guest": {"id": mistake.guest.pk, "name": "Olena K.", "phone": PHONE},
        "opened_at": f"{day}T19:00:00+02:00", "respond_by": f"{day}T19:10:00+02:00", "status": "open",
        "actions": [{"kind": "opened", "note": mistake.summary, "at": f"{day}T19:00:00+02:00", "by": "host"}],
        "overdue": False,  # its deadline is two weeks ahead of today
        "answered_at": None, "summary": mistake.summary, "mistake": "forgotten_request",
        "reservation": mistake.reservation_id, "waitlist_entry": None, "refusal": None, "closed_at": None,
        "won_back": None,
    }


def test_the_list_is_most_urgent_first_and_filters_by_status_and_kind(samna, host_api, staff, three_cases):
    mistake, wait, cancelled = three_cases
    case_act(case=cancelled, kind="offered", note="T5 at 20:00")  # as the offer service marks it
    RecoveryCase.objects.filter(pk=cancelled.pk).update(status="offered")

    assert ids(host_api.get(URL)) == [wait.pk, mistake.pk, cancelled.pk]  # 19:07, 19:10, 19:20
    assert ids(host_api.get(URL, {"status": "open"})) == [wait.pk, mistake.pk]
    assert ids(host_api.get(URL, {"status": "open,offered"})) == [wait.pk, mistake.pk, cancelled.pk]
    assert ids(host_api.get(URL, {"status": "offered"})) == [cancelled.pk]
    assert ids(host_api.get(URL, {"kind": "mistake,cancelled_by_restaurant"})) == [mistake.pk, cancelled.pk]
    assert ids(host_api.get(URL, {"kind": "long_wait", "status": "open"})) == [wait.pk]
    assert ids(host_api.get(URL, {"status": "lost"})) == []


@pytest.mark.parametrize("query", [{"status": "closed"}, {"kind": "rude"}, {"overdue": "perhaps"}])
def test_a_filter_it_does_not_know_is_a_400_naming_it(samna, host_api, query):
    response = host_api.get(URL, query)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and set(response.json()["fields"]) == set(query)


def test_a_turned_away_stranger_is_shown_with_the_name_and_phone_they_gave(samna, host_api, anon_api, tuesday):
    reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=8, channel="phone",
                       guest=GuestDetails(name="Big table", phone="+380501110000"))
    with pytest.raises(NoTables):  # online, with a phone she proved (an unproven one opens no case)
        reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=8, channel="online",
                           guest=GuestDetails(name="Olena K.", phone=PHONE, phone_verified=True))

    [case] = host_api.get(URL, {"status": "open", "kind": "turned_away"}).json()

    assert case["guest"] == {"id": None, "name": "Olena K.", "phone": PHONE}
    assert case["refusal"] == {"id": case["refusal"]["id"], "start": f"{tuesday.isoformat()}T20:00:00+02:00",
                               "party_size": 8, "channel": "online", "reasons": ["fully_booked"]}
    assert case["actions"][0]["by"] is None  # the online guest was refused by the system, not by staff


# --- overdue --------------------------------------------------------------------------------------------------

def test_overdue_is_open_past_the_deadline_with_nobody_having_reached_the_guest(samna, manager_api, staff, tuesday):
    now = timezone.now()
    reservation = booked(samna, tuesday)
    late = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"], now=now - timedelta(minutes=11))
    called = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"],
                         now=now - timedelta(minutes=30))
    case_act(case=called, kind="called", by=staff["host"], now=now - timedelta(minutes=25))
    noted = mistake_log(reservation=reservation, what="other", by=staff["host"], now=now - timedelta(minutes=30))
    case_act(case=noted, kind="note", note="will call after service", by=staff["host"])  # a note reaches no one
    in_time = mistake_log(reservation=reservation, what="spilled_drink", by=staff["host"],
                          now=now - timedelta(minutes=9))
    closed = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"], now=now - timedelta(hours=1))
    RecoveryCase.objects.filter(pk=closed.pk).update(status="lost", closed_at=now)

    everything = {c["id"]: c for c in manager_api.get(URL).json()}

    assert {pk for pk, c in everything.items() if c["overdue"]} == {late.pk, noted.pk}
    assert everything[called.pk]["answered_at"] is not None and everything[late.pk]["answered_at"] is None
    assert sorted(ids(manager_api.get(URL, {"overdue": "true"}))) == sorted([late.pk, noted.pk])
    assert sorted(ids(manager_api.get(URL, {"overdue": "false"}))) == sorted([called.pk, in_time.pk, closed.pk])


# --- what staff record, and closing ---------------------------------------------------------------------------

def act(api, case, kind, note=""):
    return api.post(f"{URL}{case.pk}/actions/", {"kind": kind, "note": note}, format="json")


def test_a_host_records_a_call_and_the_case_is_answered(samna, host_api, staff):
    now = timezone.now()
    reservation = booked(samna, timezone.localdate() + timedelta(days=1))
    case = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"], now=now - timedelta(minutes=20))
    assert host_api.get(f"{URL}{case.pk}/").json()["overdue"] is True

    response = act(host_api, case, "called", "apologised, a dessert on us next time")

    assert response.status_code == 201
    body = response.json()
    assert [(a["kind"], a["note"], a["by"]) for a in body["actions"]] == [
        ("opened", case.summary, "host"), ("called", "apologised, a dessert on us next time", "host")]
    assert body["overdue"] is False and body["status"] == "open"
    assert body["answered_at"] == body["actions"][1]["at"]


@pytest.fixture
def tonights_cases(samna, staff):
    """A mistake 4 minutes ago and a long wait 2 minutes ago, on a booking for tomorrow."""
    now = timezone.now()
    reservation = booked(samna, timezone.localdate() + timedelta(days=1))
    mistake = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"], now=now - timedelta(minutes=4))
    wait = case_open(restaurant=samna, kind="long_wait", summary="waited", guest=reservation.guest,
                     reservation=reservation, now=now - timedelta(minutes=2))
    return mistake, wait


def test_a_refund_and_closing_are_a_managers(samna, host_api, manager_api, staff, tonights_cases):
    mistake, wait = tonights_cases

    refund_by_host = act(host_api, mistake, "refund", "the wine")
    resolve_by_host = host_api.post(f"{URL}{mistake.pk}/resolve/", format="json")
    refund = act(manager_api, mistake, "refund", "the wine, 420 UAH")
    resolved = manager_api.post(f"{URL}{mistake.pk}/resolve/", {"note": "she laughed it off"}, format="json")
    lost = manager_api.post(f"{URL}{wait.pk}/lose/", format="json")

    assert (refund_by_host.status_code, refund_by_host.json()["code"]) == (403, "managers_only")
    assert (resolve_by_host.status_code, resolve_by_host.json()["code"]) == (403, "managers_only")
    assert (refund.status_code, resolved.status_code, lost.status_code) == (201, 200, 200)
    body = resolved.json()
    assert body["status"] == "resolved" and body["closed_at"] == body["actions"][-1]["at"]
    assert [(a["kind"], a["by"]) for a in body["actions"]] == [
        ("opened", "host"), ("refund", "manager"), ("resolved", "manager")]
    assert body["actions"][-1]["note"] == "she laughed it off"
    assert (lost.json()["status"], lost.json()["actions"][-1]["kind"]) == ("lost", "lost")


def test_a_closed_case_is_history(samna, host_api, manager_api, tonights_cases):
    mistake = tonights_cases[0]
    manager_api.post(f"{URL}{mistake.pk}/lose/", format="json")

    for response in (act(host_api, mistake, "note", "too late"), manager_api.post(f"{URL}{mistake.pk}/resolve/"),
                     manager_api.post(f"{URL}{mistake.pk}/lose/")):
        assert (response.status_code, response.json()["code"]) == (409, "case_closed")
    mistake.refresh_from_db()
    assert mistake.status == "lost" and mistake.actions.count() == 2


@pytest.mark.parametrize("body", [{"kind": "offered"}, {"kind": "resolved"}, {"kind": "hug"}, {}])
def test_staff_record_only_what_they_did_not_what_the_system_does(samna, host_api, three_cases, body):
    response = host_api.post(f"{URL}{three_cases[0].pk}/actions/", body, format="json")

    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_another_restaurants_case_is_not_found_under_ones_own_name(samna, steakhouse, steak_manager_api,
                                                                   manager_api, three_cases):
    mistake = three_cases[0]

    for response in (steak_manager_api.get(f"/api/v1/restaurants/steakhouse/recovery-cases/{mistake.pk}/"),
                     steak_manager_api.post(f"/api/v1/restaurants/steakhouse/recovery-cases/{mistake.pk}/lose/"),
                     manager_api.get(f"{URL}999999/")):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert steak_manager_api.get("/api/v1/restaurants/steakhouse/recovery-cases/").json() == []
    mistake.refresh_from_db()
    assert mistake.status == "open"


def test_the_list_takes_the_same_few_queries_for_many_cases(samna, manager_api, staff, tuesday):
    reservation = booked(samna, tuesday)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_api.get(URL).status_code == 200
        return len(captured)

    mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"])
    few = queries()
    for _ in range(6):
        case = mistake_log(reservation=reservation, what="other", by=staff["host"])
        case_act(case=case, kind="called", by=staff["manager"])

    assert queries() == few
