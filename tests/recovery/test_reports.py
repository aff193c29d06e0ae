"""The manager's recovery report against a small book whose every number is computed by hand below.

The book is made through the real services (bookings, walk-in, transitions, refusals, cases, gestures,
outcomes); only the waitlist's three finished parties are written as rows (their times are the point).
Samna: service "all day" 12:00–23:00, held tables T3 and T4 on Fridays and Saturdays 19:00–22:00 (released
60 minutes before a slot), overbooking cap 4, gesture budget 600.00 per service, dessert 150.00.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from recovery.models import RecoveryCase
from recovery.services.cases import RESPOND_WITHIN, case_close, case_open
from recovery.services.outcomes import outcomes_mark
from recovery.services.report_data import recovery_report
from reservations.models import Refusal, Reservation, WaitlistEntry
from reservations.services.booking import refusal_record, reservation_create, reservation_transition
from reservations.services.gestures import gesture_offer, gesture_present, gesture_propose, gesture_react
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in

pytestmark = pytest.mark.django_db



def refused_at(refusal: Refusal, moment) -> RecoveryCase:
    """Move a refusal and the case it opened to the moment the fixture says they happened."""
    Refusal.objects.filter(pk=refusal.pk).update(created_at=moment)
    case = RecoveryCase.objects.get(refusal=refusal)
    RecoveryCase.objects.filter(pk=case.pk).update(opened_at=moment, respond_by=moment + RESPOND_WITHIN[case.kind])
    case.actions.update(at=moment)
    case.refresh_from_db()
    return case

def guest(n: int, name: str) -> GuestDetails:
    return GuestDetails(name=name, phone=f"+38050100{n:04d}")


def book(samna, day, hhmm, size, channel, who: GuestDetails | None, *, now=None, expectations=()) -> Reservation:
    return reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=size, channel=channel, guest=who,
                              expectations=list(expectations), now=now)


def came(reservation: Reservation, day, seated: str, left: str) -> Reservation:
    reservation_transition(reservation=reservation, action="seat", now=kyiv(day, seated))
    return reservation_transition(reservation=reservation, action="complete", now=kyiv(day, left))


def no_show(reservation: Reservation, day, hhmm: str) -> Reservation:
    return reservation_transition(reservation=reservation, action="no-show", now=kyiv(day, hhmm))


@pytest.fixture
def book_of_two_days(samna, staff, saturday, tuesday):
    """Saturday S and Tuesday T (two weeks ahead; which comes first depends on today's weekday)."""
    S, T = saturday, tuesday
    manager, host = staff["manager"], staff["host"]

    # Saturday, booked two weeks ahead: T3/T4 are held, so 2-tops go to T1, T2, T11 and the four to T5.
    a = book(samna, S, "19:00", 2, "phone", guest(1, "Anna"), expectations=["window_seat", "kids_menu"])  # T1
    b = book(samna, S, "19:00", 2, "phone", guest(2, "Bohdan"))  # T2
    c = book(samna, S, "20:00", 4, "online", guest(3, "Chrystia"), expectations=["birthday"])  # T5
    d = book(samna, S, "20:00", 2, "phone", guest(4, "Dmytro"))  # T11
    # On the night: a walk-in at 19:30 gets T3 (T1, T2 taken); a phone booking made at 19:30 for 20:15 gets
    # T4, the held table the hold has released to the book (less than 60 minutes before the slot).
    walk_in = book(samna, S, "19:30", 2, "walk_in", None, now=kyiv(S, "19:30"))
    ivan = guest(5, "Ivan")
    e = book(samna, S, "20:15", 2, "phone", ivan, now=kyiv(S, "19:30"))
    assert [t.name for t in walk_in.tables.all()] == ["T3"] and [t.name for t in e.tables.all()] == ["T4"]
    a = came(a, S, "19:05", "20:20")
    no_show(b, S, "19:20")
    c = came(c, S, "20:05", "22:00")
    no_show(d, S, "20:20")

    # Tuesday: no hold.
    f = book(samna, T, "19:00", 3, "phone", guest(6, "Fedir"))
    g = book(samna, T, "19:00", 2, "host", guest(7, "Halyna"), expectations=["quiet_table"])
    h = book(samna, T, "13:00", 2, "online", guest(8, "Hryhoriy"))
    no_show(f, T, "19:20")
    g = came(g, T, "19:00", "20:40")
    no_show(h, T, "13:20")

    # Refusals (the main reason is the first): three at Saturday 20:00, one at Tuesday 19:00.
    r1 = refusal_record(restaurant=samna, start=kyiv(S, "20:00"), party_size=2, channel="phone",
                        reasons=["fully_booked", "held_for_walk_ins"], guest=ivan)
    r2 = refusal_record(restaurant=samna, start=kyiv(S, "20:00"), party_size=4, channel="phone",
                        reasons=["fully_booked"], guest=guest(9, "Petro"))
    refusal_record(restaurant=samna, start=kyiv(S, "20:00"), party_size=6, channel="online",
                   reasons=["party_too_large"])
    refusal_record(restaurant=samna, start=kyiv(T, "19:00"), party_size=3, channel="phone",
                   reasons=["fully_booked", "overbooking_limit"])

    # Cases: Ivan's won back in time by E; Petro's lost; a mistake at G's table resolved late; a long wait open.
    # A refusal with a phone opens its case as it is recorded (now); the fixture moves both to when they happened.
    c1 = refused_at(r1, kyiv(S, "17:00"))
    case_close(case=c1, status="resolved", won_back=e, now=kyiv(S, "17:10"))  # respond_by 17:15
    c2 = refused_at(r2, kyiv(S, "17:05"))
    case_close(case=c2, status="lost", now=kyiv(S, "18:00"))
    c3 = case_open(restaurant=samna, kind="mistake", summary="wrong dish", reservation=g, now=kyiv(T, "20:00"))
    case_close(case=c3, status="resolved", now=kyiv(T, "20:30"))  # respond_by 20:10: late
    case_open(restaurant=samna, kind="long_wait", summary="waited 40 min", now=kyiv(T, "19:30"))  # due 19:35

    # Waitlist, finished parties: beat by 5, missed by 15, and one who left.
    for day, created, quoted, seated in ((S, "19:00", 20, "19:15"), (S, "19:10", 15, "19:40")):
        WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=quoted,
                                     created_at=kyiv(day, created), seated_at=kyiv(day, seated), status="seated")
    WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=30, created_at=kyiv(T, "19:00"),
                                 left_at=kyiv(T, "19:20"), status="left")

    # Gestures. Saturday: E's won-back dessert 150; the manager's starter for A 220 (presented, delighted);
    # the host's drink for C 90 (150 + 220 + 90 = 460 ≤ 600: queued); the host's dessert for the walk-in
    # (460 + 150 = 610 > 600: needs approval, not spent). Tuesday: G's mistake dessert 150 (presented, pleased).
    gesture_offer(reservation=e, occasion="won_back", reason="turned away at 20:00")
    starter = gesture_propose(reservation=a, by=manager, item="starter", reason="regulars")
    gesture_present(gesture=starter, by=host)
    gesture_react(gesture=starter, reaction="delighted", by=host)
    assert gesture_propose(reservation=c, by=host, item="drink", reason="birthday").status == "queued"
    assert gesture_propose(reservation=walk_in, by=host, reason="long day").status == "needs_approval"
    mistake = gesture_offer(reservation=g, occasion="mistake", reason="wrong dish")
    gesture_present(gesture=mistake, by=host)
    gesture_react(gesture=mistake, reaction="pleased", by=host)

    # Expectations scored: A's window seat WOW and kids menu OK, C's birthday WOW, G's quiet table a fail.
    outcomes_mark(reservation=a, by=host, marks=[("window_seat", "wow", ""), ("kids_menu", "ok", "")])
    outcomes_mark(reservation=c, by=host, marks=[("birthday", "wow", "sang")])
    outcomes_mark(reservation=g, by=host, marks=[("quiet_table", "fail", "next to the kitchen")])
    return S, T


