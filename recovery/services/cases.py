"""Recovery cases: opened for every "no" with a guest to come back to, answered before `respond_by`.

The deadline is minutes, not days (`RESPOND_WITHIN`): the product promises the guest hears from us fast.
Every step is a `CaseAction` on the case's timeline; closing a case is a step too.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from reservations.access import is_manager
from reservations.errors import ManagersOnly
from reservations.models import Guest, Refusal, Reservation, Restaurant, WaitlistEntry

from ..errors import CaseClosed
from ..models import CaseAction, RecoveryCase

Kind = RecoveryCase.Kind
Status = RecoveryCase.Status
Step = CaseAction.Kind

# How soon the guest must hear from us, by what went wrong.
RESPOND_WITHIN: dict[str, timedelta] = {
    Kind.TURNED_AWAY: timedelta(minutes=15),
    Kind.LONG_WAIT: timedelta(minutes=5),
    Kind.CANCELLED_BY_RESTAURANT: timedelta(minutes=30),
    Kind.MISTAKE: timedelta(minutes=10),
}
CLOSING = {Status.RESOLVED: Step.RESOLVED, Status.LOST: Step.LOST}
# Steps that reach the guest: once one is on the timeline, the guest has heard from us and the deadline is met.
# `offer_gone` too: the guest next in line was texted, kindly, that a freed table went to another guest.
CONTACT_STEPS = (Step.SMS_SENT, Step.CALLED, Step.OFFERED, Step.OFFER_GONE, Step.APOLOGY, Step.GESTURE,
                 Step.REFUND)
# What staff record by hand; the rest of the timeline is written by the system (offers, closing).
STAFF_STEPS = (Step.CALLED, Step.SMS_SENT, Step.APOLOGY, Step.REFUND, Step.GESTURE, Step.NOTE)
# Money leaving the till is a manager's to record, like approving a comp over budget.
MANAGER_STEPS = (Step.REFUND,)
# Causes a case is opened for once, whoever or whatever notices them again (migration 0002 backs this).
ONE_CASE_PER_CAUSE = {Kind.LONG_WAIT: ("waitlist_entry", "reservation"), Kind.CANCELLED_BY_RESTAURANT: ("reservation",)}


def case_open(
    *,
    restaurant: Restaurant,
    kind: str,
    summary: str,
    guest: Guest | None = None,
    refusal: Refusal | None = None,
    reservation: Reservation | None = None,
    waitlist_entry: WaitlistEntry | None = None,
    mistake: str = "",
    by=None,
    now: datetime | None = None,
) -> RecoveryCase:
    """Open a case with its deadline and an `opened` step.

    A refusal has one case, a party one long wait, a cancelled booking one case: opening it again returns it.
    """
    now = now or timezone.now()
    existing = _case_for_cause(kind, refusal=refusal, reservation=reservation, waitlist_entry=waitlist_entry)
    if existing is not None:
        return existing
    if settings.CXHOST_CASE_RACE_DELAY_MS:  # a test seam: the gap two sweeps at once need to both find nothing
        time.sleep(settings.CXHOST_CASE_RACE_DELAY_MS / 1000)
    try:
        with transaction.atomic():
            case = RecoveryCase.objects.create(
                restaurant=restaurant, kind=kind, summary=summary[:300], guest=guest, refusal=refusal,
                reservation=reservation, waitlist_entry=waitlist_entry, mistake=mistake, opened_at=now,
                respond_by=now + RESPOND_WITHIN[kind], opened_by=_staff(by),
            )
            CaseAction.objects.create(case=case, kind=Step.OPENED, note=summary, at=now, by=_staff(by))
    except IntegrityError:
        # Another process opened this cause's case between our look and our write.
        existing = _case_for_cause(kind, refusal=refusal, reservation=reservation, waitlist_entry=waitlist_entry)
        if existing is None:
            raise
        return existing
    return case


def _case_for_cause(kind: str, *, refusal, reservation, waitlist_entry) -> RecoveryCase | None:
    """The case already opened for this refusal, or this party's long wait, or this cancelled booking."""
    if refusal is not None:
        return RecoveryCase.objects.filter(refusal=refusal).first()
    causes = {"reservation": reservation, "waitlist_entry": waitlist_entry}
    for field in ONE_CASE_PER_CAUSE.get(kind, ()):
        if causes[field] is not None:
            return RecoveryCase.objects.filter(kind=kind, **{field: causes[field]}).first()
    return None


def case_act(*, case: RecoveryCase, kind: str, note: str = "", by=None, now: datetime | None = None) -> CaseAction:
    """Put one step on the case's timeline."""
    return CaseAction.objects.create(case=case, kind=kind, note=note, at=now or timezone.now(), by=_staff(by))


def case_close(
    *, case: RecoveryCase, status: str, note: str = "", by=None, won_back: Reservation | None = None,
    now: datetime | None = None,
) -> RecoveryCase:
    """Resolve or lose a case, with the step that says so. Closing a closed case changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        current = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if current.status not in RecoveryCase.OPEN_STATUSES:
            return current
        current.status = status
        current.closed_at = now
        if won_back is not None:
            current.won_back = won_back
        current.save(update_fields=["status", "closed_at", "won_back"])
        case_act(case=current, kind=CLOSING[status], note=note, by=by, now=now)
    return current


def _staff(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def case_record(*, case: RecoveryCase, kind: str, note: str = "", by, now: datetime | None = None) -> CaseAction:
    """What a member of staff did for the guest (called, texted, apologised, a gesture, a refund, a note).

    Hosts record what they did; a refund is a manager's. A closed case is history: nothing more goes on it.
    """
    if kind not in STAFF_STEPS:
        raise ValueError(f"Staff do not record {kind!r} by hand.")
    if kind in MANAGER_STEPS and not is_manager(by, case.restaurant_id):
        raise ManagersOnly("Only a manager records a refund: money leaves the till.")
    with transaction.atomic():
        current = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if current.status not in RecoveryCase.OPEN_STATUSES:
            raise CaseClosed(f"This case is {current.status}: its timeline is history now.")
        return case_act(case=current, kind=kind, note=note, by=by, now=now)


def case_decide(*, case: RecoveryCase, status: str, note: str = "", by, now: datetime | None = None) -> RecoveryCase:
    """A manager closes a case: the guest was won back (`resolved`) or is gone (`lost`).

    Closing says whether the restaurant kept the guest; it feeds the recovery rate and takes the case off
    the overdue list, so the person that list is for decides it. Hosts record what they did on the way.
    """
    if status not in CLOSING:
        raise ValueError(f"A case closes as resolved or lost, not {status!r}.")
    if not is_manager(by, case.restaurant_id):
        raise ManagersOnly("Only a manager closes a case; record what you did for the guest as an action.")
    with transaction.atomic():
        current = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if current.status not in RecoveryCase.OPEN_STATUSES:
            raise CaseClosed(f"This case is already {current.status}.")
        return case_close(case=current, status=status, note=note, by=by, now=now)


def answered_at(case: RecoveryCase) -> datetime | None:
    """When the guest first heard from us on this case (a call, a text, an offer, an apology...), if yet."""
    steps = [a.at for a in case.actions.all() if a.kind in CONTACT_STEPS]
    return min(steps) if steps else None


def is_overdue(case: RecoveryCase, now: datetime) -> bool:
    """Still open, past its deadline, and nobody has reached the guest yet.

    An `offered` case is not overdue: the offer is our answer and the system runs it. Reads the case's
    prefetched actions (see `recovery.selectors`).
    """
    return case.status == Status.OPEN and now > case.respond_by and answered_at(case) is None
