"""Tonight at a glance: the book of one service laid out as tables × time, a list, and the waitlist.

Plain data for the templates, built from the selectors in a fixed number of queries (no query per booking
or per party), so the page costs the same on a quiet Tuesday and a full Saturday.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext_lazy as _

from .. import engine, selectors
from ..errors import NoTables
from ..models import Reservation, Restaurant, WaitlistEntry
from ..services.walk_ins import waitlist_positions
from .forms import EARLIEST, LATEST  # one calendar for the page and the forms

STATUS_LABELS = {
    "booked": _("booked"), "confirmed": _("confirmed"), "arrived": _("arrived"), "seated": _("seated"),
    "completed": _("completed"), "cancelled": _("cancelled"), "no_show": _("no-show"),
}
# On a timeline block there is room for a word, not a phrase; the full words are its title and the panel's.
BADGE_SHORT = {
    "first_visit": _("new"), "expectations": _("wishes"), "overbooked": _("over"), "override": _("override"),
    "recovery": _("case"), "dessert": _("dessert"), "phone_unverified": _("unverified"),
}
BADGE_LABELS = {
    "first_visit": _("first visit"), "expectations": _("expectations"), "overbooked": _("overbooked"),
    "override": _("override"), "recovery": _("recovery case open"), "dessert": _("dessert queued"),
    "phone_unverified": _("phone not verified"),
}
REASON_LABELS = {
    engine.FULLY_BOOKED: _("Every table that fits is booked at that time."),
    engine.HELD_FOR_WALK_INS: _("The free tables are held back for walk-ins."),
    engine.OVERBOOKING_LIMIT: _("The overbooking limit is reached."),
    engine.PARTY_TOO_LARGE: _("No table or combination seats a party this large."),
    engine.OUTSIDE_SERVICE_HOURS: _("Outside service hours, or off the slot grid."),
    engine.IN_THE_PAST: _("That time has passed."),
    engine.CLOSED: _("The restaurant is closed that day, or it is beyond the booking horizon."),
}
# The book's refusals in the host's language (by the error's code); a detail naming tables or a status is
# passed on as the service wrote it.
ERROR_TEXTS = {
    "no_tables": _("No table is free for this party at this time."),
    "no_free_table": _("No free table fits this party right now."),
    "held_for_walk_ins": _("That table is held back for walk-ins at that time; a manager may override with a reason."),
    "table_taken": _("That table is taken at that time."),
    "outside_service_hours": _("The restaurant is not seating guests at this time."),
    "no_show_too_early": _("A guest can only be marked a no-show once their start time has passed."),
    "no_sms_number": _("This party left no phone number we may text: tell them in person."),
    "book_busy": _("The book is busy with other changes for this day; please try again."),
    "override_forbidden": _("Only a manager may override the book."),
}

# Actions in the order a party moves through the evening, with what the button says.
ACTION_LABELS = {
    "confirm": _("Confirm"), "arrive": _("Arrived"), "seat": _("Seat"), "complete": _("Complete"),
    "no-show": _("No-show"), "cancel": _("Cancel"),
}


def badges(reservation: Reservation) -> list[tuple[str, str, str]]:
    """What the host should notice about a booking, as (code, words, a short word)."""
    found = []
    # An anonymous online booking: the phone may not be the guest's, and the name is what a stranger typed.
    # `guest_phone_verified` from the desk's book, else the booking's own guest.
    verified = getattr(reservation, "guest_phone_verified", None)
    if verified is None and reservation.guest_id:
        verified = reservation.guest.phone_verified
    if verified is False:
        found.append("phone_unverified")
    # `guest_visited` from the desk's book, `guest_visits` from a single booking's read.
    visited = getattr(reservation, "guest_visited", None)
    if visited is None:
        visited = getattr(reservation, "guest_visits", 1) > 0
    if reservation.guest_id and not visited:
        found.append("first_visit")
    if reservation.expectations:
        found.append("expectations")
    if reservation.overbooked:
        found.append("overbooked")
    if reservation.override_bypassed:
        found.append("override")
    if getattr(reservation, "recovery_open", False):
        found.append("recovery")
    if getattr(reservation, "dessert_queued", False):
        found.append("dessert")
    return [(code, BADGE_LABELS[code], BADGE_SHORT[code]) for code in found]


def table_rows(reservation: Reservation) -> list[tuple[int, str, bool]]:
    """(table id, name, released) of its tables: as `selectors.desk_book` loaded them, else from the row."""
    rows = getattr(reservation, "table_rows", None)
    if rows is None:
        rows = [(a.table_id, a.table.name, a.released) for a in reservation.assignments.all()]
    return rows


def tables_of(reservation: Reservation) -> list[str]:
    """The tables it holds; for a party that has left, the ones it sat at."""
    rows = table_rows(reservation)
    return [name for _, name, released in rows if not released] or [name for _, name, _ in rows]


@dataclass
class Block:
    reservation: Reservation
    left: float  # percent of the service's width
    width: float
    badges: list[tuple[str, str, str]]
    main: bool = True  # False on the second table of a combination: the block is drawn again, not repeated
    lane: int = 0  # blocks that overlap in time (overbooked parties) are stacked, never drawn over each other


@dataclass
class Hold:
    """Tables held outside the book for one guest (a recovery offer), drawn on the timeline so nobody seats
    a walk-in there unknowingly: the book refuses it anyway, the host should see why before the tap."""

    key: str  # its `data-testid`
    table_ids: tuple[int, ...]
    start: datetime
    end: datetime
    text: str
    left: float = 0.0
    width: float = 0.0


# Apps built on the book register what they hold outside it (the recovery app: pending offers), as the
# engine's `selectors.HOLD_SOURCES`: `(restaurant, start, end) -> [Hold]`, one query each.
HOLD_BLOCKS: list[Callable[[Restaurant, datetime, datetime], list[Hold]]] = []


@dataclass
class Row:
    name: str
    held: bool
    blocks: list[Block] = field(default_factory=list)
    lanes: int = 1
    holds: list[Hold] = field(default_factory=list)

    def stack(self) -> None:
        """Give each block the first lane where it overlaps nothing (blocks arrive in start order)."""
        ends: list[float] = []
        for block in self.blocks:
            lane = next((i for i, end in enumerate(ends) if end <= block.left + 0.001), len(ends))
            if lane == len(ends):
                ends.append(0.0)
            ends[lane] = block.left + block.width
            block.lane = lane
        self.lanes = max(1, len(ends))


@dataclass
class Waiting:
    entry: WaitlistEntry
    position: int
    elapsed: int
    late: bool


@dataclass
class Board:
    restaurant: Restaurant
    day: date
    services: list[tuple[int, str]]
    service: int
    opens: datetime | None
    closes: datetime | None
    hours: list[tuple[str, float]]
    rows: list[Row]
    unseated: Row  # overbooked parties: booked with no table
    book: list[tuple[Reservation, list[tuple[str, str, str]], list[str], str]]
    waitlist: list[Waiting]
    now_left: float | None
    closed: bool


def tonight(restaurant: Restaurant, now: datetime) -> date:
    """The service day a host at the desk means by "tonight" (the evening before, after midnight)."""
    under_way = engine.service_under_way(selectors.restaurant_config(restaurant), now)
    return under_way[0] if under_way else now.astimezone(restaurant.tz).date()


def board_build(restaurant: Restaurant, day: date, *, service: int | None, now: datetime) -> Board:
    config = selectors.restaurant_config(restaurant)
    day = day if EARLIEST <= day <= LATEST else now.astimezone(restaurant.tz).date()
    plan = engine.plan_day(config, day, ())
    windows = list(plan.services)
    tz = restaurant.tz
    labels = [(i, f"{w.opens.astimezone(tz):%H:%M}–{w.closes.astimezone(tz):%H:%M}") for i, w in enumerate(windows)]
    if service is None or not 0 <= service < len(windows):
        # The service under way, else the next one today, else the last.
        service = next((i for i, w in enumerate(windows) if now < w.closes), max(len(windows) - 1, 0))
    if windows:
        window = windows[service]
        opens, closes = window.opens, window.closes
    else:
        opens, closes = selectors.local_day_range(restaurant, day)
    book = selectors.desk_book(restaurant, opens, closes)
    tables = selectors.desk_tables(restaurant)
    held = {t for h in plan.holds for t in h.tables}
    span = (closes - opens).total_seconds() or 1.0

    def pct(moment: datetime) -> float:
        return round(max(0.0, min(100.0, (moment - opens).total_seconds() / span * 100)), 3)

    rows = {t.pk: Row(t.name, t.pk in held) for t in tables}
    unseated = Row(str(_("No table")), False)
    listed = []
    for reservation in book:
        marks = badges(reservation)
        names = tables_of(reservation)
        listed.append((reservation, marks, names, STATUS_LABELS.get(reservation.status, reservation.status)))
        if reservation.status in (Reservation.Status.CANCELLED, Reservation.Status.NO_SHOW):
            continue  # in the list, not on the floor
        left, width = pct(reservation.start), max(pct(reservation.end) - pct(reservation.start), 1.0)
        held_now = [t for t, _, released in table_rows(reservation) if not released]
        if not held_now and reservation.status == Reservation.Status.COMPLETED:
            held_now = [t for t, _, _ in table_rows(reservation)]  # where they sat, drawn as history
        if not held_now:
            unseated.blocks.append(Block(reservation, left, width, marks))
            continue
        for i, table_id in enumerate(held_now):
            if table_id in rows:
                rows[table_id].blocks.append(Block(reservation, left, width, marks, main=i == 0))

    for source in HOLD_BLOCKS:
        for hold in source(restaurant, opens, closes):
            hold.left, hold.width = pct(hold.start), max(pct(hold.end) - pct(hold.start), 1.0)
            for table_id in hold.table_ids:
                if table_id in rows:
                    rows[table_id].holds.append(hold)
    for row in [*rows.values(), unseated]:
        row.stack()
    hours = []
    if windows:
        tick = opens.astimezone(tz).replace(minute=0, second=0, microsecond=0)
        while tick < closes:
            if tick >= opens:
                hours.append((f"{tick:%H:%M}", pct(tick)))
            tick = (tick + timedelta(hours=1)).astimezone(tz)
    waitlist = []
    for entry, position in waitlist_positions(restaurant, now=now):
        elapsed = int((now - entry.created_at).total_seconds() // 60)
        waitlist.append(Waiting(entry, position, elapsed, elapsed > entry.quoted_wait_minutes))
    return Board(
        restaurant=restaurant, day=day, services=labels, service=service, opens=opens, closes=closes, hours=hours,
        rows=list(rows.values()), unseated=unseated, book=listed, waitlist=waitlist,
        now_left=pct(now) if windows and opens <= now < closes else None, closed=not windows,
    )


@dataclass
class Outlook:
    """What a walk-in of this size would get if the host tapped now."""

    open: bool
    seating: str | None = None  # the tables they would sit at now
    wait_minutes: int | None = None  # else the padded quote they would be given
    likely: bool = True
    ahead: int = 0
    too_large: bool = False


def walk_in_outlook(restaurant: Restaurant, party_size: int | None, now: datetime) -> Outlook:
    """The engine's answer for a walk-in now, read without writing anything (the tap decides it again,
    under the lock, so a table taken meanwhile is never promised)."""
    config = selectors.restaurant_config(restaurant)
    day = engine.service_day(config, now)
    plan = selectors.day_plan(restaurant, day)
    if engine.service_at(plan, now) is None:
        return Outlook(open=False)
    if not party_size:
        return Outlook(open=True)
    decision = engine.decide_seating(plan, party_size=party_size, start=now, now=now, walk_in_now=True)
    if decision.available:
        return Outlook(open=True, seating=decision.seating.name)
    if engine.PARTY_TOO_LARGE in decision.reasons:
        return Outlook(open=True, too_large=True)
    ahead = [w.party_size for w in selectors.waiting_parties(restaurant, now=now)]
    minutes, likely = engine.quote_wait(plan, party_size=party_size, now=now, parties_ahead=ahead)
    return Outlook(open=True, wait_minutes=minutes, likely=likely, ahead=len(ahead))


# --- what the book would say, asked before the host taps --------------------------------------------------


def free_slots(restaurant: Restaurant, day: date, party_size: int, *, channel: str, now: datetime) -> list[str]:
    """The day's starts this party could book on this channel, as HH:MM (the API's availability)."""
    if not EARLIEST <= day <= LATEST:
        return []
    plan = selectors.day_plan(restaurant, day)
    tz = restaurant.tz
    return [s.start.astimezone(tz).strftime("%H:%M")
            for s in engine.availability(plan, party_size=party_size, channel=channel, now=now) if s.available]


def booking_refusal(restaurant: Restaurant, *, start: datetime, party_size: int, channel: str,
                    now: datetime) -> NoTables | None:
    """The book's "no tables" for this booking, with the nearest alternatives, or None where it would book
    (or where the start itself is wrong: the booking service says so, as for the API)."""
    plan = selectors.day_plan(restaurant, engine.service_day(selectors.restaurant_config(restaurant), start))
    decision = engine.decide_booking(plan, party_size=party_size, channel=channel, start=start, now=now)
    if decision.available or set(decision.reasons) & {engine.IN_THE_PAST, engine.OUTSIDE_SERVICE_HOURS,
                                                       engine.CLOSED}:
        return None
    alternatives = engine.booking_alternatives(plan, party_size=party_size, channel=channel, start=start, now=now)
    return NoTables(list(decision.reasons), alternatives)


def seat_choices(restaurant: Restaurant, reservation: Reservation, now: datetime) -> dict:
    """The tables free for this party's time (held ones marked) and the ones to pre-choose: its own, else
    the seating the book would give it."""
    plan = selectors.day_plan(restaurant, engine.service_day(selectors.restaurant_config(restaurant),
                                                             reservation.start), exclude_reservation=reservation.pk)
    start, end = reservation.start, reservation.end
    held = {t for h in plan.holds if h.start < end and start < h.end for t in h.tables}
    current = tables_of(reservation)
    suggestion = engine.decide_seating(plan, party_size=reservation.party_size, start=start, end=end, now=now)
    suggested = current or (list(suggestion.seating.names) if suggestion.seating else [])
    free = [(t.name, t.pk in held, t.min_covers, t.max_covers) for t in selectors.desk_tables(restaurant)
            if plan.table_free(t.pk, start, end) or t.name in current]
    return {"free": free, "suggested": suggested}
