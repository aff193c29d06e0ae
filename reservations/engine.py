"""The availability engine: pure functions on plain data, no ORM.

Everything the book decides — is this slot free, which table, may it be
overbooked, what does an override bypass, how long will a walk-in wait — is
decided here, from a `RestaurantConfig` (the restaurant's static set-up) and
the day's active bookings. The same answer therefore comes from the public
availability endpoint, the front desk and the locked booking path.

Times are timezone-aware datetimes; wall-clock arithmetic (the slot grid,
service hours, hold-back windows) is done in the restaurant's zone, durations
(turn times, release leads) in real elapsed time, so DST changes neither
invent nor lose a slot.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

# Reason codes, in the order the main `reason` is chosen.
IN_THE_PAST = "in_the_past"
CLOSED = "closed"
OUTSIDE_SERVICE_HOURS = "outside_service_hours"
PARTY_TOO_LARGE = "party_too_large"
FULLY_BOOKED = "fully_booked"
HELD_FOR_WALK_INS = "held_for_walk_ins"
OVERBOOKING_LIMIT = "overbooking_limit"
REASON_ORDER = (
    IN_THE_PAST,
    CLOSED,
    OUTSIDE_SERVICE_HOURS,
    PARTY_TOO_LARGE,
    FULLY_BOOKED,
    HELD_FOR_WALK_INS,
    OVERBOOKING_LIMIT,
)

# A seating-only reason: a table the host chose is taken for the party's time.
TABLE_TAKEN = "table_taken"

WALK_IN = "walk_in"
ONLINE = "online"
HOST = "host"
HOLD_BACK = "hold_back"


# --- the restaurant's static set-up ------------------------------------------------


@dataclass(frozen=True)
class Seating:
    """A place a party can sit: one table, or a combination of tables."""

    tables: tuple[int, ...]
    names: tuple[str, ...]
    min_covers: int
    max_covers: int

    @property
    def name(self) -> str:
        return "+".join(self.names)

    def fits(self, party_size: int) -> bool:
        return self.min_covers <= party_size <= self.max_covers


@dataclass(frozen=True)
class ServiceRule:
    weekday: int
    opens: time
    last_seating: time
    closes: time


@dataclass(frozen=True)
class HoldRule:
    weekdays: frozenset[int]
    starts: time
    ends: time
    tables: frozenset[int]
    release_minutes: int


@dataclass(frozen=True)
class Policy:
    max_overbooked_covers: int
    max_party_size: int
    channels: frozenset[str]

    def applies_to(self, party_size: int, channel: str) -> bool:
        # Online bookings never overbook (the contract), whatever the stored channel list says.
        return channel != ONLINE and channel in self.channels and party_size <= self.max_party_size


@dataclass(frozen=True)
class TurnRule:
    min_party: int
    max_party: int
    minutes: int


@dataclass(frozen=True)
class RestaurantConfig:
    tz: ZoneInfo
    slot_minutes: int
    horizon_days: int
    seatings: tuple[Seating, ...]
    services: tuple[ServiceRule, ...]
    holds: tuple[HoldRule, ...] = ()
    policy: Policy | None = None
    turn_times: tuple[TurnRule, ...] = ()
    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Best fit first: the smallest seating, single tables before combinations.
        ordered = tuple(sorted(self.seatings, key=lambda s: (s.max_covers, len(s.tables), s.min_covers, s.tables)))
        object.__setattr__(self, "seatings", ordered)

    # Computed once per set-up (it is cached per process), not once per slot.
    @cached_property
    def largest_party(self) -> int:
        return max((s.max_covers for s in self.seatings), default=0)

    @cached_property
    def longest_turn(self) -> timedelta:
        return timedelta(minutes=max((t.minutes for t in self.turn_times), default=0))

    def seatings_for(self, party_size: int) -> tuple[Seating, ...]:
        """The seatings that fit the party, best fit first (as `seatings`), remembered per party size."""
        fitting = self.__dict__.setdefault("_fitting", {})
        found = fitting.get(party_size)
        if found is None:
            found = fitting[party_size] = tuple(s for s in self.seatings if s.fits(party_size))
        return found

    def turn_time(self, party_size: int) -> timedelta | None:
        for rule in self.turn_times:
            if rule.min_party <= party_size <= rule.max_party:
                return timedelta(minutes=rule.minutes)
        return None


# --- one day ------------------------------------------------------------------------


class Booking(NamedTuple):
    """An active booking as the engine sees it: when, how many, which tables.

    A named tuple, not a dataclass: a day at a large restaurant builds a thousand or more of these per request,
    and a tuple is made several times faster than a frozen dataclass.
    """

    start: datetime
    end: datetime
    covers: int
    tables: tuple[int, ...] = ()
    overbooked: bool = False
    id: int | None = None
    # Not a booking but its tables held for one (a recovery offer waiting for the guest's YES): named, so a
    # plan read by a person (or a test) tells the two apart. The engine treats both alike: the tables are taken.
    hold: str = ""
    # A hold's own end: from this instant on the tables are free again, whether or not a sweep has lapsed the
    # hold's row yet (`DayPlan.at`). None for a booking, which holds its tables until it is cancelled.
    until: datetime | None = None


@dataclass(frozen=True)
class ServiceWindow:
    opens: datetime
    last_seating: datetime
    closes: datetime
    slots: tuple[datetime, ...]


@dataclass(frozen=True)
class HoldWindow:
    tables: frozenset[int]
    start: datetime
    end: datetime
    release_before: timedelta


class BusyIndex:
    """Each table's taken time as sorted, disjoint intervals in epoch seconds, built once per plan in one
    pass over the bookings: "is table T free in [a, b)" is one binary search, not a scan of its bookings.

    Epoch seconds (correctly rounded floats: microsecond instants keep their order and equality) rather than
    aware datetimes, whose every comparison across two zones asks both for their UTC offsets.
    """

    __slots__ = ("_starts", "_ends")

    def __init__(self, bookings: Iterable[Booking]) -> None:
        spans: dict[int, list[tuple[float, float]]] = {}
        for booking in bookings:
            if booking.tables:
                # Not memoised by datetime: two wall-clock times of a DST fall-back night compare equal in one
                # zone (fold is ignored) while they are an hour apart.
                span = (booking.start.timestamp(), booking.end.timestamp())
                for table in booking.tables:
                    spans.setdefault(table, []).append(span)
        self._starts: dict[int, list[float]] = {}
        self._ends: dict[int, list[float]] = {}
        for table, taken in spans.items():
            taken.sort()  # the day's bookings come ordered by start: a linear pass for Timsort
            starts: list[float] = []
            ends: list[float] = []
            for start, end in taken:
                if starts and start <= ends[-1]:
                    # Overlapping or touching: one stretch. Half-open, so the union is exactly the merged span.
                    if end > ends[-1]:
                        ends[-1] = end
                else:
                    starts.append(start)
                    ends.append(end)
            self._starts[table] = starts
            self._ends[table] = ends

    def free(self, tables: Iterable[int], start: float, end: float) -> bool:
        """Whether every one of `tables` is free for all of [start, end) (epoch seconds)."""
        for table in tables:
            ends = self._ends.get(table)
            if ends is None:
                continue
            # The first stretch still running at `start`; the table is taken if it begins before `end`.
            i = bisect_right(ends, start)
            if i < len(ends) and self._starts[table][i] < end:
                return False
        return True


@dataclass(frozen=True)
class DayPlan:
    config: RestaurantConfig
    date: date
    closed: bool
    services: tuple[ServiceWindow, ...]
    grid: tuple[datetime, ...]
    holds: tuple[HoldWindow, ...]
    bookings: tuple[Booking, ...]
    _busy: BusyIndex = field(init=False, repr=False, compare=False)
    # Overbooked bookings (start, end, covers) in epoch seconds: the only ones the overbooking sweep reads.
    _overbooked: tuple[tuple[float, float, int], ...] = field(init=False, repr=False, compare=False)
    # The free seatings per (party size, from, until): they depend on the bookings alone, not on the moment
    # asked, so a plan reused across requests (`selectors.day_plan`) answers a slot it has answered before
    # without a search.
    _free: dict[tuple[int, float, float], tuple[Seating, ...]] = field(init=False, repr=False, compare=False)
    # `availability`'s answers per (party size, channel), with the stretch of time they hold for.
    _answers: dict[tuple[int, str], tuple[float, float, tuple[Decision, ...]]] = field(
        init=False, repr=False, compare=False)
    # The holds' ends (epoch seconds, sorted), and the plan left once the first n of them have passed.
    _untils: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _lapsed: dict[int, DayPlan] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_untils", tuple(sorted(b.until.timestamp() for b in self.bookings if b.until)))
        object.__setattr__(self, "_lapsed", {})
        object.__setattr__(self, "_busy", BusyIndex(self.bookings))
        object.__setattr__(self, "_overbooked", tuple(
            (b.start.timestamp(), b.end.timestamp(), b.covers) for b in self.bookings if b.overbooked))
        object.__setattr__(self, "_free", {})
        object.__setattr__(self, "_answers", {})

    def at(self, now: datetime) -> DayPlan:
        """This plan as it stands at `now`: without the holds whose `until` has passed. Every entry point that
        takes `now` asks it first, so a hold stops counting at its own end, whatever the sweeps do."""
        if not self._untils:
            return self
        lapsed = bisect_right(self._untils, now.timestamp())
        if not lapsed:
            return self
        plan = self._lapsed.get(lapsed)
        if plan is None:
            cut = self._untils[lapsed - 1]
            plan = self._lapsed[lapsed] = self.with_bookings(
                b for b in self.bookings if b.until is None or b.until.timestamp() > cut)
        return plan

    def free_seatings(self, party_size: int, start: float, end: float) -> tuple[Seating, ...]:
        """The seatings that fit the party and are free for all of [start, end) (epoch seconds), in the
        set-up's order of preference."""
        key = (party_size, start, end)
        free = self._free.get(key)
        if free is None:
            if len(self._free) >= 4096:  # seat-now questions ask at any moment: bounded
                self._free.clear()
            busy = self._busy
            free = self._free[key] = tuple(
                s for s in self.config.seatings_for(party_size) if busy.free(s.tables, start, end))
        return free

    def table_free(self, table: int, start: datetime, end: datetime) -> bool:
        return self._busy.free((table,), start.timestamp(), end.timestamp())

    def seating_free(self, seating: Seating, start: datetime, end: datetime) -> bool:
        return self._busy.free(seating.tables, start.timestamp(), end.timestamp())

    def with_booking(self, booking: Booking) -> DayPlan:
        return self.with_bookings((*self.bookings, booking))

    def with_bookings(self, bookings: Iterable[Booking]) -> DayPlan:
        """The same day with these bookings instead."""
        return DayPlan(self.config, self.date, self.closed, self.services, self.grid, self.holds, tuple(bookings))


