"""Reads of recovery cases, scoped to the caller's restaurants through `reservations.access`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from reservations import access
from reservations.errors import NotFound
from reservations.models import Restaurant

from .models import CaseAction, RecoveryCase, RecoveryOffer
from .services.cases import CONTACT_STEPS

Status = RecoveryCase.Status


def cases_for(user) -> QuerySet[RecoveryCase]:
    """The cases of the restaurants this member of staff works at."""
    return RecoveryCase.objects.filter(restaurant__in=access.restaurants_for(user))


def case_for(user, restaurant: Restaurant, pk: int) -> RecoveryCase:
    """One case of this restaurant, for its staff; another restaurant's is as absent as one that never was."""
    case = with_timeline(cases_for(user).filter(restaurant=restaurant, pk=pk)).first()
    if case is None:
        raise NotFound(f"No recovery case {pk}.")
    return case


def case_get(pk: int) -> RecoveryCase:
    """A case with its timeline, as the API shows it (after a service changed it)."""
    return with_timeline(RecoveryCase.objects.filter(pk=pk)).get()


def with_timeline(cases: QuerySet[RecoveryCase]) -> QuerySet[RecoveryCase]:
    """Everything the case's answer shows, in a fixed number of queries however many cases."""
    return cases.select_related("restaurant", "guest", "refusal", "reservation", "opened_by").prefetch_related(
        Prefetch("actions", queryset=CaseAction.objects.select_related("by").order_by("at", "id"))
    )


def overdue_q(now: datetime) -> Q:
    """Open, past the deadline, and nobody has reached the guest yet (see `services.cases.is_overdue`)."""
    answered = CaseAction.objects.filter(case=OuterRef("pk"), kind__in=CONTACT_STEPS)
    return Q(status=Status.OPEN, respond_by__lt=now) & ~Q(Exists(answered))


def cases_list(
    restaurant: Restaurant, *, now: datetime, statuses: Iterable[str] = (), kinds: Iterable[str] = (),
    overdue: bool | None = None, limit: int = 200,
) -> list[RecoveryCase]:
    """The restaurant's cases, most urgent first (earliest deadline), filtered as the manager asked."""
    cases = RecoveryCase.objects.filter(restaurant=restaurant)
    if statuses:
        cases = cases.filter(status__in=list(statuses))
    if kinds:
        cases = cases.filter(kind__in=list(kinds))
    if overdue is not None:
        cases = cases.filter(overdue_q(now)) if overdue else cases.exclude(overdue_q(now))
    return list(with_timeline(cases.order_by("respond_by", "id"))[:limit])


# --- the front desk's reads ----------------------------------------------------------------------------------


def desk_cases(restaurant: Restaurant, *, now: datetime) -> list[RecoveryCase]:
    """The cases somebody still owes an answer (open and offered), most urgent first: two queries."""
    return cases_list(restaurant, now=now, statuses=RecoveryCase.OPEN_STATUSES)


def overdue_count(restaurant: Restaurant, *, now: datetime) -> int:
    """How many of the restaurant's cases are past their deadline with the guest not reached: one query."""
    return RecoveryCase.objects.filter(restaurant=restaurant).filter(overdue_q(now)).count()


def offer_holds_shown(restaurant: Restaurant, start: datetime, end: datetime) -> list[dict]:
    """The pending offers overlapping [start, end) as the timeline draws them (whom for, until when, which
    tables): one query."""
    rows = RecoveryOffer.tables.through.objects.filter(
        recoveryoffer__restaurant=restaurant, recoveryoffer__status=RecoveryOffer.Status.PENDING,
        recoveryoffer__start__lt=end, recoveryoffer__end__gt=start,
    ).order_by("recoveryoffer_id", "table_id").values_list(
        "recoveryoffer_id", "recoveryoffer__start", "recoveryoffer__end", "recoveryoffer__expires_at",
        "recoveryoffer__case__guest__name", "recoveryoffer__case__refusal__guest_name",
        "recoveryoffer__case__refusal__guest_phone", "table_id")
    offers: dict[int, dict] = {}
    for pk, o_start, o_end, expires, name, refused_name, phone, table_id in rows:
        offer = offers.setdefault(pk, {"id": pk, "start": o_start, "end": o_end, "expires_at": expires,
                                       "guest": name or refused_name or str(phone or ""), "tables": []})
        offer["tables"].append(table_id)
    return list(offers.values())
