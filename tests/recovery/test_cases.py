"""Where recovery cases come from: each kind of "no" opens exactly one case, with its deadline by kind.

Deadlines (the product answers in minutes): turned away 15, long wait 5, cancelled by the restaurant 30,
mistake 10 — written out here by hand, not read from the code under test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from recovery.models import CaseAction, RecoveryCase
from recovery.services.cases import case_open
from recovery.services.long_waits import long_waits_open
from recovery.tasks import long_waits_sweep_task
from reservations.errors import NoTables
from reservations.models import Refusal, WaitlistEntry
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.walk_ins import walk_in_arrive
from tests.conftest import at, kyiv

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"


def eight_at_eight(samna, day):
    """T9+T10, the only seating for 7–10, taken at 20:00: a second big party is turned away."""
    return reservation_create(restaurant=samna, start=kyiv(day, "20:00"), party_size=8, channel="phone",
                              guest=GuestDetails(name="Big table", phone="+380501110000"))


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


# --- turned away ---------------------------------------------------------------------------------------------

def test_a_guest_turned_away_with_a_phone_gets_one_case_answered_within_15_minutes(samna, host_api, tuesday):
    eight_at_eight(samna, tuesday)
    body = {"start": at(tuesday, "20:00"), "party_size": 8, "channel": "phone",
            "guest": {"name": "Olena K.", "phone": PHONE}}

    response = host_api.post("/api/v1/restaurants/samna/reservations/", body, format="json")
    again = host_api.post("/api/v1/restaurants/samna/reservations/", body, format="json",
                          HTTP_IDEMPOTENCY_KEY="k-1")
    replay = host_api.post("/api/v1/restaurants/samna/reservations/", body, format="json",
                           HTTP_IDEMPOTENCY_KEY="k-1")

    assert (response.status_code, again.status_code, replay.status_code) == (409, 409, 409)
    refusals = list(Refusal.objects.order_by("id"))
    assert len(refusals) == 2  # the replay recorded nothing new, so it opened nothing new
    cases = list(RecoveryCase.objects.order_by("id"))
    assert [(c.kind, c.status, c.refusal_id) for c in cases] == [("turned_away", "open", r.pk) for r in refusals]
    case = cases[0]
    assert case.opened_at == refusals[0].created_at
    assert minutes(case.respond_by - case.opened_at) == 15
    assert case.guest is None  # a stranger: the refusal keeps the name and phone they gave
    assert "Olena K." in case.summary and "20:00" in case.summary
    assert [a.kind for a in case.actions.all()] == ["opened"]
    assert case.opened_by.username == "host"


def test_a_known_guest_turned_away_is_the_cases_guest(samna, tuesday):
    known = reservation_create(restaurant=samna, start=kyiv(tuesday, "13:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Olena K.", phone=PHONE)).guest
    eight_at_eight(samna, tuesday)

    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=8, channel="online",
                           guest=GuestDetails(name="Olena", phone=PHONE, phone_verified=True))

    assert RecoveryCase.objects.get().guest == known


def test_a_refusal_without_a_phone_stays_a_refusal(samna, staff, tuesday):
    with pytest.raises(NoTables):  # a party of 12 at the door, no phone given: nobody to come back to
        walk_in_arrive(restaurant=samna, party_size=12, by=staff["host"], now=kyiv(tuesday, "19:00"))
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=12, channel="host",
                           guest=GuestDetails(name="No phone"), by=staff["host"])

    assert Refusal.objects.count() == 2
    assert RecoveryCase.objects.count() == 0


def test_a_walk_in_too_large_for_any_table_with_a_phone_is_a_case(samna, staff, tuesday):
    with pytest.raises(NoTables):
        walk_in_arrive(restaurant=samna, party_size=12, guest=GuestDetails(name="Taras", phone=PHONE),
                       by=staff["host"], now=kyiv(tuesday, "19:00"))

    case = RecoveryCase.objects.get()
    assert (case.kind, case.opened_at) == ("turned_away", Refusal.objects.get().created_at)


# --- cancelled by the restaurant -----------------------------------------------------------------------------

def booked(samna, day, hhmm="19:00", name="Olena K.", phone=PHONE):
    return reservation_create(restaurant=samna, start=kyiv(day, hhmm), party_size=2, channel="phone",
                              guest=GuestDetails(name=name, phone=phone))


def test_staff_cancelling_a_booking_opens_one_case_answered_within_30_minutes(samna, host_api, tuesday):
    reservation = booked(samna, tuesday)

    response = host_api.post(f"/api/v1/reservations/{reservation.pk}/cancel/", format="json")
    again = host_api.post(f"/api/v1/reservations/{reservation.pk}/cancel/", format="json")

    assert (response.status_code, again.status_code) == (200, 409)
    case = RecoveryCase.objects.get()
    assert (case.kind, case.reservation, case.guest) == ("cancelled_by_restaurant", reservation, reservation.guest)
    assert case.opened_at == case.reservation.cancelled_at
    assert minutes(case.respond_by - case.opened_at) == 30
    assert "cancelled by host" in case.summary


def test_a_manager_cancelling_in_the_admin_opens_a_case(samna, staff, tuesday):
    reservation = booked(samna, tuesday)
    site = Client()
    site.force_login(staff["manager"])

    site.post("/admin/reservations/reservation/", {"action": "cancel_reservations",
                                                    "_selected_action": [reservation.pk]})

    assert RecoveryCase.objects.get().kind == "cancelled_by_restaurant"


def test_a_guest_cancelling_by_their_page_or_by_sms_opens_no_case(samna, client, tuesday):
    on_page = booked(samna, tuesday, "19:00")
    by_text = booked(samna, tuesday, "20:00", name="Taras", phone="+380501112233")

    response = client.post(f"/b/{on_page.guest_token}/cancel/")
    reservation_transition(reservation=by_text, action="cancel")  # as the inbound SMS calls it: no staff

    assert response.status_code == 302
    on_page.refresh_from_db()
    by_text.refresh_from_db()
    assert (on_page.status, by_text.status) == ("cancelled", "cancelled")
    assert RecoveryCase.objects.count() == 0


def test_staff_cancelling_because_the_guest_asked_opens_no_case(samna, host_api, tuesday):
    phoned = booked(samna, tuesday, "19:00")
    ours = booked(samna, tuesday, "20:00", name="Taras", phone="+380501112233")

    asked = host_api.post(f"/api/v1/reservations/{phoned.pk}/cancel/", {"guest_asked": True}, format="json")
    not_asked = host_api.post(f"/api/v1/reservations/{ours.pk}/cancel/", {"guest_asked": False}, format="json")
    wrong = host_api.post(f"/api/v1/reservations/{ours.pk}/cancel/", {"guest_asked": "perhaps"}, format="json")

    assert (asked.status_code, not_asked.status_code) == (200, 200)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "validation_error")
    assert asked.json()["status"] == "cancelled"
    assert [c.reservation for c in RecoveryCase.objects.all()] == [ours]


def test_a_booking_has_one_cancellation_case_however_often_it_is_opened(samna, staff, tuesday):
    reservation = booked(samna, tuesday)
    first = case_open(restaurant=samna, kind="cancelled_by_restaurant", summary="cancelled", guest=reservation.guest,
                      reservation=reservation, by=staff["host"])
    second = case_open(restaurant=samna, kind="cancelled_by_restaurant", summary="cancelled again",
                       reservation=reservation, by=staff["manager"])

    assert first.pk == second.pk and RecoveryCase.objects.count() == 1


# --- mistakes -------------------------------------------------------------------------------------------------

def test_a_host_logs_mistakes_in_two_taps_each_its_own_case(samna, host_api, tuesday):
    reservation = booked(samna, tuesday)
    host_api.post(f"/api/v1/reservations/{reservation.pk}/seat/", format="json")

    first = host_api.post(f"/api/v1/reservations/{reservation.pk}/mistakes/", {"what": "wrong_dish"},
                          format="json")
    second = host_api.post(f"/api/v1/reservations/{reservation.pk}/mistakes/",
                           {"what": "spilled_drink", "note": "red wine on her coat"}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    cases = list(RecoveryCase.objects.order_by("id"))
    assert [(c.kind, c.mistake, c.reservation_id) for c in cases] == [
        ("mistake", "wrong_dish", reservation.pk), ("mistake", "spilled_drink", reservation.pk)]
    assert all(minutes(c.respond_by - c.opened_at) == 10 for c in cases)
    table = reservation.assignments.get().table.name
    assert cases[1].summary == f"Spilled drink at {table}, Olena K., party of 2: red wine on her coat"
    assert second.json()["kind"] == "mistake" and second.json()["status"] == "open"


@pytest.mark.parametrize("body", [{}, {"what": "rude_waiter"}, {"what": "other", "note": "x" * 1001}])
def test_a_mistake_must_say_what_went_wrong(samna, host_api, tuesday, body):
    reservation = booked(samna, tuesday)

    response = host_api.post(f"/api/v1/reservations/{reservation.pk}/mistakes/", body, format="json")

    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert RecoveryCase.objects.count() == 0


def test_the_booking_actions_still_answer_beside_mistakes(samna, host_api, tuesday):
    reservation = booked(samna, tuesday)

    assert host_api.post(f"/api/v1/reservations/{reservation.pk}/confirm/").status_code == 200
    assert host_api.post(f"/api/v1/reservations/{reservation.pk}/mistake/").status_code == 404


# --- long waits -----------------------------------------------------------------------------------------------

def waiting(samna, day, hhmm: str, quoted: int, **extra) -> WaitlistEntry:
    return WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=quoted,
                                        created_at=kyiv(day, hhmm), **extra)


def long_wait_cases():
    return list(RecoveryCase.objects.filter(kind="long_wait").order_by("id"))


def test_a_walk_in_waiting_past_the_quote_gets_one_case_however_often_the_sweep_runs(samna, tuesday):
    entry = waiting(samna, tuesday, "20:00", quoted=15)

    assert long_waits_open(now=kyiv(tuesday, "20:15")) == []  # at the quoted minute: not yet past it
    opened = long_waits_open(now=kyiv(tuesday, "20:16"))
    assert long_waits_open(now=kyiv(tuesday, "20:17")) == []
    assert long_waits_open(now=kyiv(tuesday, "20:40")) == []

    case = RecoveryCase.objects.get()
    assert opened == [case]
    assert (case.kind, case.waitlist_entry, case.opened_at) == ("long_wait", entry, kyiv(tuesday, "20:16"))
    assert case.respond_by == kyiv(tuesday, "20:21")  # five minutes
    assert case.summary == "A walk-in, party of 2, quoted 15 min at 20:00: still waiting after 16 min"


def test_parties_seated_or_gone_after_their_quote_are_long_waits_and_those_seated_in_time_are_not(samna, tuesday):
    late = waiting(samna, tuesday, "19:00", quoted=15, status="seated", seated_at=kyiv(tuesday, "19:20"))
    gone = waiting(samna, tuesday, "19:05", quoted=10, status="left", left_at=kyiv(tuesday, "19:30"))
    waiting(samna, tuesday, "19:10", quoted=15, status="seated", seated_at=kyiv(tuesday, "19:25"))  # on the dot
    waiting(samna, tuesday, "19:10", quoted=30, status="left", left_at=kyiv(tuesday, "19:20"))  # left early

    long_waits_open(now=kyiv(tuesday, "21:00"))

    cases = long_wait_cases()
    assert [c.waitlist_entry for c in cases] == [late, gone]
    assert [c.summary.split(": ")[1] for c in cases] == ["seated after 20 min", "left after 25 min"]


def test_a_booked_party_not_seated_15_minutes_after_their_time_gets_one_case(samna, tuesday):
    early = booked(samna, tuesday, "19:00")
    reservation_transition(reservation=early, action="arrive", now=kyiv(tuesday, "18:50"))
    late = booked(samna, tuesday, "19:00", name="Taras", phone="+380501112233")
    reservation_transition(reservation=late, action="arrive", now=kyiv(tuesday, "19:20"))

    # Came 10 minutes early: they wait for their own time, not on us; at 19:14 that is 14 minutes.
    assert long_waits_open(now=kyiv(tuesday, "19:14")) == []
    assert [c.reservation for c in long_waits_open(now=kyiv(tuesday, "19:15"))] == [early]
    reservation_transition(reservation=late, action="seat", now=kyiv(tuesday, "19:34"))  # 14 minutes after arriving
    assert long_waits_open(now=kyiv(tuesday, "20:00")) == []

    case = RecoveryCase.objects.get()
    assert (case.kind, case.guest, case.respond_by) == ("long_wait", early.guest, kyiv(tuesday, "19:20"))
    assert case.summary == "Olena K., party of 2 booked for 19:00, arrived 18:50: not seated after 15 min"


def test_a_party_seated_a_quarter_of_an_hour_late_is_found_after_the_fact(samna, tuesday):
    reservation = booked(samna, tuesday, "19:00")
    reservation_transition(reservation=reservation, action="arrive", now=kyiv(tuesday, "19:02"))
    reservation_transition(reservation=reservation, action="seat", now=kyiv(tuesday, "19:17"))

    opened = long_waits_open(now=kyiv(tuesday, "19:30"))

    assert [(c.reservation, c.summary.split(": ")[1]) for c in opened] == [(reservation, "seated after 15 min")]


def test_walk_ins_seated_at_once_are_never_long_waits(samna, staff, tuesday):
    walk_in_arrive(restaurant=samna, party_size=2, by=staff["host"], now=kyiv(tuesday, "19:00"))

    assert long_waits_open(now=kyiv(tuesday, "19:45")) == []


def test_the_sweep_runs_as_a_celery_beat_task(samna):
    now = timezone.now()
    WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=10,
                                 created_at=now - timedelta(minutes=25), status="seated",
                                 seated_at=now - timedelta(minutes=5))

    assert long_waits_sweep_task.delay().get() == 1
    assert long_waits_sweep_task.delay().get() == 0
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert beat["recovery.tasks.long_waits_sweep_task"] <= 60
    from cxhost.celery import app

    assert "recovery.tasks.long_waits_sweep_task" in app.tasks  # a worker finds what beat names


def test_the_sweep_counts_a_party_left_from_a_closed_service_only_to_its_closing(samna, tuesday):
    """Samna's service ends 23:00: a party quoted 30 min at 22:45 left with it after 15 min — in its quote, not
    the 45 min to the sweep at 23:30; one quoted 5 min at 22:50 waited 10 and is a long wait."""
    entry = waiting(samna, tuesday, "22:45", quoted=30)
    waiting(samna, tuesday, "22:50", quoted=5)

    long_waits_open(now=kyiv(tuesday, "23:30"))

    entry.refresh_from_db()
    assert (entry.status, entry.left_at) == ("left", kyiv(tuesday, "23:00"))
    assert [c.summary.split(": ")[1] for c in long_wait_cases()] == ["left after 10 min"]


def test_every_case_opens_with_a_timeline_step(samna, staff, tuesday):
    eight_at_eight(samna, tuesday)
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=8, channel="phone",
                           guest=GuestDetails(name="Olena", phone=PHONE), by=staff["host"])
    waiting(samna, tuesday, "20:00", quoted=5)
    long_waits_open(now=kyiv(tuesday, "20:30"))

    assert RecoveryCase.objects.count() == 2
    assert sorted(CaseAction.objects.values_list("kind", flat=True)) == ["opened", "opened"]