def fridays_and_saturdays(first: date, last: date) -> int:
    return sum((first + timedelta(days=i)).weekday() in (4, 5) for i in range((last - first).days + 1))


def expected(S: date, T: date, *, overdue: int) -> dict:
    first, last = min(S, T), max(S, T)
    # Each Friday and Saturday of the range holds T3 and T4: two table-evenings each. Saturday's were used
    # once by the walk-in (T3) and once by E (T4, released); any Friday's go unused.
    evenings = 2 * fridays_and_saturdays(first, last)
    saturday_covers, tuesday_covers = 2 + 2, 3 + 2  # no-show covers: B + D; F + H
    slots = sorted([
        # Saturday 20:00: Ivan 2 (won back), Petro 4, a party of 6 online: 3 refusals, 12 covers.
        {"date": S.isoformat(), "slot": "20:00", "refusals": 3, "covers": 12,
         "by_reason": {"fully_booked": 2, "party_too_large": 1}, "won_back": 1, "won_back_covers": 2},
        {"date": T.isoformat(), "slot": "19:00", "refusals": 1, "covers": 3, "by_reason": {"fully_booked": 1},
         "won_back": 0, "won_back_covers": 0},
    ], key=lambda r: r["date"])
    gesture_days = sorted([
        # Saturday: E 150 + A 220 + C 90 = 460 spent by 3; the walk-in's 150 awaits approval.
        {"date": S.isoformat(), "service": "all day", "gestures": 3, "spent": "460.00", "budget": "600.00",
         "over_budget": False, "awaiting_approval": 1},
        {"date": T.isoformat(), "service": "all day", "gestures": 1, "spent": "150.00", "budget": "600.00",
         "over_budget": False, "awaiting_approval": 0},
    ], key=lambda r: r["date"])
    weekdays = [  # in the week's order, Monday first
        {"key": "Tuesday", "bookings": 3, "no_shows": 2, "rate": 0.6667},  # F, G, H: F and H
        {"key": "Saturday", "bookings": 4, "no_shows": 2, "rate": 0.5},  # A, B, C, D: B and D
    ]
    return {
        "restaurant": "samna", "from": first.isoformat(), "to": last.isoformat(),
        # 4 refusals, 2 + 4 + 6 + 3 = 15 covers; Ivan (2 covers) won back: 1 of 4.
        # Ivan was refused while T3/T4 were held; Tuesday's party of 3 at the overbooking limit.
        "refusals": {"refusals": 4, "covers": 15, "won_back": 1, "won_back_covers": 2, "won_back_rate": 0.25,
                     "while_tables_held": 1, "at_overbooking_limit": 1, "by_slot": slots},
        "held_tables": {"table_evenings": evenings, "walk_in": 1, "released": 1, "override": 0,
                        "unused": evenings - 2},
        # Decided bookings, walk-ins aside: A C G came; B D F H did not: 4 of 7.
        "no_shows": {
            "bookings": 7, "no_shows": 4, "rate": 0.5714, "by_weekday": weekdays,
            "by_slot": [{"key": "13:00", "bookings": 1, "no_shows": 1, "rate": 1.0},  # H
                        {"key": "19:00", "bookings": 4, "no_shows": 2, "rate": 0.5},  # A B F G
                        {"key": "20:00", "bookings": 2, "no_shows": 1, "rate": 0.5}],  # C D
            "by_channel": [{"key": "host", "bookings": 1, "no_shows": 0, "rate": 0.0},  # G
                           {"key": "online", "bookings": 2, "no_shows": 1, "rate": 0.5},  # C H
                           {"key": "phone", "bookings": 4, "no_shows": 3, "rate": 0.75}],  # A B D F
        },
        # Two services of history: too few (4 needed) for a suggestion. Mean (4 + 5) / 2 = 4.5.
        "overbooking_caps": [{
            "service": "all day", "current_cap": 4,
            "history": [saturday_covers, tuesday_covers] if S < T else [tuesday_covers, saturday_covers],
            "services": 2, "mean_no_show_covers": 4.5, "everyone_showed": 0, "everyone_showed_rate": 0.0,
            "suggested_cap": None, "too_many_in": None,
            "words": "Only 2 past services with bookings: at least 4 are needed before a cap is suggested from the "
                     "restaurant's own history.",
        }],
        # WOW: A's window seat, C's birthday; OK: A's kids menu; fail: G's quiet table.
        "expectations": {"marked": 4, "wow": 2, "ok": 1, "fail": 1, "wow_rate": 0.5, "ok_rate": 0.25,
                         "fail_rate": 0.25},
        # 4 cases: Ivan's resolved in time (17:10 ≤ 17:15), the mistake resolved late (20:30 > 20:10), Petro's
        # lost, the long wait open. Turned away: 2, won back 1.
        "recovery": {"cases": 4, "resolved": 2, "lost": 1, "open": 1, "overdue": overdue, "resolved_in_time": 1,
                     "resolved_in_time_rate": 0.25,
                     "by_kind": {"long_wait": 1, "mistake": 1, "turned_away": 2},
                     "turned_away": 2, "turned_away_won_back": 1, "turned_away_won_back_rate": 0.5},
        # Seated: quoted 20 waited 15 (−5), quoted 15 waited 30 (+15); one left. Means 17.5, 22.5, gap +5.0.
        "waits": {"parties": 3, "seated": 2, "left": 1, "mean_quoted_minutes": 17.5, "mean_actual_minutes": 22.5,
                  "mean_gap_minutes": 5.0, "beat_or_met_quote": 1, "missed_quote": 1, "worst_overrun_minutes": 15},
        "gestures": {"budget_per_service": "600.00", "spent": "610.00", "services": gesture_days,
                     "reactions": {"delighted": 1, "pleased": 1}},
    }