@dataclass(frozen=True)
class Decision:
    """The engine's answer for one party at one start."""

    start: datetime
    available: bool
    overbook: bool = False
    seating: Seating | None = None
    reasons: tuple[str, ...] = ()
    bypassed: str | None = None  # "hold_back" or "overbooking_limit" for an override
    end: datetime | None = None

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The aware moment of a wall-clock time, or None where DST skips it."""
    moment = datetime.combine(day, at).replace(tzinfo=tz)
    if moment.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None
    return moment


def _later(moment: datetime, delta: timedelta) -> datetime:
    """`moment` plus `delta` of real elapsed time, in `moment`'s zone.

    Plain `aware + timedelta` adds wall-clock time within one zone, which is
    an hour off when a DST change falls inside the interval.
    """
    return (moment.astimezone(ZoneInfo("UTC")) + delta).astimezone(moment.tzinfo)


def _wall_clock_steps(day: date, first: time, last: time, minutes: int, tz: ZoneInfo) -> list[datetime]:
    """Every `minutes` of wall-clock time from `first` to `last` (past midnight if last < first)."""
    start = datetime.combine(day, first)
    stop = datetime.combine(day, last)
    if stop < start:
        stop += timedelta(days=1)
    steps = []
    at = start
    while at <= stop:
        moment = local_moment(at.date(), at.time(), tz)
        if moment is not None:
            steps.append(moment)
        at += timedelta(minutes=minutes)
    return steps


def _aware(day: date, at: time, tz: ZoneInfo, *, after: datetime | None = None) -> datetime:
    moment = datetime.combine(day, at)
    if after is not None and moment < after.replace(tzinfo=None):
        moment += timedelta(days=1)
    # A wall-clock time DST skips is read as the moment just after the gap.
    return moment.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")).astimezone(tz)


def plan_day(config: RestaurantConfig, day: date, bookings: Iterable[Booking]) -> DayPlan:
    """The day's services, slot grid and hold-back windows, with its bookings."""
    # The day without its bookings depends on the set-up alone: worked out once per set-up and day (the set-up
    # is cached per process and replaced when it changes), not on every request.
    days = config.__dict__.setdefault("_empty_days", {})
    empty = days.get(day)
    if empty is None:
        if len(days) >= 64:  # a few KB a day: bounded for a chain's many set-ups in one process
            days.clear()
        empty = days[day] = _empty_day(config, day)
    bookings = tuple(bookings)
    return empty.with_bookings(bookings) if bookings else empty


