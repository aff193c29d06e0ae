"""Making and changing bookings. `reservation_create` is the only way a reservation comes to exist."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import engine, selectors
from ..errors import (
    InvalidInput,
    InvalidTransition,
    NoFreeTable,
    NoShowTooEarly,
    NoTables,
    OverrideForbidden,
    TableTaken,
)
from ..models import Refusal, Reservation, ReservationTable, Restaurant, Table
from ..roles import is_manager
from .guests import GuestDetails, guest_resolve
from .locking import for_update, lock_book_days

Status = Reservation.Status
Channel = Reservation.Channel

# The PostgreSQL exclusion constraint that forbids one table at overlapping times (migration 0002).
TABLE_OVERLAP_CONSTRAINT = "reservation_table_no_overlap"

START_PROBLEMS = {
    engine.IN_THE_PAST: "This time is in the past.",
    engine.CLOSED: "The restaurant is closed or not yet taking bookings for this date.",
    engine.OUTSIDE_SERVICE_HOURS: "This time is not a bookable slot: outside service hours or off the slot grid.",
}


def local_day(restaurant: Restaurant, moment: datetime) -> date:
    return moment.astimezone(restaurant.tz).date()


def service_day(restaurant: Restaurant, moment: datetime) -> date:
    """The date of the service `moment` falls in (the evening before, for a service past midnight)."""
    return engine.service_day(selectors.restaurant_config(restaurant), moment)


def _check_start(plan: engine.DayPlan, start: datetime, now: datetime) -> None:
    """A start that is not a bookable slot is bad input (400), not a refusal."""
    problems = []
    if start < now:
        problems.append(START_PROBLEMS[engine.IN_THE_PAST])
    if plan.closed or start > engine.horizon_end(plan.config, now):
        problems.append(START_PROBLEMS[engine.CLOSED])
    elif not engine.on_grid(plan, start):
        minutes = plan.config.slot_minutes
        problems.append(f"{START_PROBLEMS[engine.OUTSIDE_SERVICE_HOURS]} Slots are every {minutes} minutes.")
    if problems:
        raise InvalidInput({"start": problems})


def _race_window() -> None:
    # A test seam: widens the gap between deciding and writing, so the
    # concurrency proof's control run reliably shows what the lock prevents.
    if settings.CXHOST_BOOKING_RACE_DELAY_MS:
        time.sleep(settings.CXHOST_BOOKING_RACE_DELAY_MS / 1000)


def _assign_tables(reservation: Reservation, table_ids: Sequence[int]) -> None:
    try:
        with transaction.atomic():
            ReservationTable.objects.bulk_create(
                ReservationTable(reservation=reservation, table_id=t, start=reservation.start, end=reservation.end)
                for t in table_ids
            )
    except IntegrityError as exc:
        if TABLE_OVERLAP_CONSTRAINT in str(exc):
            raise TableTaken() from exc
        raise


def _tables_by_name(restaurant: Restaurant, names: Sequence[str]) -> list[Table]:
    tables = {t.name: t for t in Table.objects.filter(restaurant=restaurant, name__in=names, is_active=True)}
    unknown = [n for n in names if n not in tables]
    if unknown:
        raise InvalidInput({"tables": [f"No table named {', '.join(unknown)} at {restaurant.name}."]})
    return [tables[n] for n in dict.fromkeys(names)]


def reservation_create(
    *,
    restaurant: Restaurant,
    start: datetime,
    party_size: int,
    channel: str,
    guest: GuestDetails | None = None,
    by=None,
    expectations: Sequence[str] = (),
    notes: str = "",
    override_reason: str | None = None,
    seat_now: bool = False,
    table_names: Sequence[str] | None = None,
    record_refusal: bool = True,
    now: datetime | None = None,
) -> Reservation:
    """Book a party, or raise `NoTables` (after recording the refusal).

    `seat_now` seats a walk-in at this very moment, held tables included.
    `table_names` is the host's own choice of tables for a party seated now.
    """
    now = now or timezone.now()
    if override_reason is not None:
        if not is_manager(by):
            raise OverrideForbidden()
        if channel == Channel.ONLINE:
            raise InvalidInput({"override": ["Online bookings cannot be overridden; book by phone or host."]})
    if seat_now:
        start = now
    config = selectors.restaurant_config(restaurant)
    day = engine.service_day(config, start)
    if not seat_now:
        _check_start(engine.plan_day(config, day, ()), start, now)
    chosen = _tables_by_name(restaurant, table_names) if table_names else None

    with transaction.atomic():
        turn_end = start + (config.turn_time(party_size) or config.longest_turn)
        lock_book_days(restaurant, {day, local_day(restaurant, turn_end)})
        plan = selectors.day_plan(restaurant, day)
        decision = engine.decide(
            plan,
            party_size=party_size,
            channel=_engine_channel(channel, start, now, config, seat_now),
            start=start,
            now=now,
            override=override_reason is not None,
            walk_in_now=seat_now,
        )
        if chosen is not None:
            decision = _decide_chosen(plan, decision, chosen, party_size, start)
        # A party seated now needs a table, not a place on the overbooking list.
        if decision.available and not (seat_now and decision.seating is None):
            _race_window()
            reservation = _write(
                restaurant=restaurant,
                decision=decision,
                party_size=party_size,
                channel=channel,
                guest=guest_resolve(details=guest, expectations=expectations),
                by=by,
                expectations=expectations,
                notes=notes,
                override_reason=override_reason,
                seat_now=seat_now,
                now=now,
            )
            return reservation
        alternatives = [] if seat_now else engine.alternatives(
            engine.availability(plan, party_size=party_size, channel=channel, now=now), start
        )

    reasons = list(decision.reasons) or [engine.FULLY_BOOKED]
    alternatives = [a.astimezone(restaurant.tz) for a in alternatives]
    if record_refusal:
        refusal_record(
            restaurant=restaurant, start=start, party_size=party_size, channel=channel,
            reasons=reasons, alternatives=alternatives, guest=guest, by=by,
        )
    raise NoTables(reasons, alternatives)


def _engine_channel(channel: str, start: datetime, now: datetime, config: engine.RestaurantConfig,
                    seat_now: bool) -> str:
    """A walk-in is a party at the door: booked for later, it is a host's booking and gets no held table."""
    if channel == Channel.WALK_IN and not seat_now and start - now > timedelta(minutes=config.slot_minutes):
        return Channel.HOST
    return channel