def test_the_report_service_gives_the_hand_computed_numbers(samna, book_of_two_days):
    S, T = book_of_two_days
    first, last = min(S, T), max(S, T)
    after_the_long_wait_was_due = kyiv(T, "19:40")

    report = recovery_report(samna, first, last, now=after_the_long_wait_was_due)

    assert report == expected(S, T, overdue=1)


def test_the_report_api_gives_the_same_numbers_to_a_manager(manager_api, host_api, samna, book_of_two_days):
    S, T = book_of_two_days
    query = {"from": min(S, T).isoformat(), "to": max(S, T).isoformat()}

    response = manager_api.get("/api/v1/restaurants/samna/reports/recovery/", query)

    assert response.status_code == 200, response.json()
    # Two weeks ahead, the open long wait is not overdue yet.
    assert response.json() == expected(S, T, overdue=0)
    refused = host_api.get("/api/v1/restaurants/samna/reports/recovery/", query)
    assert (refused.status_code, refused.json()["code"]) == (403, "managers_only")


def test_a_range_narrowed_to_one_day_counts_only_that_day(manager_api, samna, book_of_two_days):
    S, _ = book_of_two_days

    report = manager_api.get("/api/v1/restaurants/samna/reports/recovery/",
                             {"from": S.isoformat(), "to": S.isoformat()}).json()

    assert (report["refusals"]["refusals"], report["refusals"]["covers"]) == (3, 12)
    assert (report["no_shows"]["bookings"], report["no_shows"]["no_shows"]) == (4, 2)
    assert report["held_tables"] == {"table_evenings": 2, "walk_in": 1, "released": 1, "override": 0, "unused": 0}
    assert report["gestures"]["spent"] == "460.00"
    assert report["expectations"]["marked"] == 3
    assert report["recovery"]["cases"] == 2 and report["waits"]["parties"] == 2


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-12-10", "to": "2026-12-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-12-31"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"to": "0001-01-01"}, "to"),
])
def test_a_bad_range_is_a_400_naming_the_field(manager_api, samna, query, field):
    response = manager_api.get("/api/v1/restaurants/samna/reports/recovery/", query)

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_report_page_shows_the_numbers_to_a_manager_and_not_to_a_host(samna, staff, book_of_two_days):
    S, T = book_of_two_days
    url = f"/recovery/samna/report/?from={min(S, T).isoformat()}&to={max(S, T).isoformat()}"
    manager = Client()
    assert log_in(manager, "manager")

    page = manager.get(url)

    assert page.status_code == 200
    text = page.content.decode()
    assert "4 refusals, 15 covers" in text
    assert "1 of those guests won back" in text
    assert "4 of 7 bookings (57%)" in text
    assert "1 went to walk-ins" in text and "1 were released to the book" in text
    assert "460.00" in text and "610.00 spent" in text
    assert "Only 2 past services with bookings" in text

    host = Client()
    assert log_in(host, "host")
    assert host.get(url).status_code == 403
    steak = Client()
    assert log_in(steak, "steak-manager")
    assert steak.get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login