def _empty_day(config: RestaurantConfig, day: date) -> DayPlan:
    tz = config.tz
    weekday = day.weekday()
    rules = [s for s in config.services if s.weekday == weekday]
    closed = not rules or day in config.closures
    services = []
    for rule in sorted(rules, key=lambda r: r.opens):
        opens = _aware(day, rule.opens, tz)
        last = _aware(day, rule.last_seating, tz, after=opens)
        closes = _aware(day, rule.closes, tz, after=opens)
        slots = tuple(_wall_clock_steps(day, rule.opens, rule.last_seating, config.slot_minutes, tz))
        services.append(ServiceWindow(opens, last, max(closes, last), slots))

    if services:
        grid_rules = rules
    else:
        # A closed day still lists the usual grid, every slot marked closed.
        usual = {(r.opens, r.last_seating) for r in config.services}
        grid_rules = [ServiceRule(weekday, o, ls, ls) for o, ls in usual]
    grid: set[datetime] = set()
    if grid_rules:
        first = min(r.opens for r in grid_rules)
        for rule in grid_rules:
            grid.update(_wall_clock_steps(day, rule.opens, rule.last_seating, config.slot_minutes, tz))
        # Slots between services (after lunch, before dinner) are listed too.
        last_of_day = max(grid) if grid else None
        if last_of_day is not None:
            gap_fill = _wall_clock_steps(day, first, last_of_day.astimezone(tz).time(), config.slot_minutes, tz)
            grid.update(m for m in gap_fill if m <= last_of_day)

    holds = []
    for hold in config.holds:
        if weekday in hold.weekdays:
            # A hold's weekdays name the service day: 01:00 on a Friday hold is Friday night's 01:00.
            start = _aware(_hold_day(rules, day, hold.starts), hold.starts, tz)
            holds.append(HoldWindow(hold.tables, start, _aware(day, hold.ends, tz, after=start),
                                    timedelta(minutes=hold.release_minutes)))
    return DayPlan(config, day, closed, tuple(services), tuple(sorted(grid)), tuple(holds), ())