def _decide_chosen(
    plan: engine.DayPlan, decision: engine.Decision, tables: list[Table], party_size: int, start: datetime
) -> engine.Decision:
    """The host's own choice of tables, where the engine's decision allows a booking at all."""
    end = decision.end or start
    busy = [t.name for t in tables if not plan.table_free(t.pk, start, end)]
    if busy:
        raise TableTaken(f"{', '.join(busy)} is taken at that time.")
    seating = engine.Seating(
        tuple(t.pk for t in tables), tuple(t.name for t in tables),
        min(t.min_covers for t in tables), sum(t.max_covers for t in tables),
    )
    return engine.Decision(start, True, seating=seating, end=end, bypassed=decision.bypassed
                           if decision.bypassed == engine.HOLD_BACK else None)


def _write(
    *,
    restaurant: Restaurant,
    decision: engine.Decision,
    party_size: int,
    channel: str,
    guest,
    by,
    expectations: Sequence[str],
    notes: str,
    override_reason: str | None,
    seat_now: bool,
    now: datetime,
) -> Reservation:
    bypassed = decision.bypassed or ""
    reservation = Reservation.objects.create(
        restaurant=restaurant,
        guest=guest,
        party_size=party_size,
        start=decision.start,
        end=decision.end,
        status=Status.SEATED if seat_now else Status.BOOKED,
        channel=channel,
        overbooked=decision.seating is None,
        expectations=list(expectations),
        notes=notes,
        created_by=by if by and by.is_authenticated else None,
        arrived_at=now if seat_now else None,
        seated_at=now if seat_now else None,
        # The override is on the record only where it bypassed something.
        override_by=by if bypassed else None,
        override_at=now if bypassed else None,
        override_reason=(override_reason or "") if bypassed else "",
        override_bypassed=bypassed,
    )
    if decision.seating is not None:
        _assign_tables(reservation, decision.seating.tables)
    return reservation