def test_cases_of_another_restaurant_never_reach_the_report(manager_api, samna, steakhouse, tuesday):
    case_open(restaurant=steakhouse, kind="mistake", summary="not ours", now=kyiv(tuesday, "19:00"))

    report = manager_api.get("/api/v1/restaurants/samna/reports/recovery/",
                             {"from": tuesday.isoformat(), "to": tuesday.isoformat()}).json()

    assert report["recovery"]["cases"] == 0
    assert RecoveryCase.objects.count() == 1
    assert Decimal(report["gestures"]["spent"]) == 0


def test_the_report_costs_the_same_handful_of_queries_for_an_empty_book_and_a_full_one(samna, saturday, tuesday):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first, last = min(saturday, tuesday), max(saturday, tuesday)
    recovery_report(samna, first, last)  # the restaurant's set-up cached, as in a serving process
    with CaptureQueriesContext(connection) as empty:
        recovery_report(samna, first, last)
    for n in range(6):
        booked = book(samna, tuesday, "19:00", 2, "phone", guest(20 + n, f"Guest {n}"))
        no_show(booked, tuesday, "19:30")
        refusal_record(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                       reasons=["fully_booked"])
    with CaptureQueriesContext(connection) as full:
        report = recovery_report(samna, first, last)

    assert report["no_shows"]["no_shows"] == 6 and report["refusals"]["refusals"] == 6
    assert len(full) == len(empty) <= 12


def test_the_page_without_a_range_shows_the_last_four_weeks_and_a_bad_one_says_why(samna, staff):
    from django.utils import timezone

    manager = Client()
    assert log_in(manager, "manager")
    today = timezone.localdate(timezone=samna.tz)

    page = manager.get("/recovery/samna/report/")
    bad = manager.get("/recovery/samna/report/?from=2026-12-10&to=2026-12-01")

    assert page.status_code == 200
    assert f"Service days {(today - timedelta(days=27)).isoformat()} to {today.isoformat()}." in page.content.decode()
    assert bad.status_code == 400 and "The range must start on or before" in bad.content.decode()
