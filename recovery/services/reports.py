"""The manager's recovery report: what the restaurant refused, recovered, promised and gave, over a date range.

Pure aggregation over plain rows (`report_rows` loads them from the database), so every number can be
checked by hand: refusals per day and slot and how many of those guests were won back; what became of the
tables held back for walk-ins; the no-show rate by weekday, slot and channel; a suggested overbooking cap
per service from the restaurant's own no-show history; the fail / OK / WOW rates of guests' expectations;
the recovery rate; the quoted-vs-actual wait gap; and the gesture spend per service against the budget.

Rates are fractions (0.25 is a quarter) rounded to 4 places, or None when nothing was counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The suggestion would have been too many covers in at most this share of past services.
CAP_RISK_PERCENT = 20
# Fewer past services than this and no cap is suggested: a guess, not the restaurant's history.
CAP_MIN_SERVICES = 4


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- rows -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusalRow:
    """One "no": the service day and slot asked for, the covers, its main reason, and whether the guest came back."""

    day: date
    slot: str  # "20:00", the restaurant's local time
    covers: int
    reason: str
    won_back: bool
    reasons: tuple[str, ...] = ()  # all of them, the main one first


@dataclass(frozen=True)
class HeldUse:
    """A booking on a table held back for walk-ins, inside the hold's window: how it got there."""

    day: date
    table: str
    fate: str  # "walk_in", "released" (booked once the hold let go of it) or "override"


@dataclass(frozen=True)
class VisitRow:
    """A booking whose outcome is known: the guest came (arrived, seated, completed) or was a no-show."""

    day: date  # the service day
    service: str  # the service's name ("dinner")
    slot: str
    channel: str
    covers: int
    no_show: bool


@dataclass(frozen=True)
class CaseRow:
    kind: str
    status: str
    opened_at: datetime
    respond_by: datetime
    closed_at: datetime | None
    won_back: bool


@dataclass(frozen=True)
class WaitRow:
    quoted_minutes: int
    actual_minutes: int | None  # None: never seated (left the list)


@dataclass(frozen=True)
class GestureRow:
    day: date
    service: str
    cost: Decimal
    status: str
    reaction: str


# --- refusals ---------------------------------------------------------------------------------------------


def refusals_by_slot(rows: Iterable[RefusalRow]) -> list[dict]:
    """Per day and slot: refusals, covers turned away, refusals by main reason, guests (and covers) won back."""
    slots: dict[tuple[date, str], list[RefusalRow]] = defaultdict(list)
    for row in rows:
        slots[(row.day, row.slot)].append(row)
    return [
        {
            "date": day.isoformat(), "slot": slot, "refusals": len(group), "covers": sum(r.covers for r in group),
            "by_reason": dict(sorted(Counter(r.reason for r in group).items())),
            "won_back": sum(r.won_back for r in group), "won_back_covers": sum(r.covers for r in group if r.won_back),
        }
        for (day, slot), group in sorted(slots.items())
    ]


def refusals_total(rows: Sequence[RefusalRow]) -> dict:
    """Totals, and the two answers the owner judges the rules by: refusals while a fitting table was held for
    walk-ins (hold back less?) and refusals at the overbooking limit (overbook more?)."""
    won = [r for r in rows if r.won_back]
    return {"refusals": len(rows), "covers": sum(r.covers for r in rows), "won_back": len(won),
            "won_back_covers": sum(r.covers for r in won), "won_back_rate": rate(len(won), len(rows)),
            "while_tables_held": sum("held_for_walk_ins" in r.reasons for r in rows),
            "at_overbooking_limit": sum("overbooking_limit" in r.reasons for r in rows)}


# --- hold-back and overbooking -------------------------------------------------------------------------------


def held_tables(table_evenings: int, uses: Sequence[HeldUse]) -> dict:
    """How often held tables went to walk-ins, were released to the book or taken by an override.

    `table_evenings`: one per held table per hold window in the range; `unused` are those nobody sat at.
    """
    fates = Counter(u.fate for u in uses)
    used = len({(u.day, u.table) for u in uses})
    return {"table_evenings": table_evenings, "walk_in": fates["walk_in"], "released": fates["released"],
            "override": fates["override"], "unused": max(table_evenings - used, 0)}


