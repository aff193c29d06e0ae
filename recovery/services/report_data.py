"""The report's rows, read from the book: a handful of queries per report, none per row.

Days are service days (a 00:30 booking at a late service belongs to the evening it started), and a service
is named as the restaurant names it (`ServiceHours.name`). `recovery_report` assembles the manager's report
from `reports`' pure functions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from reservations import engine, selectors
from reservations.models import (
    Gesture,
    HoldBackRule,
    OverbookingPolicy,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    ServiceHours,
    WaitlistEntry,
)

from ..models import ExpectationOutcome, RecoveryCase
from . import reports

Status = Reservation.Status
SHOWED = (Status.ARRIVED, Status.SEATED, Status.COMPLETED)
OUTSIDE_HOURS = "outside hours"


class ServiceClock:
    """Which service day and service a moment falls in, from the restaurant's hours (plans cached per date)."""

    def __init__(self, restaurant: Restaurant) -> None:
        self.config = selectors.restaurant_config(restaurant)
        self.tz = restaurant.tz
        self.names: dict[int, list[str]] = defaultdict(list)
        for weekday, name in ServiceHours.objects.filter(restaurant=restaurant).order_by(
            "weekday", "opens"
        ).values_list("weekday", "name"):
            self.names[weekday].append(name)
        self._plans: dict[date, engine.DayPlan] = {}

    def plan(self, day: date) -> engine.DayPlan:
        if day not in self._plans:
            self._plans[day] = engine.plan_day(self.config, day, ())
        return self._plans[day]

    def where(self, moment: datetime) -> tuple[date, str]:
        local = moment.astimezone(self.tz).date()
        for day in (local, local - timedelta(days=1)):
            for i, window in enumerate(self.plan(day).services):
                if window.opens <= moment and (moment < window.closes or moment <= window.last_seating):
                    names = self.names[day.weekday()]
                    return day, names[i] if i < len(names) else "service"
        return local, OUTSIDE_HOURS

    def slot(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.tz):%H:%M}"


