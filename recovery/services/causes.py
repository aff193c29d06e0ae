"""Where cases come from: a guest turned away, a booking the restaurant cancelled, a mistake on the floor.

Each opener is called where the thing happens, in its transaction (see `recovery.receivers`), or by a host's
two taps (`mistake_log`). Long waits are found by a sweep instead (`recovery.services.long_waits`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from reservations.access import is_staff_member
from reservations.models import Refusal, Reservation

from ..models import RecoveryCase
from .case_gestures import case_gesture
from .cases import case_open

Kind = RecoveryCase.Kind


def _local(moment: datetime, restaurant) -> str:
    return f"{moment.astimezone(restaurant.tz):%a %d %b %H:%M}"


def _party(size: int) -> str:
    return f"party of {size}"


def turned_away_open(*, refusal: Refusal) -> RecoveryCase | None:
    """A "no tables" given to a guest who left a phone: a case, so somebody comes back to them.

    Without a phone there is nobody to come back to: the refusal stays lost demand in the reports.
    """
    if not refusal.guest_phone or not refusal.phone_verified:
        # An anonymous caller's number, unproven: no case to call or text it (nor a freed table held for it).
        return None
    restaurant = refusal.restaurant
    who = refusal.guest_name or str(refusal.guest_phone)
    summary = (f"{who}, {_party(refusal.party_size)}, turned away for {_local(refusal.start, restaurant)} "
               f"({refusal.channel}): {', '.join(refusal.reasons) or 'no tables'}")
    return case_open(restaurant=restaurant, kind=Kind.TURNED_AWAY, summary=summary, guest=refusal.guest,
                     refusal=refusal, by=refusal.created_by, now=refusal.created_at)


def cancelled_by_restaurant_open(*, reservation: Reservation, by, now: datetime) -> RecoveryCase | None:
    """A booking a member of staff cancelled. The guest cancelling (by SMS, on their page) opens nothing:
    those calls come without a staff member (`by` is None)."""
    if not is_staff_member(by):
        return None
    summary = (f"{_guest_name(reservation)}, {_party(reservation.party_size)}, booked for "
               f"{_local(reservation.start, reservation.restaurant)}: cancelled by {by.get_username()}")
    return case_open(restaurant=reservation.restaurant, kind=Kind.CANCELLED_BY_RESTAURANT, summary=summary,
                     guest=reservation.guest, reservation=reservation, by=by, now=now)


def mistake_log(*, reservation: Reservation, what: str, note: str = "", by, now: datetime | None = None
                ) -> RecoveryCase:
    """A host's two taps: what went wrong at this party's table. Each mistake is its own case."""
    now = now or timezone.now()
    label = RecoveryCase.Mistake(what).label
    tables = "+".join(a.table.name for a in reservation.assignments.select_related("table")) or "no table"
    summary = f"{label.capitalize()} at {tables}, {_guest_name(reservation)}, {_party(reservation.party_size)}"
    if note:
        summary = f"{summary}: {note}"
    case = case_open(restaurant=reservation.restaurant, kind=Kind.MISTAKE, summary=summary,
                     guest=reservation.guest, reservation=reservation, mistake=what, by=by, now=now)
    amends_after_commit(case, by=by)
    return case


def amends_after_commit(case: RecoveryCase, *, by=None) -> None:
    """A mistake or a long wait earns its gesture (within the rules) once the case is committed:
    `case_gesture` takes the day lock in a durable transaction of its own."""
    transaction.on_commit(lambda: case_gesture(case=case, by=by))


def _guest_name(reservation: Reservation) -> str:
    guest = reservation.guest
    return (guest.name or str(guest.phone or "")) if guest else "a walk-in"
