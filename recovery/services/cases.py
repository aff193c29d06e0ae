"""Recovery cases: opened for every "no" with a guest to come back to, answered before `respond_by`.

The deadline is minutes, not days (`RESPOND_WITHIN`): the product promises the guest hears from us fast.
Every step is a `CaseAction` on the case's timeline; closing a case is a step too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from reservations.models import Guest, Refusal, Reservation, Restaurant, WaitlistEntry

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


def case_open(
    *,
    restaurant: Restaurant,
    kind: str,
    summary: str,
    guest: Guest | None = None,
    refusal: Refusal | None = None,
    reservation: Reservation | None = None,
    waitlist_entry: WaitlistEntry | None = None,
    by=None,
    now: datetime | None = None,
) -> RecoveryCase:
    """Open a case with its deadline and an `opened` step. A refusal has one case: opening it again returns it."""
    now = now or timezone.now()
    if refusal is not None:
        existing = RecoveryCase.objects.filter(refusal=refusal).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            case = RecoveryCase.objects.create(
                restaurant=restaurant, kind=kind, summary=summary[:300], guest=guest, refusal=refusal,
                reservation=reservation, waitlist_entry=waitlist_entry, opened_at=now,
                respond_by=now + RESPOND_WITHIN[kind], opened_by=_staff(by),
            )
            CaseAction.objects.create(case=case, kind=Step.OPENED, note=summary, at=now, by=_staff(by))
    except IntegrityError:
        # Another process opened this refusal's case between our look and our write.
        if refusal is None:
            raise
        return RecoveryCase.objects.get(refusal=refusal)
    return case


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