def book_window(plan: DayPlan) -> tuple[datetime, datetime] | None:
    """[from, until): every moment the day's services can put a party at a table — from the first opening to the
    later of the last closing and the last seating's longest turn (past midnight for a late service). A booking
    outside it cannot touch any decision about the day. None where the weekday has no service at all."""
    if not plan.services:
        return None
    turn = max(plan.config.longest_turn, timedelta(minutes=plan.config.slot_minutes))
    until = max(max(s.closes, _later(s.last_seating, turn)) for s in plan.services)
    return min(s.opens for s in plan.services), until


def _hold_day(rules: Sequence[ServiceRule], day: date, at: time) -> date:
    """The calendar date of a hold time: the next one where it falls in a service's hours past midnight."""
    for rule in rules:
        # Where the service's night ends on the clock: its closing (or last seating) once past midnight.
        ends = rule.closes if rule.closes < rule.opens else rule.last_seating
        if at < ends < rule.opens:
            return day + timedelta(days=1)
    return day


# --- deciding ---------------------------------------------------------------------------


def service_at(plan: DayPlan, start: datetime) -> ServiceWindow | None:
    """The service whose seating hours contain `start` (any minute, for walk-ins)."""
    for service in plan.services:
        if service.opens <= start <= service.last_seating:
            return service
    return None


