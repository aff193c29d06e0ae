"""Recovery's share of a guest's export and erasure (plugged into `reservations.services.privacy`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from reservations.history import plain
from reservations.services.privacy import ERASED, GuestRows, Scrubber

from ..models import CaseAction, ExpectationOutcome, RecoveryCase


def guest_cases(rows: GuestRows) -> QuerySet[RecoveryCase]:
    return RecoveryCase.objects.filter(
        Q(guest=rows.guest) | Q(refusal__in=rows.refusals) | Q(reservation__in=rows.reservations)
        | Q(waitlist_entry__in=rows.waitlist) | Q(won_back__in=rows.reservations)
    ).distinct()


def recovery_export(rows: GuestRows) -> dict[str, Any]:
    cases = guest_cases(rows).select_related("restaurant").prefetch_related("actions")
    return {
        "recovery_cases": [{
            "id": c.pk, "restaurant": c.restaurant.slug, "kind": c.kind, "status": c.status, "summary": c.summary,
            "opened_at": plain(c.opened_at), "closed_at": plain(c.closed_at),
            "actions": [{"kind": a.kind, "note": a.note, "at": plain(a.at)} for a in c.actions.all()],
        } for c in cases.order_by("opened_at", "id")],
        "expectation_outcomes": [{
            "reservation": o.reservation_id, "expectation": o.expectation, "outcome": o.outcome, "note": o.note,
            "at": plain(o.at),
        } for o in ExpectationOutcome.objects.filter(reservation__in=rows.reservations).order_by("at", "id")],
    }


def recovery_erase(rows: GuestRows, scrub: Scrubber) -> dict[str, int]:
    case_ids = list(guest_cases(rows).values_list("pk", flat=True))
    # The summary names the guest ("Olena K., 4 at 20:00, turned away"): what happened is in the case's kind.
    cases = RecoveryCase.objects.filter(pk__in=case_ids).update(summary=ERASED)
    actions = [a for a in CaseAction.objects.filter(case_id__in=case_ids).exclude(note="")]
    for action in actions:
        action.note = ERASED
        action.save(update_fields=["note"])
    # An expectation may be free text ("allergic to nuts"): scored outcomes keep their score, not the words.
    outcomes = list(ExpectationOutcome.objects.filter(reservation__in=rows.reservations).order_by("id"))
    for n, outcome in enumerate(outcomes, start=1):
        outcome.expectation = f"{ERASED} {n}"
        outcome.note = ERASED if outcome.note else ""
        outcome.save(update_fields=["expectation", "note"])
    return {"recovery_cases": cases, "case_steps": len(actions), "expectation_outcomes": len(outcomes)}
