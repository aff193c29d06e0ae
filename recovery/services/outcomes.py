"""After a visit, staff score each of the guest's expectations: missed (fail), met (OK) or exceeded (WOW).

Article 002's three outcomes, in two taps per expectation; the report turns them into the restaurant's
fail / OK / WOW rates. Marking the same expectation again corrects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from reservations.errors import InvalidInput
from reservations.models import Reservation

from ..errors import NotVisited
from ..models import ExpectationOutcome

# A party that came: what they expected can be scored.
VISITED = (Reservation.Status.ARRIVED, Reservation.Status.SEATED, Reservation.Status.COMPLETED)


def expectations_of(reservation: Reservation) -> list[str]:
    """What the guest expects, from their profile and this booking, each once, in order."""
    seen: list[str] = []
    profile = reservation.guest.expectations if reservation.guest_id else []
    for item in [*profile, *reservation.expectations]:
        if isinstance(item, str) and item not in seen:
            seen.append(item)
    return seen


def outcomes_mark(
    *, reservation: Reservation, marks: Sequence[tuple[str, str, str]], by, now: datetime | None = None
) -> list[ExpectationOutcome]:
    """Score expectations of a party that came: `marks` are (expectation, outcome, note). All or nothing."""
    status = Reservation.objects.values_list("status", flat=True).get(pk=reservation.pk)  # as it is now
    if status not in VISITED:
        raise NotVisited(f"This party is {status}: expectations are scored once they have come.")
    problems = [f"{outcome!r} is not one of fail, ok, wow." for _, outcome, _ in marks
                if outcome not in ExpectationOutcome.Outcome.values]
    if problems:
        raise InvalidInput({"outcome": problems})
    now = now or timezone.now()
    by = by if by is not None and getattr(by, "is_authenticated", False) else None
    with transaction.atomic():
        for expectation, outcome, note in marks:
            ExpectationOutcome.objects.update_or_create(
                reservation=reservation, expectation=expectation.strip(),
                defaults={"restaurant_id": reservation.restaurant_id, "outcome": outcome, "note": note, "by": by,
                          "at": now},
            )
    return outcomes_of(reservation)


def outcomes_of(reservation: Reservation) -> list[ExpectationOutcome]:
    """How the party's expectations were scored so far (the caller reached the booking through `access`)."""
    return list(ExpectationOutcome.objects.filter(reservation=reservation).select_related("by").order_by(
        "expectation"))
