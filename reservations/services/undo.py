"""Undoing a host's last step on the desk: the step taken back through the book's rules, or an honest no.

A status step is taken back only if nothing moved the booking since, and a step that freed its tables
(cancel, no-show, complete) is taken back only while those tables are still free: the evening went on, and
a table given to someone else is theirs.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import engine, selectors
from ..errors import InvalidTransition, TableTaken
from ..models import Reservation
from .booking import RELEASING, TIMESTAMPS, lock_book_for, service_day
from .locking import for_update

Status = Reservation.Status

# The lifecycle's order: stepping back to a status clears the stamps of every status after it.
RANK = {Status.BOOKED: 0, Status.CONFIRMED: 1, Status.ARRIVED: 2, Status.SEATED: 3, Status.COMPLETED: 4,
        Status.CANCELLED: 5, Status.NO_SHOW: 5}


def reservation_step_back(
    *, reservation: Reservation, expected: str, to_status: str, now: datetime | None = None
) -> Reservation:
    """Return a booking from `expected` (the status the undone step led to) to `to_status`.

    Raises `InvalidTransition` when the booking is no longer `expected` (someone moved it since), and
    `TableTaken` when the tables it let go have been given to another party meanwhile (or, for a party
    without a table, the overbooking limit is reached again).
    """
    now = now or timezone.now()
    restaurant = reservation.restaurant
    with transaction.atomic(durable=True):
        day = service_day(restaurant, reservation.start)
        lock_book_for(restaurant, day, reservation.start, reservation.end)
        current = for_update(Reservation.objects).get(pk=reservation.pk)
        if current.status != expected:
            raise InvalidTransition(f"It is {current.status} now: someone changed it since.")
        if expected in RELEASING and to_status not in RELEASING:
            _hold_again(current, day, now)
        current.status = to_status
        fields = ["status", "updated_at"]
        stamp = TIMESTAMPS.get(to_status)
        if stamp and getattr(current, stamp) is None:
            setattr(current, stamp, now)
            fields.append(stamp)
        for status, stamp in TIMESTAMPS.items():
            if RANK[status] > RANK[to_status] and getattr(current, stamp) is not None and stamp not in fields:
                setattr(current, stamp, None)
                fields.append(stamp)
        current.save(update_fields=fields)
        if to_status in RELEASING:
            current.assignments.filter(released=False).update(released=True)
    return selectors.reservation_get(current.pk)


def _hold_again(reservation: Reservation, day, now: datetime) -> None:
    """Give the booking back the tables it let go, if they are still free. Must hold the day lock."""
    plan = selectors.day_plan(reservation.restaurant, day, exclude_reservation=reservation.pk)
    released = list(reservation.assignments.filter(released=True).select_related("table"))
    taken = [a.table.name for a in released if not plan.table_free(a.table_id, reservation.start, reservation.end)]
    if taken:
        raise TableTaken(f"{', '.join(taken)} {'has' if len(taken) == 1 else 'have'} been given to another party "
                         "since.")
    if not released and reservation.overbooked:
        policy = plan.config.policy
        limit = policy.max_overbooked_covers if policy else 0
        if engine.peak_overbooked_covers(plan, reservation.start, reservation.end) + reservation.party_size > limit:
            raise TableTaken("The overbooking limit has been reached again since.")
    try:
        with transaction.atomic():
            reservation.assignments.filter(released=True).update(released=False)
    except IntegrityError as exc:  # PostgreSQL's exclusion constraint: taken in a way the plan did not show
        raise TableTaken() from exc
