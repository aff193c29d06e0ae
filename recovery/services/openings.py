"""What opened on the book after a guest was turned away: the only tables we offer them.

A guest refused at 17:40 was told no because nothing fitted then. A table free all along (at a start we did
not name as an alternative, or for a channel they did not book on) did not "just open", and texting that it
did is untrue. A table opens for a refused guest when, after their refusal:

- a booking gave it back (`reservations.models.TableRelease`: cancelled, a no-show, left early, moved);
- another guest's offer of it lapsed, was declined or withdrawn (it goes on down the line as it opened);
- a hold-back rule released it to the book (the engine's `hold_released_tables`; the text then says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from reservations import engine
from reservations.models import Refusal, Restaurant, TableRelease

from ..models import RecoveryOffer

Opened = RecoveryOffer.Opened
OfferStatus = RecoveryOffer.Status


@dataclass(frozen=True)
class Opening:
    tables: frozenset[int]
    start: datetime
    end: datetime
    at: datetime  # when it opened
    kind: str  # a RecoveryOffer.Opened
    freed_by_id: int | None = None


def day_openings(restaurant: Restaurant, start: datetime, end: datetime, *, since: datetime, now: datetime
                 ) -> list[Opening]:
    """Tables given back for some of [start, end) after `since` and by `now`, first opened first: two queries."""
    openings = [
        Opening(frozenset({table}), o_start, o_end, at, Opened.FREED, freed_by)
        for table, o_start, o_end, at, freed_by in TableRelease.objects.filter(
            restaurant=restaurant, end__gt=start, start__lt=end, released_at__gt=since, released_at__lte=now,
        ).values_list("table_id", "start", "end", "released_at", "reservation_id")
    ]
    lapsed: dict[int, list] = {}
    for pk, o_start, o_end, answered, expires, kind, freed_by, table in RecoveryOffer.tables.through.objects.filter(
        Q(recoveryoffer__answered_at__gt=since) | Q(recoveryoffer__answered_at__isnull=True,
                                                    recoveryoffer__expires_at__gt=since),
        recoveryoffer__restaurant=restaurant, recoveryoffer__status__in=[OfferStatus.EXPIRED, OfferStatus.WITHDRAWN],
        recoveryoffer__end__gt=start, recoveryoffer__start__lt=end,
    ).values_list("recoveryoffer_id", "recoveryoffer__start", "recoveryoffer__end", "recoveryoffer__answered_at",
                  "recoveryoffer__expires_at", "recoveryoffer__opened", "recoveryoffer__freed_by_id", "table_id"):
        lapsed.setdefault(pk, [o_start, o_end, answered or expires, kind, freed_by, set()])[5].add(table)
    openings += [Opening(frozenset(tables), o_start, o_end, at, kind, freed_by)
                 for o_start, o_end, at, kind, freed_by, tables in lapsed.values() if at <= now]
    return sorted(openings, key=lambda o: o.at)


def opened_for(plan: engine.DayPlan, refusal: Refusal, openings: list[Opening], *, tables: frozenset[int],
               start: datetime, end: datetime, now: datetime) -> Opening | None:
    """What opened after `refusal` among `tables` for [start, end) — a booking's tables given back first,
    else a hold released — or None: then they were free when the guest was refused, and it is no offer."""
    for opening in openings:
        if (opening.at > refusal.created_at and opening.tables & tables and opening.start < end
                and start < opening.end):
            return opening
    released = engine.hold_released_tables(plan, start, end, since=refusal.created_at, now=now) & tables
    if released:
        return Opening(released, start, end, now, Opened.HOLD_RELEASED)
    return None


def anything_opened(plan: engine.DayPlan, refusal: Refusal, openings: list[Opening], *, start: datetime,
                    end: datetime, now: datetime) -> bool:
    """Could a table have opened for `refusal` over [start, end)? Cheap, before the engine is asked."""
    every = frozenset(t for hold in plan.holds for t in hold.tables) | frozenset(
        t for o in openings for t in o.tables)
    return opened_for(plan, refusal, openings, tables=every, start=start, end=end, now=now) is not None