def _span(restaurant: Restaurant, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Every moment that can belong to a service day in the range (the last one may run past midnight)."""
    start, _ = selectors.local_day_range(restaurant, date_from)
    _, end = selectors.local_day_range(restaurant, date_to + timedelta(days=1))
    return start, end


def refusal_rows(
    restaurant: Restaurant, clock: ServiceClock, date_from: date, date_to: date
) -> list[reports.RefusalRow]:
    start, end = _span(restaurant, date_from, date_to)
    won = RecoveryCase.objects.filter(refusal=OuterRef("pk"), won_back__isnull=False)
    rows = []
    for when, party_size, reasons, won_back in (
        Refusal.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end)
        .annotate(won=Exists(won)).values_list("start", "party_size", "reasons", "won")
    ):
        day, _service = clock.where(when)
        if date_from <= day <= date_to:
            main = reasons[0] if reasons else engine.FULLY_BOOKED
            rows.append(reports.RefusalRow(day, clock.slot(when), party_size, main, bool(won_back),
                                           tuple(reasons or (main,))))
    return rows


def held_table_rows(
    restaurant: Restaurant, clock: ServiceClock, date_from: date, date_to: date
) -> tuple[int, list[reports.HeldUse]]:
    """The held table-evenings of the range, and the bookings that sat at a held table inside its window."""
    windows = []  # (service day, table id, window start, window end)
    day = date_from
    while day <= date_to:
        for hold in clock.plan(day).holds:
            windows += [(day, table, hold.start, hold.end) for table in hold.tables]
        day += timedelta(days=1)
    if not windows:
        return 0, []
    held = HoldBackRule.tables.through.objects.filter(holdbackrule__restaurant=restaurant).values("table_id")
    start, end = _span(restaurant, date_from, date_to)
    assignments = defaultdict(list)
    for table_id, name, a_start, a_end, channel, bypassed in (
        ReservationTable.objects.filter(table_id__in=held, start__lt=end, end__gt=start)
        .exclude(reservation__status=Status.CANCELLED)
        .values_list("table_id", "table__name", "start", "end", "reservation__channel",
                     "reservation__override_bypassed")
    ):
        assignments[table_id].append((name, a_start, a_end, channel, bypassed))
    uses = []
    for day, table, w_start, w_end in windows:
        for name, a_start, a_end, channel, bypassed in assignments[table]:
            if a_start < w_end and w_start < a_end:
                fate = ("walk_in" if channel == Reservation.Channel.WALK_IN
                        else "override" if bypassed == Reservation.Bypassed.HOLD_BACK else "released")
                uses.append(reports.HeldUse(day, name, fate))
    return len(windows), uses


def visit_rows(restaurant: Restaurant, clock: ServiceClock, date_from: date, date_to: date) -> list[reports.VisitRow]:
    """Bookings whose guests came or did not: walk-ins are not counted (they cannot fail to show)."""
    start, end = _span(restaurant, date_from, date_to)
    rows = []
    for when, party_size, channel, status in (
        Reservation.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end,
                                   status__in=(*SHOWED, Status.NO_SHOW))
        .exclude(channel=Reservation.Channel.WALK_IN).values_list("start", "party_size", "channel", "status")
    ):
        day, service = clock.where(when)
        if date_from <= day <= date_to:
            rows.append(reports.VisitRow(day, service, clock.slot(when), channel, party_size,
                                         status == Status.NO_SHOW))
    return rows


def case_rows(restaurant: Restaurant, date_from: date, date_to: date) -> list[reports.CaseRow]:
    start, _ = selectors.local_day_range(restaurant, date_from)
    _, end = selectors.local_day_range(restaurant, date_to)
    return [
        reports.CaseRow(kind, status, opened_at, respond_by, closed_at, won_back is not None)
        for kind, status, opened_at, respond_by, closed_at, won_back in RecoveryCase.objects.filter(
            restaurant=restaurant, opened_at__gte=start, opened_at__lt=end
        ).values_list("kind", "status", "opened_at", "respond_by", "closed_at", "won_back")
    ]


def wait_rows(restaurant: Restaurant, date_from: date, date_to: date) -> list[reports.WaitRow]:
    start, _ = selectors.local_day_range(restaurant, date_from)
    _, end = selectors.local_day_range(restaurant, date_to)
    rows = []
    for quoted, created, seated in WaitlistEntry.objects.filter(
        restaurant=restaurant, created_at__gte=start, created_at__lt=end
    ).exclude(status=WaitlistEntry.Status.WAITING).values_list("quoted_wait_minutes", "created_at", "seated_at"):
        actual = int((seated - created).total_seconds() // 60) if seated is not None else None
        rows.append(reports.WaitRow(quoted, actual))
    return rows


def gesture_rows(
    restaurant: Restaurant, clock: ServiceClock, date_from: date, date_to: date
) -> list[reports.GestureRow]:
    start, end = _span(restaurant, date_from, date_to)
    rows = []
    for when, cost, status, reaction in Gesture.objects.filter(
        restaurant=restaurant, reservation__start__gte=start, reservation__start__lt=end
    ).values_list("reservation__start", "cost", "status", "reaction"):
        day, service = clock.where(when)
        if date_from <= day <= date_to:
            rows.append(reports.GestureRow(day, service, cost, status, reaction))
    return rows


def outcome_values(restaurant: Restaurant, clock: ServiceClock, date_from: date, date_to: date) -> list[str]:
    start, end = _span(restaurant, date_from, date_to)
    return [
        outcome for when, outcome in ExpectationOutcome.objects.filter(
            restaurant=restaurant, reservation__start__gte=start, reservation__start__lt=end
        ).values_list("reservation__start", "outcome")
        if date_from <= clock.where(when)[0] <= date_to
    ]


def cap_suggestions(restaurant: Restaurant, visits: list[reports.VisitRow]) -> list[dict]:
    """A suggested overbooking cap per service, beside the policy's cap today."""
    policy = OverbookingPolicy.objects.filter(restaurant=restaurant).first()
    current = policy.max_overbooked_covers if policy else None
    return [
        {"service": service, "current_cap": current, "history": history, **reports.cap_suggestion(history)}
        for service, history in sorted(reports.no_show_covers_per_service(visits).items())
    ]


def recovery_report(restaurant: Restaurant, date_from: date, date_to: date, *, now: datetime | None = None) -> dict:
    """The manager's report over service days `date_from`..`date_to` (inclusive)."""
    now = now or timezone.now()
    clock = ServiceClock(restaurant)
    refusals = refusal_rows(restaurant, clock, date_from, date_to)
    table_evenings, held_uses = held_table_rows(restaurant, clock, date_from, date_to)
    visits = visit_rows(restaurant, clock, date_from, date_to)
    return {
        "restaurant": restaurant.slug,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "refusals": {**reports.refusals_total(refusals), "by_slot": reports.refusals_by_slot(refusals)},
        "held_tables": reports.held_tables(table_evenings, held_uses),
        "no_shows": reports.no_show_report(visits),
        "overbooking_caps": cap_suggestions(restaurant, visits),
        "expectations": reports.outcome_rates(outcome_values(restaurant, clock, date_from, date_to)),
        "recovery": reports.recovery_rates(case_rows(restaurant, date_from, date_to), now=now),
        "waits": reports.wait_gap(wait_rows(restaurant, date_from, date_to)),
        "gestures": reports.gesture_spend(gesture_rows(restaurant, clock, date_from, date_to),
                                          budget=restaurant.gesture_budget_per_service),
    }