def service_day(config: RestaurantConfig, moment: datetime) -> date:
    """The date whose service `moment` falls in: after midnight, a service that opened the evening before."""
    today = moment.astimezone(config.tz).date()
    for day in (today, today - timedelta(days=1)):
        if service_at(plan_day(config, day, ()), moment) is not None:
            return day
    return today


def service_under_way(config: RestaurantConfig, moment: datetime) -> tuple[date, ServiceWindow] | None:
    """The service open at `moment` (from its opening to its closing, past midnight included), with its day."""
    today = moment.astimezone(config.tz).date()
    for day in (today, today - timedelta(days=1)):
        plan = plan_day(config, day, ())
        if plan.closed:
            continue
        for service in plan.services:
            if service.opens <= moment < service.closes:
                return day, service
    return None


def on_grid(plan: DayPlan, start: datetime) -> bool:
    return any(start in service.slots for service in plan.services)


def horizon_end(config: RestaurantConfig, now: datetime) -> datetime:
    return now + timedelta(days=config.horizon_days)


def peak_overbooked_covers(plan: DayPlan, start: datetime, end: datetime) -> int:
    """The most overbooked covers present at any one moment of [start, end)."""
    a, b = start.timestamp(), end.timestamp()
    events: list[tuple[float, int]] = []
    for b_start, b_end, covers in plan._overbooked:
        if b_start < b and a < b_end:
            events.append((max(b_start, a), covers))
            events.append((b_end, -covers))
    # Ends sort before starts at the same moment: half-open intervals do not overlap.
    events.sort()
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def start_problems(plan: DayPlan, start: datetime, now: datetime) -> tuple[str, ...]:
    """Why `start` is not a start the book takes (in the past, closed or beyond the horizon, off the
    slot grid or outside service hours); empty when it is. Such a start is bad input, not a refusal."""
    problems = []
    if start < now:
        problems.append(IN_THE_PAST)
    if plan.closed or start > horizon_end(plan.config, now):
        problems.append(CLOSED)
    elif not on_grid(plan, start):
        problems.append(OUTSIDE_SERVICE_HOURS)
    return tuple(problems)


def _seat_now_problems(plan: DayPlan, start: datetime, now: datetime) -> tuple[str, ...]:
    """Why a party cannot be seated at `start` right now: any minute of the seating hours will do."""
    if plan.closed or start > horizon_end(plan.config, now):
        return (CLOSED,)
    if service_at(plan, start) is None:
        return (OUTSIDE_SERVICE_HOURS,)
    return ()


def booking_channel(config: RestaurantConfig, channel: str, *, start: datetime, now: datetime) -> str:
    """The channel the book treats a booking as.

    A walk-in is a party at the door: booked for later than the next slot, it
    is a host's booking — no held table (those are kept for the door), and
    the overbooking policy of a host booking.
    """
    if channel == WALK_IN and start - now > timedelta(minutes=config.slot_minutes):
        return HOST
    return channel


def _held_tables(plan: DayPlan, start: datetime, end: datetime, now: datetime) -> frozenset[int]:
    """Tables a hold keeps out of the book for a booking over [start, end) asked for `now`."""
    held: set[int] = set()
    for hold in plan.holds:
        if hold.start < end and start < hold.end:
            # Released once `now` is within the lead of the first held moment the booking would use.
            if now < _later(max(start, hold.start), -hold.release_before):
                held |= hold.tables
    return frozenset(held)


def hold_released_tables(plan: DayPlan, start: datetime, end: datetime, *, since: datetime, now: datetime
                         ) -> frozenset[int]:
    """Tables a hold kept out of the book for [start, end) at `since` and has released to it by `now`."""
    return _held_tables(plan, start, end, since) - _held_tables(plan, start, end, now)


def _turn_for(config: RestaurantConfig, party_size: int) -> timedelta:
    return config.turn_time(party_size) or config.longest_turn or timedelta(minutes=config.slot_minutes)


