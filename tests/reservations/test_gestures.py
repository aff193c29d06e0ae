"""The floor is told, exactly once: the complimentary dessert after an override, and the first-visit note.

Bookings are made through the real services and API; the preparation runs as the booking's on-commit task
does (`django_capture_on_commit_callbacks` runs what a commit would send), or as the beat sweep does.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from reservations.models import Gesture, Reservation, StaffMembership, StaffNote
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.gestures import gesture_offer, gesture_present, guest_prepare, guests_prepare_pending
from reservations.services.guests import GuestDetails
from reservations.tasks import prepare_for_guest_task, prepare_pending_guests_task
from tests.factories import small_restaurant

from ..conftest import forget_broker_connections, kyiv
from .test_api_reservations import booking, fill_tables_not_held, post

pytestmark = pytest.mark.django_db

OLENA = GuestDetails(name="Olena K.", phone="+380671234567")


def comps(api, day) -> list[dict]:
    response = api.get("/api/v1/restaurants/samna/comps/", {"date": day.isoformat()})
    assert response.status_code == 200, response.content
    return response.json()


def notes(api, day) -> list[dict]:
    response = api.get("/api/v1/restaurants/samna/staff-notes/", {"date": day.isoformat()})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def bistro(staff):
    """One table for two: a second party at the same time is booked only through a manager's override (Samna's
    manager manages it too)."""
    bistro = small_restaurant(tables=1, slug="bistro")
    StaffMembership.objects.create(user=staff["manager"], restaurant=bistro, role=StaffMembership.Role.MANAGER)
    return bistro


def won_by_override(restaurant, day, hhmm: str, manager, *, guest=OLENA, n: int = 0, **extra) -> Reservation:
    """A booking the computer refused (the one table is taken), turned into a yes by the manager."""
    reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=2, channel="phone",
                       guest=GuestDetails(name=f"First {n}", phone=f"+38050100{n:04d}"))
    won = reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=2, channel="phone",
                             guest=guest, by=manager, override_reason="first visit, came with his partner", **extra)
    assert won.override_bypassed, "the override must have bypassed a rule"
    return won


# --- the Samna story, through the API --------------------------------------------------------------------


def test_a_booking_won_through_an_override_queues_one_dessert_with_its_reason_and_a_first_visit_note(
    anon_api, manager_api, host_api, samna, saturday, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fill_tables_not_held(anon_api, saturday, "20:00")
        response = post(manager_api, booking(saturday, "20:00", channel="phone", n=40, notes="anniversary",
                                             expectations=["window_seat", "kids_menu"],
                                             override={"reason": "first visit, came with his partner"}))
    assert response.status_code == 201, response.content
    won = response.json()

    listed = comps(host_api, saturday)
    assert len(listed) == 1, "only the booking won through the override gets a dessert"
    dessert = listed[0]
    assert {"id", "reservation", "item", "reason", "status", "cost"} <= set(dessert)
    assert dessert["reservation"] == won["id"]
    assert (dessert["item"], dessert["status"], dessert["cost"]) == ("dessert", "queued", "150.00")
    assert (dessert["party_size"], dessert["reservation_status"]) == (2, "booked")
    assert "first visit, came with his partner" in dessert["reason"]
    assert dessert["prompt"].startswith("Present it yourself") and "from us, because" in dessert["prompt"]

    mine = [n for n in notes(host_api, saturday) if n["reservation"] == won["id"]]
    assert [n["kind"] for n in mine] == ["first_visit"]
    assert "window seat" in mine[0]["text"] and "kids menu" in mine[0]["text"]
    assert "anniversary" in mine[0]["text"]


def test_without_the_commit_nothing_is_prepared_for_the_floor(manager_api, host_api, samna, saturday, anon_api):
    """The task is sent on commit, not before: while the booking's transaction is open (never committed in this
    test), nothing is prepared — so a booking that rolls back never leaves a dessert behind."""
    fill_tables_not_held(anon_api, saturday, "20:00")
    response = post(manager_api, booking(saturday, "20:00", channel="phone", n=40, override={"reason": "regular"}))
    assert response.status_code == 201
    assert comps(host_api, saturday) == [] and notes(host_api, saturday) == []


def test_over_budget_a_dessert_waits_for_a_manager_and_is_presented_once(
    anon_api, manager_api, host_api, samna, saturday, django_capture_on_commit_callbacks
):
    samna.gesture_budget_per_service = Decimal("200.00")  # room for one 150.00 dessert in the service
    samna.save()
    with django_capture_on_commit_callbacks(execute=True):
        fill_tables_not_held(anon_api, saturday, "20:00")
        for n in (40, 41):  # T3 and T4, both held back: two overrides in one service
            assert post(manager_api, booking(saturday, "20:00", channel="phone", n=n,
                                             override={"reason": f"regular {n}"})).status_code == 201
    first, second = comps(host_api, saturday)
    assert (first["status"], second["status"]) == ("queued", "needs_approval")

    refused = host_api.post(f"/api/v1/comps/{second['id']}/present/")
    assert (refused.status_code, refused.json()["code"]) == (409, "needs_approval")
    refused = host_api.post(f"/api/v1/comps/{second['id']}/approve/")
    assert (refused.status_code, refused.json()["code"]) == (403, "managers_only")

    approved = manager_api.post(f"/api/v1/comps/{second['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("queued", "manager")
    presented = host_api.post(f"/api/v1/comps/{second['id']}/present/")
    assert (presented.json()["status"], presented.json()["presented_by"]) == ("presented", "host")
    again = host_api.post(f"/api/v1/comps/{second['id']}/present/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert manager_api.post(f"/api/v1/comps/{first['id']}/approve/").status_code == 409  # nothing to approve


def test_the_budget_is_per_service(bistro, staff, tuesday):
    bistro.gesture_budget_per_service = bistro.dessert_cost
    bistro.save()
    statuses = []
    for n, day in enumerate((tuesday, tuesday, tuesday + timedelta(days=1))):
        won = won_by_override(bistro, day, "19:00" if n != 1 else "20:30", staff["manager"],
                              guest=GuestDetails(name=f"Guest {n}", phone=f"+38067700{n:04d}"), n=n)
        assert guest_prepare(reservation_id=won.pk)
        statuses.append(Gesture.objects.get(reservation=won).status)
    # The second is over Tuesday's budget; Wednesday's service has its own.
    assert statuses == ["queued", "needs_approval", "queued"]


# --- notes ---------------------------------------------------------------------------------------------


def test_a_returning_guest_gets_a_welcome_back_note_with_last_visits_notes_instead(samna, staff, tuesday):
    first = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                               guest=OLENA, notes="allergic to nuts; loved the terrace")
    reservation_transition(reservation=first, action="seat")
    reservation_transition(reservation=first, action="complete")
    again = reservation_create(restaurant=samna, start=kyiv(tuesday + timedelta(days=7), "19:00"), party_size=2,
                               channel="phone", guest=OLENA, expectations=["window_seat"])

    assert guest_prepare(reservation_id=again.pk)

    (note,) = StaffNote.objects.filter(reservation=again)
    assert note.kind == "welcome_back"
    assert "allergic to nuts; loved the terrace" in note.text
    assert str(tuesday) in note.text
    assert "window seat" in note.text


def test_a_first_visit_note_carries_the_profiles_expectations_and_this_bookings(samna, staff, tuesday):
    reservation_create(restaurant=samna, start=kyiv(tuesday, "13:00"), party_size=2, channel="phone",
                       guest=OLENA, expectations=["kids_menu"])  # the profile learns it; not yet a visit
    # Online with the phone proven (an unproven one is a record apart: tests/reservations/test_public_path.py).
    online = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="online",
                                guest=replace(OLENA, phone_verified=True), expectations=["window_seat"])

    assert guest_prepare(reservation_id=online.pk)

    (note,) = StaffNote.objects.filter(reservation=online)
    assert note.kind == "first_visit"
    assert "kids menu" in note.text and "window seat" in note.text


def test_a_walk_in_without_a_guest_gets_nothing(samna, staff, tuesday, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        walk_in = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2,
                                     channel="walk_in", by=staff["host"])
    walk_in.refresh_from_db()
    assert walk_in.prepared_at is not None, "prepared: the sweep will not come back for it"
    assert not StaffNote.objects.exists() and not Gesture.objects.exists()


# --- not every visit ---------------------------------------------------------------------------------------


def test_a_guest_given_a_dessert_lately_gets_a_note_saying_when_instead_of_another(bistro, staff, tuesday):
    manager = staff["manager"]
    first = won_by_override(bistro, tuesday, "19:00", manager, n=1)
    guest_prepare(reservation_id=first.pk)
    gesture_present(gesture=Gesture.objects.get(reservation=first), by=staff["host"],
                    now=kyiv(tuesday, "19:40"))

    week_later = won_by_override(bistro, tuesday + timedelta(days=7), "19:00", manager, n=2)
    guest_prepare(reservation_id=week_later.pk)
    assert not Gesture.objects.filter(reservation=week_later).exists()
    (note,) = StaffNote.objects.filter(reservation=week_later, kind="recent_gesture")
    assert f"Dessert given on {tuesday.isoformat()}" in note.text

    # Past the pause (90 days by default) the exception may come again.
    months_later = won_by_override(bistro, tuesday + timedelta(days=100), "19:00", manager, n=3)
    guest_prepare(reservation_id=months_later.pk)
    assert Gesture.objects.get(reservation=months_later).status == "queued"


def test_a_dessert_never_given_because_the_booking_was_cancelled_does_not_count(bistro, staff, tuesday):
    first = won_by_override(bistro, tuesday, "19:00", staff["manager"], n=1)
    guest_prepare(reservation_id=first.pk)
    reservation_transition(reservation=first, action="cancel")

    again = won_by_override(bistro, tuesday + timedelta(days=7), "19:00", staff["manager"], n=2)
    guest_prepare(reservation_id=again.pk)
    assert Gesture.objects.filter(reservation=again).exists()


# --- exactly once ------------------------------------------------------------------------------------------


def test_running_the_task_twice_makes_one_dessert_and_one_note(bistro, staff, tuesday):
    won = won_by_override(bistro, tuesday, "19:00", staff["manager"])

    assert prepare_for_guest_task.delay(won.pk).get() is True
    assert prepare_for_guest_task.delay(won.pk).get() is False  # a retried or duplicated task

    assert Gesture.objects.filter(reservation=won).count() == 1
    assert StaffNote.objects.filter(reservation=won).count() == 1


def test_the_database_refuses_a_second_dessert_or_note_for_one_event(bistro, staff, tuesday):
    won = won_by_override(bistro, tuesday, "19:00", staff["manager"])
    guest_prepare(reservation_id=won.pk)
    dessert = Gesture.objects.get(reservation=won)
    note = StaffNote.objects.get(reservation=won)

    with pytest.raises(IntegrityError), transaction.atomic():
        Gesture.objects.create(restaurant=bistro, reservation=won, item="dessert", occasion=dessert.occasion,
                               reason="again", prompt="again", cost=1, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffNote.objects.create(restaurant=bistro, reservation=won, kind=note.kind, text="again",
                                 created_at=timezone.now())


def test_the_won_back_entry_point_queues_one_dessert_per_occasion(bistro, staff, tuesday):
    reservation = reservation_create(restaurant=bistro, start=kyiv(tuesday, "19:00"), party_size=2,
                                     channel="phone", guest=OLENA)

    first = gesture_offer(reservation=reservation, occasion="won_back", reason="turned away on Friday")
    again = gesture_offer(reservation=reservation, occasion="won_back", reason="turned away on Friday")

    assert first == again
    assert (first.item, first.occasion, first.status) == ("dessert", "won_back", "queued")
    assert "could not seat you" in first.prompt


# --- nothing lost when the broker is down -------------------------------------------------------------------


@pytest.fixture
def broker_down():
    """Celery talking to a broker nobody listens on, as in production with Redis stopped."""
    from cxhost.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "broker_transport_options")}
    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0",
                    broker_transport_options={"max_retries": 1})
    forget_broker_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        forget_broker_connections(app)


def test_a_booking_made_while_the_broker_is_down_succeeds_and_the_beat_sweep_prepares_it(
    anon_api, manager_api, host_api, samna, saturday, broker_down, django_capture_on_commit_callbacks, caplog
):
    fill_tables_not_held(anon_api, saturday, "20:00")
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        response = post(manager_api, booking(saturday, "20:00", channel="phone", n=40,
                                             override={"reason": "first visit, came with his partner"}))
    assert response.status_code == 201, response.content
    # Sending the task failed, and was logged in a line, not a traceback.
    assert any("left for the sweep" in r.getMessage() and not r.exc_info for r in caplog.records), caplog.text
    assert comps(host_api, saturday) == [], "the task never reached a worker"

    # The beat schedule names the sweep; its next run, past the grace the on-commit task is given:
    assert any(e["task"] == prepare_pending_guests_task.name for e in settings.CELERY_BEAT_SCHEDULE.values())
    assert guests_prepare_pending(now=timezone.now() + timedelta(minutes=1)) >= 1
    assert guests_prepare_pending(now=timezone.now() + timedelta(minutes=2)) == 0, "once, not every minute"

    listed = comps(host_api, saturday)
    assert [(c["reservation"], c["item"]) for c in listed] == [(response.json()["id"], "dessert")]
    assert [n["kind"] for n in notes(host_api, saturday) if n["reservation"] == response.json()["id"]] == [
        "first_visit"]
