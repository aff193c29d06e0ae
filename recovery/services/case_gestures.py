"""The amends a long wait or a logged mistake earns: the trigger's gesture, within the rules, on the case's timeline.

Called by whoever opens such a case (the long-wait sweep, the host's "mistake" tap) once it is committed:
`gesture_offer` opens its own durable transaction and takes the day lock.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from reservations.models import Gesture
from reservations.services.gestures import gesture_offer

from ..models import CaseAction, RecoveryCase
from .cases import case_act

# The case kinds a gesture makes amends for, and the occasion it is recorded under.
AMENDS = {RecoveryCase.Kind.LONG_WAIT: Gesture.Occasion.LONG_WAIT, RecoveryCase.Kind.MISTAKE: Gesture.Occasion.MISTAKE}


def case_gesture(*, case: RecoveryCase, by=None, now: datetime | None = None) -> Gesture | None:
    """Queue the gesture for the case's party (a drink for a long wait, a dessert for a mistake); None when the
    case has no booking to give it to, or the rules say not this time (the floor gets a note saying why)."""
    if case.kind not in AMENDS:
        return None
    reservation = case.reservation
    if reservation is None and case.waitlist_entry_id is not None:
        reservation = case.waitlist_entry.reservation  # a walk-in seated from the list
    if reservation is None:
        return None
    gesture = gesture_offer(reservation=reservation, occasion=AMENDS[case.kind], reason=case.summary, now=now)
    if gesture is None:
        return None
    # A repeated call (two sweeps at once, a retried task) is the first gesture again, not a second step:
    # the case's row lock makes "is it on the timeline yet?" and writing it one step.
    with transaction.atomic():
        RecoveryCase.objects.select_for_update().filter(pk=case.pk).first()
        if not case.actions.filter(kind=CaseAction.Kind.GESTURE).exists():
            case_act(case=case, kind=CaseAction.Kind.GESTURE, by=by, now=now,
                     note=f"{gesture.item} ({gesture.cost}) {gesture.status}")
    return gesture