def decide(
    plan: DayPlan,
    *,
    party_size: int,
    channel: str,
    start: datetime,
    now: datetime,
    override: bool = False,
    walk_in_now: bool = False,
) -> Decision:
    """Whether a party may be booked at `start`, where, and what it would bypass.

    `walk_in_now` seats at an exact moment (not a grid slot) within service
    hours. `override` is the manager's: a held table first, else overbooked
    beyond the policy — but only where the ordinary answer is "no tables".
    """
    plan = plan.at(now)
    config = plan.config
    if walk_in_now:
        blocking = _seat_now_problems(plan, start, now)
    else:
        blocking = start_problems(plan, start, now)
    if blocking:
        return Decision(start, False, reasons=blocking)

    turn = config.turn_time(party_size)
    too_large = turn is None or party_size > config.largest_party
    end = _later(start, _turn_for(config, party_size))
    if too_large:
        if override:
            return Decision(start, True, overbook=True, reasons=(), bypassed=OVERBOOKING_LIMIT, end=end)
        return Decision(start, False, reasons=(PARTY_TOO_LARGE,), end=end)

    held = _held_tables(plan, start, end, now)
    may_use_held = channel == WALK_IN
    first_held: Seating | None = None
    for seating in plan.free_seatings(party_size, start.timestamp(), end.timestamp()):
        if held.isdisjoint(seating.tables):
            return Decision(start, True, seating=seating, end=end)
        if first_held is None:
            first_held = seating
    if first_held is not None and may_use_held:
        return Decision(start, True, seating=first_held, end=end)
    # A manager's override seats the party at a held table before any overbooking:
    # a real table is what the Samna playbook keeps them back for.
    if first_held is not None and override:
        return Decision(start, True, seating=first_held, bypassed=HOLD_BACK, end=end)

    reasons = [FULLY_BOOKED]
    if first_held is not None:
        reasons.append(HELD_FOR_WALK_INS)
    policy = config.policy
    if policy is not None and policy.applies_to(party_size, channel):
        if peak_overbooked_covers(plan, start, end) + party_size <= policy.max_overbooked_covers:
            return Decision(start, True, overbook=True, end=end)
        reasons.append(OVERBOOKING_LIMIT)

    if override:
        return Decision(start, True, overbook=True, bypassed=OVERBOOKING_LIMIT, end=end)
    return Decision(start, False, reasons=tuple(reasons), end=end)


def availability(plan: DayPlan, *, party_size: int, channel: str, now: datetime) -> list[Decision]:
    """Every slot of the day's grid, decided as a booking on this channel would be (`decide_booking`).

    Kept on the plan with the stretch of time it holds for: the answers change with `now` only where a
    slot passes, comes within the horizon, a hold-back's release lead begins or a hold ends
    (`_answers_hold_for`), so a plan
    reused across requests answers the same party again without deciding a slot."""
    plan = plan.at(now)
    key = (party_size, channel)
    moment = now.timestamp()
    kept = plan._answers.get(key)
    if kept is not None and kept[0] < moment < kept[1]:
        return list(kept[2])
    answers = [decide_booking(plan, party_size=party_size, channel=channel, start=slot, now=now)
               for slot in plan.grid]
    since, until = _answers_hold_for(plan, channel, moment)
    if since < moment < until:
        if len(plan._answers) >= 256:
            plan._answers.clear()
        plan._answers[key] = (since, until, tuple(answers))
    return answers


def _answers_hold_for(plan: DayPlan, channel: str, moment: float) -> tuple[float, float]:
    """The open stretch of epoch seconds around `moment` within which no slot's answer on `channel` can change.

    Every way `now` enters `decide_booking` for a grid slot, as the instants where a comparison flips: the slot
    itself (`start < now`), the slot less the horizon (`start > now + horizon`), for a walk-in the slot less one
    slot (`booking_channel`), for each hold-back the start of its release lead (`_held_tables`) — taken for
    every slot and hold, overlapping or not, which can only narrow the stretch — and each hold's `until`
    (`DayPlan.at`)."""
    config = plan.config
    horizon = timedelta(days=config.horizon_days).total_seconds()
    one_slot = config.slot_minutes * 60
    since, until = float("-inf"), float("inf")

    def flips_at(instant: float) -> None:
        nonlocal since, until
        if instant <= moment:
            since = max(since, instant)
        else:
            until = min(until, instant)

    for slot in plan.grid:
        at = slot.timestamp()
        flips_at(at)
        flips_at(at - horizon)
        if channel == WALK_IN:
            flips_at(at - one_slot)
        for hold in plan.holds:
            flips_at(_later(max(slot, hold.start), -hold.release_before).timestamp())
    for instant in plan._untils:
        flips_at(instant)
    return since, until