def refusal_record(
    *,
    restaurant: Restaurant,
    start: datetime,
    party_size: int,
    channel: str,
    reasons: Sequence[str],
    alternatives: Sequence[datetime] = (),
    guest: GuestDetails | None = None,
    by=None,
) -> Refusal:
    """Every "no" is kept with the guest's contact: lost demand, and where recovery starts."""
    known = selectors.guest_by_phone(guest.phone) if guest and guest.phone else None
    return Refusal.objects.create(
        restaurant=restaurant,
        start=start,
        party_size=party_size,
        channel=channel,
        reasons=list(reasons),
        alternatives=[a.isoformat() for a in alternatives],
        guest=known,
        guest_name=guest.name if guest else "",
        guest_phone=guest.phone if guest and guest.phone else "",
        created_by=by if by and by.is_authenticated else None,
    )


# --- the lifecycle ----------------------------------------------------------------------

# action: (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({Status.BOOKED}), Status.CONFIRMED),
    "arrive": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.ARRIVED),
    "seat": (frozenset({Status.BOOKED, Status.CONFIRMED, Status.ARRIVED}), Status.SEATED),
    "complete": (frozenset({Status.SEATED}), Status.COMPLETED),
    "cancel": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CANCELLED),
    "no-show": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.NO_SHOW),
}
TIMESTAMPS = {
    Status.CONFIRMED: "confirmed_at",
    Status.ARRIVED: "arrived_at",
    Status.SEATED: "seated_at",
    Status.COMPLETED: "completed_at",
    Status.CANCELLED: "cancelled_at",
    Status.NO_SHOW: "cancelled_at",
}
RELEASING = {Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW}


def reservation_transition(
    *, reservation: Reservation, action: str, by=None, table_names: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Move a booking along its lifecycle; cancelling, a no-show or leaving frees its tables at once."""
    if action not in TRANSITIONS:
        raise InvalidTransition(f"Unknown action {action!r}.")
    now = now or timezone.now()
    sources, target = TRANSITIONS[action]
    restaurant = reservation.restaurant
    chosen = _tables_by_name(restaurant, table_names) if table_names else None
    with transaction.atomic():
        lock_book_days(restaurant, {local_day(restaurant, reservation.start), local_day(restaurant, reservation.end)})
        # Re-read under the lock: a concurrent change may have moved it already.
        current = for_update(Reservation.objects).get(pk=reservation.pk)
        if current.status not in sources:
            raise InvalidTransition(f"Cannot {action} a reservation that is {current.status}.")
        if target == Status.NO_SHOW and now < current.start:
            raise NoShowTooEarly()
        if target == Status.SEATED:
            _seat_tables(current, chosen)
        current.status = target
        fields = ["status", "updated_at"]
        stamp = TIMESTAMPS[target]
        if getattr(current, stamp) is None:
            setattr(current, stamp, now)
            fields.append(stamp)
        if target == Status.SEATED and current.arrived_at is None:
            current.arrived_at = now
            fields.append("arrived_at")
        current.save(update_fields=fields)
        if target in RELEASING:
            current.assignments.filter(released=False).update(released=True)
        _race_window()  # before the commit: what others cannot see yet is the gap a race needs
    return selectors.reservation_get(current.pk)


def _seat_tables(reservation: Reservation, chosen: list[Table] | None) -> None:
    """Seat on the host's tables, or give an overbooked party the best table free for its time."""
    if chosen is None and reservation.assignments.filter(released=False).exists():
        return
    plan = selectors.day_plan(
        reservation.restaurant, local_day(reservation.restaurant, reservation.start),
        exclude_reservation=reservation.pk,
    )
    if chosen is not None:
        busy = [t.name for t in chosen if not plan.table_free(t.pk, reservation.start, reservation.end)]
        if busy:
            raise TableTaken(f"{', '.join(busy)} is taken at that time.")
        table_ids = [t.pk for t in chosen]
    else:
        seating = next(
            (s for s in plan.config.seatings
             if s.fits(reservation.party_size) and plan.seating_free(s, reservation.start, reservation.end)),
            None,
        )
        if seating is None:
            raise NoFreeTable("No free table fits this party for its booked time; choose tables to seat them.")
        table_ids = list(seating.tables)
    reservation.assignments.all().delete()
    _assign_tables(reservation, table_ids)
    if reservation.overbooked:
        reservation.overbooked = False
        reservation.save(update_fields=["overbooked"])