def no_show_rates(rows: Sequence[VisitRow], key: Callable[[VisitRow], str]) -> list[dict]:
    """Bookings, no-shows and the no-show rate per `key` (weekday, slot, channel), by bookings."""
    groups: dict[str, list[VisitRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [
        {"key": name, "bookings": len(group), "no_shows": sum(r.no_show for r in group),
         "rate": rate(sum(r.no_show for r in group), len(group))}
        for name, group in groups.items()
    ]


def no_show_report(rows: Sequence[VisitRow]) -> dict:
    by_weekday = sorted(no_show_rates(rows, lambda r: WEEKDAY_NAMES[r.day.weekday()]),
                        key=lambda g: WEEKDAY_NAMES.index(g["key"]))
    return {
        "bookings": len(rows), "no_shows": sum(r.no_show for r in rows),
        "rate": rate(sum(r.no_show for r in rows), len(rows)),
        "by_weekday": by_weekday,
        "by_slot": sorted(no_show_rates(rows, lambda r: r.slot), key=lambda g: g["key"]),
        "by_channel": sorted(no_show_rates(rows, lambda r: r.channel), key=lambda g: g["key"]),
    }


def no_show_covers_per_service(rows: Iterable[VisitRow]) -> dict[str, list[int]]:
    """Per service name, the no-show covers of each past service that had bookings (day order)."""
    per: dict[tuple[str, date], int] = defaultdict(int)
    for row in rows:
        per[(row.service, row.day)] += row.covers if row.no_show else 0
    history: dict[str, list[int]] = defaultdict(list)
    for (service, _day), covers in sorted(per.items(), key=lambda item: (item[0][0], item[0][1])):
        history[service].append(covers)
    return dict(history)


def cap_suggestion(history: Sequence[int], *, risk_percent: int = CAP_RISK_PERCENT) -> dict:
    """A cap on overbooked covers from the no-show covers of past services, with its risk in plain words.

    The suggestion is the largest cap that would have been more than the covers missing in at most
    `risk_percent` of those services: sorted, the value at index ⌊n × risk⌋ (a low quantile of the
    expected no-show covers, never their mean: a cap at the mean is too many half the time).
    """
    n = len(history)
    everyone = sum(1 for x in history if x == 0)
    base = {"services": n, "mean_no_show_covers": round(sum(history) / n, 2) if n else None,
            "everyone_showed": everyone, "everyone_showed_rate": rate(everyone, n)}
    if n < CAP_MIN_SERVICES:
        return {**base, "suggested_cap": None, "too_many_in": None,
                "words": f"Only {n} past service{'s' if n != 1 else ''} with bookings: at least {CAP_MIN_SERVICES} "
                         "are needed before a cap is suggested from the restaurant's own history."}
    ordered = sorted(history)
    cap = ordered[risk_percent * n // 100]
    short = sum(1 for x in history if x < cap)
    words = (f"In {everyone} of {n} past services ({_percent(everyone, n)}) every booked guest came. "
             f"A cap of {cap} overbooked cover{'s' if cap != 1 else ''} would have been more than the covers "
             f"missing in {short} of {n} ({_percent(short, n)}): on such a night an overbooked party waits for a "
             "table.")
    if cap == 0:
        words = (f"In {everyone} of {n} past services ({_percent(everyone, n)}) every booked guest came: too often "
                 "to overbook at all; the suggestion is no overbooking.")
    return {**base, "suggested_cap": cap, "too_many_in": short, "words": words}


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"


# --- expectations, recovery, waits, gestures -------------------------------------------------------------------


def outcome_rates(outcomes: Sequence[str]) -> dict:
    counts = Counter(outcomes)
    total = len(outcomes)
    return {"marked": total, "wow": counts["wow"], "ok": counts["ok"], "fail": counts["fail"],
            "wow_rate": rate(counts["wow"], total), "ok_rate": rate(counts["ok"], total),
            "fail_rate": rate(counts["fail"], total)}


def recovery_rates(cases: Sequence[CaseRow], *, now: datetime) -> dict:
    """Cases resolved before their deadline, and turned-away guests won back."""
    in_time = [c for c in cases if c.status == "resolved" and c.closed_at is not None
               and c.closed_at <= c.respond_by]
    turned_away = [c for c in cases if c.kind == "turned_away"]
    won = [c for c in turned_away if c.won_back]
    still_open = [c for c in cases if c.status in ("open", "offered")]
    return {
        "cases": len(cases), "resolved": sum(c.status == "resolved" for c in cases),
        "lost": sum(c.status == "lost" for c in cases), "open": len(still_open),
        "overdue": sum(c.respond_by < now for c in still_open),
        "resolved_in_time": len(in_time), "resolved_in_time_rate": rate(len(in_time), len(cases)),
        "by_kind": dict(sorted(Counter(c.kind for c in cases).items())),
        "turned_away": len(turned_away), "turned_away_won_back": len(won),
        "turned_away_won_back_rate": rate(len(won), len(turned_away)),
    }


def wait_gap(rows: Sequence[WaitRow]) -> dict:
    """Quoted vs actual waits of the parties seated from the waitlist (minutes; a negative gap beat the quote)."""
    seated = [r for r in rows if r.actual_minutes is not None]
    gaps = [r.actual_minutes - r.quoted_minutes for r in seated]
    n = len(seated)
    return {
        "parties": len(rows), "seated": n, "left": len(rows) - n,
        "mean_quoted_minutes": round(sum(r.quoted_minutes for r in seated) / n, 1) if n else None,
        "mean_actual_minutes": round(sum(r.actual_minutes for r in seated) / n, 1) if n else None,
        "mean_gap_minutes": round(sum(gaps) / n, 1) if n else None,
        "beat_or_met_quote": sum(g <= 0 for g in gaps), "missed_quote": sum(g > 0 for g in gaps),
        "worst_overrun_minutes": max([g for g in gaps if g > 0], default=0),
    }


def gesture_spend(rows: Sequence[GestureRow], *, budget: Decimal) -> dict:
    """Per service the cost of gestures given or queued (spent) against the budget, and the guests' reactions."""
    spent = ("queued", "presented")
    per: dict[tuple[date, str], list[GestureRow]] = defaultdict(list)
    for row in rows:
        per[(row.day, row.service)].append(row)
    services = []
    for (day, service), group in sorted(per.items()):
        cost = sum((r.cost for r in group if r.status in spent), Decimal("0"))
        services.append({
            "date": day.isoformat(), "service": service, "gestures": sum(r.status in spent for r in group),
            "spent": str(cost), "budget": str(budget), "over_budget": cost > budget,
            "awaiting_approval": sum(r.status == "needs_approval" for r in group),
        })
    total = sum((r.cost for r in rows if r.status in spent), Decimal("0"))
    return {"budget_per_service": str(budget), "spent": str(total), "services": services,
            "reactions": dict(sorted(Counter(r.reaction for r in rows if r.reaction).items()))}