def alternatives(slots: Sequence[Decision], start: datetime, limit: int = 3) -> list[datetime]:
    """The nearest available starts to `start`, nearest first (earlier wins a tie)."""
    open_slots = [s.start for s in slots if s.available and s.start != start]
    return sorted(open_slots, key=lambda s: (abs((s - start).total_seconds()), s))[:limit]


def decide_booking(
    plan: DayPlan, *, party_size: int, channel: str, start: datetime, now: datetime, override: bool = False
) -> Decision:
    """A booking for `start` (not a party seated now): `decide` for the channel the book treats it as."""
    return decide(plan, party_size=party_size, channel=booking_channel(plan.config, channel, start=start, now=now),
                  start=start, now=now, override=override)


def booking_alternatives(
    plan: DayPlan, *, party_size: int, channel: str, start: datetime, now: datetime, limit: int = 3
) -> list[datetime]:
    """The nearest starts this party could book on this channel instead of `start` — each as the book
    would really decide it (a walk-in booked for later gets a host's answer, not a held table)."""
    return alternatives(availability(plan, party_size=party_size, channel=channel, now=now), start, limit)


# --- seating a party ----------------------------------------------------------------------


def seating_of(tables: Sequence[tuple[int, str, int, int]]) -> Seating:
    """The host's own choice of tables, as one seating: (id, name, min covers, max covers) each."""
    return Seating(tuple(t[0] for t in tables), tuple(t[1] for t in tables),
                   min(t[2] for t in tables), sum(t[3] for t in tables))


def decide_seating(
    plan: DayPlan,
    *,
    party_size: int,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    tables: Seating | None = None,
    override: bool = False,
    walk_in_now: bool = False,
) -> Decision:
    """Whether a party may sit at `tables` (or at the best free seating) for [start, end): the one rule
    for every path that puts a party on a table — a booking seated, a walk-in seated now, a waitlisted
    party seated.

    Hard checks come first and nothing bypasses them (pretix checks the seat before `if force`): the
    tables are free for the whole interval, and a party seated now (`walk_in_now`, the end then being
    its turn time from now) sits within the seating hours. Only then the soft rule: a table held back
    for walk-ins, not yet released at `now`, is for walk-ins seated now, or for a manager's `override`
    (then `bypassed` says "hold_back"). Without `tables`, the smallest free seating that fits, unheld
    ones first; a party that fits no seating at all is `party_too_large`.
    """
    plan = plan.at(now)
    config = plan.config
    if walk_in_now:
        problems = _seat_now_problems(plan, start, now)
        if problems:
            return Decision(start, False, reasons=problems)
    if end is None:
        end = _later(start, _turn_for(config, party_size))
    if tables is None and (config.turn_time(party_size) is None or party_size > config.largest_party):
        return Decision(start, False, reasons=(PARTY_TOO_LARGE,), end=end)

    if tables is not None:
        if not plan.seating_free(tables, start, end):
            return Decision(start, False, reasons=(TABLE_TAKEN,), end=end)
        candidates = [tables]
    else:
        busy, a, b = plan._busy, start.timestamp(), end.timestamp()
        candidates = [s for s in config.seatings_for(party_size) if busy.free(s.tables, a, b)]
        if not candidates:
            return Decision(start, False, reasons=(FULLY_BOOKED,), end=end)

    held = frozenset() if walk_in_now else _held_tables(plan, start, end, now)
    unheld = [s for s in candidates if held.isdisjoint(s.tables)]
    if unheld:
        return Decision(start, True, seating=unheld[0], end=end)
    if override:
        return Decision(start, True, seating=candidates[0], bypassed=HOLD_BACK, end=end)
    reasons = (HELD_FOR_WALK_INS,) if tables is not None else (FULLY_BOOKED, HELD_FOR_WALK_INS)
    return Decision(start, False, reasons=reasons, end=end)


# --- walk-ins ---------------------------------------------------------------------------


