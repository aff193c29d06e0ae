"""Duplicated preparation tasks at the same moment still make one dessert and one note, and keep the budget.

Celery may deliver a task twice (acks late, a worker lost mid-task), and the beat sweep may pick up a
booking while its own task runs. Here several copies run at once in threads, each on its own PostgreSQL
connection, with the decide→write gap widened. With the day lock the first prepares and the others find it
prepared; in the control run the lock (and the row lock) is skipped, every copy passes the "prepared
already?" check — and the unique constraints alone still leave one dessert and one note.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from reservations.models import Gesture, Reservation, StaffMembership, StaffNote
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.tasks import prepare_for_guest_task
from tests.conftest import kyiv
from tests.factories import small_restaurant

pytestmark = pytest.mark.postgres

COPIES = 4


def unprepared_override(restaurant, day, manager, n: int) -> int:
    """A booking won through an override whose preparation has not run yet (as if the broker had lost it)."""
    reservation_create(restaurant=restaurant, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                       guest=GuestDetails(name=f"First {n}", phone=f"+38050100{n:04d}"))
    won = reservation_create(restaurant=restaurant, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                             guest=GuestDetails(name=f"Won {n}", phone=f"+38067200{n:04d}"), by=manager,
                             override_reason="regular")
    assert won.override_bypassed
    # In a transactional test the on-commit task ran already: undo it, so the race below is the first run.
    Gesture.objects.filter(reservation=won).delete()
    StaffNote.objects.all().delete()
    Reservation.objects.update(prepared_at=None)
    return won.pk


def run_at_once(reservation_ids: list[int]) -> list[bool]:
    start = threading.Barrier(len(reservation_ids))
    results: list[bool] = []
    errors: list[BaseException] = []

    def copy(pk: int) -> None:
        try:
            start.wait(10)
            results.append(prepare_for_guest_task.apply(args=[pk]).get())
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=copy, args=(pk,)) for pk in reservation_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.fixture
def bistro(transactional_db, staff, settings):
    settings.CXHOST_PREPARE_RACE_DELAY_MS = 300
    bistro = small_restaurant(tables=1, slug="bistro")
    # Samna's manager manages it too: an override is a manager's of this restaurant.
    StaffMembership.objects.create(user=staff["manager"], restaurant=bistro, role=StaffMembership.Role.MANAGER)
    return bistro


def test_duplicated_tasks_at_once_make_one_dessert_and_one_note(bistro, staff, tuesday):
    pk = unprepared_override(bistro, tuesday, staff["manager"], 1)

    results = run_at_once([pk] * COPIES)

    assert sorted(results) == [False] * (COPIES - 1) + [True], "one copy prepares, the others find it done"
    assert Gesture.objects.filter(reservation_id=pk).count() == 1
    assert list(StaffNote.objects.filter(reservation_id=pk).values_list("kind", flat=True)) == ["first_visit"]


def test_control_without_the_lock_the_unique_constraints_still_keep_it_once(bistro, staff, tuesday, settings):
    pk = unprepared_override(bistro, tuesday, staff["manager"], 1)
    settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK = True

    results = run_at_once([pk] * COPIES)

    assert results.count(True) > 1, "the control must really race: several copies passed the check"
    assert Gesture.objects.filter(reservation_id=pk).count() == 1
    assert StaffNote.objects.filter(reservation_id=pk).count() == 1


def test_simultaneous_gestures_in_one_service_never_overspend_its_budget(bistro, staff, tuesday):
    bistro.gesture_budget_per_service = bistro.dessert_cost  # room for one dessert
    bistro.save()
    first = unprepared_override(bistro, tuesday, staff["manager"], 1)
    second = reservation_create(restaurant=bistro, start=kyiv(tuesday, "19:30"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Won 2", phone="+380672000002"), by=staff["manager"],
                                override_reason="regular")
    assert second.override_bypassed
    Gesture.objects.filter(reservation=second).delete()
    StaffNote.objects.all().delete()
    Reservation.objects.update(prepared_at=None)

    assert run_at_once([first, second.pk]) == [True, True]

    assert sorted(Gesture.objects.values_list("status", flat=True)) == ["needs_approval", "queued"]