def earliest_table(plan: DayPlan, *, party_size: int, now: datetime) -> tuple[datetime, Seating] | None:
    """The first moment from `now` a walk-in of this size could sit, before the last seating."""
    config = plan.config
    turn = config.turn_time(party_size)
    if turn is None or party_size > config.largest_party:
        return None
    service = service_at(plan, now)
    if service is None:
        return None
    # A table can only come free when a booking or a hold ends; try now and each such moment.
    ends = {b.end for b in plan.bookings} | {b.until for b in plan.bookings if b.until}
    candidates = sorted({now} | {end for end in ends if now < end <= service.last_seating})
    for moment in candidates:
        at = plan.at(moment)
        for seating in config.seatings:
            if seating.fits(party_size) and at.seating_free(seating, moment, _later(moment, turn)):
                return moment, seating
    return None


@dataclass(frozen=True)
class _Due:
    """A party owed a table from `due` on, for `turn` of real time."""

    due: datetime
    covers: int
    turn: timedelta


def walk_in_seated_at(
    plan: DayPlan, *, party_size: int, now: datetime, parties_ahead: Sequence[int] = ()
) -> datetime | None:
    """When the book lets a walk-in arriving `now` sit, before the last seating; None if it does not.

    The evening is played forward from `now`. Booked tables stay taken for
    their bookings. Everyone owed a table before the walk-in comes first:
    overbooked parties (booked, no table) from their start — a booking is a
    promise — then the parties already waiting, in line order, then the
    walk-in. Whenever a table frees or a party becomes due, each party due,
    in that order, takes the best free seating that fits it for its whole
    turn; a party nothing fits waits without holding up those behind it.
    """
    plan = plan.at(now)
    config = plan.config
    service = service_at(plan, now)
    if service is None or config.turn_time(party_size) is None or party_size > config.largest_party:
        return None
    utc = ZoneInfo("UTC")
    now, last = now.astimezone(utc), service.last_seating.astimezone(utc)
    owed = [
        _Due(b.start.astimezone(utc), b.covers, b.end.astimezone(utc) - b.start.astimezone(utc))
        for b in sorted(plan.bookings, key=lambda b: (b.start.astimezone(utc), b.id or 0))
        # Overbooked parties whose booking still runs will need a table when they come.
        if not b.tables and b.end > now and b.start <= last
    ]
    owed += [_Due(now, size, _turn_for(config, size)) for size in parties_ahead]
    walk_in = _Due(now, party_size, _turn_for(config, party_size))
    waiting = [*owed, walk_in]

    # A party can only sit when a table frees or when it becomes due.
    moments = {now} | {b.end.astimezone(utc) for b in plan.bookings} | {p.due for p in waiting}
    queue = sorted(m for m in moments if now <= m <= last)
    while queue:
        moment = queue.pop(0)
        for party in [p for p in waiting if p.due <= moment]:
            ends = moment + party.turn
            seating = next((s for s in config.seatings
                            if s.fits(party.covers) and plan.seating_free(s, moment, ends)), None)
            if seating is None:
                continue
            if party is walk_in:
                return moment
            waiting.remove(party)
            plan = plan.with_booking(Booking(moment, ends, party.covers, seating.tables))
            if ends <= last and ends not in queue:
                queue.append(ends)
                queue.sort()
    return None


def quote_wait(
    plan: DayPlan, *, party_size: int, now: datetime, parties_ahead: Sequence[int] = ()
) -> tuple[int, bool]:
    """A padded wait in minutes for a walk-in, and whether a table is likely tonight.

    The raw wait is `walk_in_seated_at` (every party owed a fitting table
    first, overbooked ones included), padded by a quarter (ten minutes at
    least) and rounded up to five, so the host can beat the quote.
    """
    service = service_at(plan, now)
    seated = walk_in_seated_at(plan, party_size=party_size, now=now, parties_ahead=parties_ahead)
    if seated is None:
        until_last = (service.last_seating - now) if service else timedelta(0)
        return max(5, _round_up(until_last.total_seconds() / 60, 5)), False
    raw = (seated - now).total_seconds() / 60
    return max(5, _round_up(raw + max(10.0, raw * 0.25), 5)), True


def _round_up(minutes: float, step: int) -> int:
    return int(math.ceil(minutes / step) * step)
