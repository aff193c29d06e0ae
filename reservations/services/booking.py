"""Making and changing bookings. `reservation_create` is the only way a reservation comes to exist."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from .. import engine, selectors
from ..access import is_manager
from ..errors import (
    BookError,
    InvalidInput,
    InvalidTransition,
    NoFreeTable,
    NoShowTooEarly,
    NoTables,
    OutsideServiceHours,
    OverrideForbidden,
    TableHeld,
    TableTaken,
)
from ..models import (
    IdempotencyKey,
    OutboundMessage,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    Table,
    TableRelease,
)
from ..signals import reservation_moved, tables_released
from .guests import GuestDetails, guest_resolve, phone_proven
from .idempotency import idempotency_settle, idempotency_settle_refusal
from .locking import for_update, lock_book_days, require_book_lock
from .messaging import message_queue
from .preparation import guest_preparation_send

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


def lock_book_for(restaurant: Restaurant, day: date, start: datetime, end: datetime) -> None:
    """The one lock call of a service's transaction: every local date a party at [start, end) touches."""
    lock_book_days(restaurant, {day, local_day(restaurant, start), local_day(restaurant, end)})


def _race_window() -> None:
    # A test seam: widens the gap between deciding and writing, so the
    # concurrency proof's control run reliably shows what the lock prevents.
    if settings.CXHOST_BOOKING_RACE_DELAY_MS:
        time.sleep(settings.CXHOST_BOOKING_RACE_DELAY_MS / 1000)


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE


def _assign_tables(reservation: Reservation, table_ids: Sequence[int]) -> None:
    """Must be called holding the day lock. A table lost to a race fails the whole transaction (`TableTaken`
    leaves it, and no caller carries on after it), so the insert needs no savepoint of its own: two round trips
    fewer while the evening waits."""
    try:
        with transaction.atomic(savepoint=False):
            ReservationTable.objects.bulk_create(
                ReservationTable(reservation=reservation, table_id=t, start=reservation.start, end=reservation.end)
                for t in table_ids
            )
    except IntegrityError as exc:
        if TABLE_OVERLAP_CONSTRAINT in str(exc):
            raise TableTaken() from exc
        raise
    except OperationalError as exc:
        # Three or more writers racing for one table past the lock (only the database's last line of defence
        # sees them) can deadlock inside the overlap check: PostgreSQL aborts one, and another holds the table.
        if getattr(exc.__cause__, "sqlstate", None) == DEADLOCK_DETECTED:
            raise TableTaken() from exc
        raise


def tables_by_name(restaurant: Restaurant, names: Sequence[str]) -> engine.Seating:
    """The host's own choice of tables, as one seating for the engine; unknown names are bad input."""
    tables = {t.name: t for t in Table.objects.filter(restaurant=restaurant, name__in=names, is_active=True)}
    unknown = [n for n in names if n not in tables]
    if unknown:
        raise InvalidInput({"tables": [f"No table named {', '.join(unknown)} at {restaurant.name}."]})
    chosen = [tables[n] for n in dict.fromkeys(names)]
    return engine.seating_of([(t.pk, t.name, t.min_covers, t.max_covers) for t in chosen])


def check_override(*, by, restaurant: Restaurant, override_reason: str | None) -> None:
    """An override is this restaurant's manager's (or an admin's) discretion; from anyone else, a manager
    elsewhere included, it is refused outright."""
    if override_reason is not None and not is_manager(by, restaurant):
        raise OverrideForbidden()


def seating_refused(
    plan: engine.DayPlan, decision: engine.Decision, tables: engine.Seating | None, *, no_table: str | None = None
) -> BookError:
    """The typed error for the engine's "no" to seating a party (`no_table`: what to say when none is free)."""
    reasons = set(decision.reasons)
    if reasons & {engine.CLOSED, engine.OUTSIDE_SERVICE_HOURS}:
        return OutsideServiceHours()
    if engine.PARTY_TOO_LARGE in reasons:
        return NoTables([engine.PARTY_TOO_LARGE], [])
    end = decision.end or decision.start
    if engine.TABLE_TAKEN in reasons and tables is not None:
        busy = [n for t, n in zip(tables.tables, tables.names, strict=True)
                if not plan.table_free(t, decision.start, end)]
        return TableTaken(f"{', '.join(busy)} {'is' if len(busy) == 1 else 'are'} taken at that time.")
    if tables is not None and engine.HELD_FOR_WALK_INS in reasons:
        return TableHeld(f"{tables.name} is held back for walk-ins at that time; a manager may override with a reason.")
    if engine.HELD_FOR_WALK_INS in reasons:
        return NoFreeTable("The only free tables that fit are held back for walk-ins; a manager may override "
                           "with a reason.")
    return NoFreeTable(no_table)


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
    idempotency: IdempotencyKey | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Book a party, or raise `NoTables` (after recording the refusal).

    Opens its own durable transaction and takes the day lock once; a claimed
    `idempotency` key is settled with the answer in that same transaction.
    """
    now = now or timezone.now()
    check_override(by=by, restaurant=restaurant, override_reason=override_reason)
    if override_reason is not None and channel == Channel.ONLINE:
        raise InvalidInput({"override": ["Online bookings cannot be overridden; book by phone or host."]})
    config = selectors.restaurant_config(restaurant)
    day = engine.service_day(config, start)
    problems = engine.start_problems(engine.plan_day(config, day, ()), start, now)
    if problems:
        raise InvalidInput({"start": [_start_problem(p, config) for p in problems]})

    # A table held for this very guest (a recovery offer they were texted) is theirs to book — with a phone they
    # proved: typing someone's number does not make their table a stranger's.
    held_for = str(guest.phone) if guest and guest.phone and phone_proven(channel=channel, details=guest) else ""
    # Only the decision and the write run under the day lock: every other booking of the evening waits for it.
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, day, start, start + (config.turn_time(party_size) or config.longest_turn))
        plan = selectors.day_plan(restaurant, day, held_for=held_for)
        decision = engine.decide_booking(plan, party_size=party_size, channel=channel, start=start, now=now,
                                         override=override_reason is not None)
        if decision.available:
            reservation = reservation_write(
                restaurant=restaurant,
                decision=decision,
                party_size=party_size,
                channel=channel,
                guest=guest_resolve(group=restaurant.group, details=guest, expectations=expectations,
                                    learn=channel != Channel.ONLINE,
                                    proven=phone_proven(channel=channel, details=guest)),
                by=by,
                expectations=expectations,
                notes=notes,
                override_reason=override_reason,
                now=now,
            )
            # In the booking's own transaction: the confirmation exists exactly when the booking does.
            if channel != Channel.WALK_IN:  # a party at the door needs no text to tell them they are in
                message_queue(restaurant=restaurant, guest=reservation.guest,
                              kind=OutboundMessage.Kind.CONFIRMATION, reservation=reservation, now=now,
                              new_reservation=True)
            guest_preparation_send(reservation)
            if idempotency is not None:
                idempotency_settle(claim=idempotency, status=201, reservation=reservation)
            return reservation
    # The "no" was decided under the lock; the nearest other starts are worked out after it is released: a whole
    # day's slots is the slow part. From the book the "no" was decided on, not a second read of the day (the
    # larger half of a refusal's queries at a full restaurant): they are suggestions, not promises, and a
    # booking that took one meanwhile is told so when it is tried.
    alternatives = engine.booking_alternatives(plan, party_size=party_size, channel=channel, start=start, now=now)
    refused = NoTables(list(decision.reasons) or [engine.FULLY_BOOKED],
                       [a.astimezone(restaurant.tz) for a in alternatives])
    # The refusal and its remembered answer are written together, so a repeat with the same key replays this 409.
    with transaction.atomic(durable=True):
        refusal_record(restaurant=restaurant, start=start, party_size=party_size, channel=channel,
                       reasons=refused.reasons, alternatives=refused.alternatives, guest=guest, by=by)
        if idempotency is not None:
            idempotency_settle_refusal(claim=idempotency, refusal=refused)
    raise refused


def _start_problem(reason: str, config: engine.RestaurantConfig) -> str:
    if reason == engine.OUTSIDE_SERVICE_HOURS:
        return f"{START_PROBLEMS[reason]} Slots are every {config.slot_minutes} minutes."
    return START_PROBLEMS[reason]


def reservation_write(
    *,
    restaurant: Restaurant,
    decision: engine.Decision,
    party_size: int,
    channel: str,
    guest,
    by,
    expectations: Sequence[str] = (),
    notes: str = "",
    override_reason: str | None = None,
    seat_now: bool = False,
    now: datetime,
) -> Reservation:
    """Write the engine's yes. Must be called holding the day lock, with the decision made under it."""
    require_book_lock()
    _race_window()
    bypassed = decision.bypassed or ""
    reservation = Reservation(
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
    # Its tables named on its first history row without a query for them (under the lock, every one counts).
    reservation._audit_tables = decision.seating.names if decision.seating is not None else ()
    _on_the_record_as(reservation, by)
    reservation.save(force_insert=True)
    if decision.seating is not None:
        _assign_tables(reservation, decision.seating.tables)
    # Its tables' names as its answer lists them (by table id), so the new booking is answered without a read.
    reservation.written_tables = tuple(name for _, name in sorted(zip(decision.seating.tables, decision.seating.names,
                                                                      strict=True))) if decision.seating else ()
    return reservation


def _on_the_record_as(row, by) -> None:
    """The audit history names who acted (the service is told even when no request is: a task, the desk)."""
    if by is not None and by.is_authenticated:
        row._history_user = by


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
    """Every "no" is kept with the guest's contact: lost demand, and where recovery starts (a proven phone's)."""
    proven = phone_proven(channel=channel, details=guest)
    known = selectors.guest_by_phone(restaurant.group, guest.phone) if proven and guest and guest.phone else None
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
        phone_verified=proven,
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
    override_reason: str | None = None, guest_asked: bool = False, now: datetime | None = None,
) -> Reservation:
    """Move a booking along its lifecycle; cancelling, a no-show or leaving frees its tables at once.

    `guest_asked`: staff cancel because the guest asked them to, so it is not the restaurant's cancellation.

    `seat` puts the party on the host's `table_names` (or, for a party without
    a table, the best free one) where the engine allows it: a table held back
    for walk-ins needs a manager's `override_reason`, recorded on the booking.
    """
    if action not in TRANSITIONS:
        raise InvalidTransition(f"Unknown action {action!r}.")
    if override_reason is not None and action != "seat":
        raise InvalidInput({"override": ["Only seating a party takes an override."]})
    check_override(by=by, restaurant=reservation.restaurant, override_reason=override_reason)
    now = now or timezone.now()
    sources, target = TRANSITIONS[action]
    restaurant = reservation.restaurant
    chosen = tables_by_name(restaurant, table_names) if table_names else None
    with transaction.atomic(durable=True):
        day = service_day(restaurant, reservation.start)
        lock_book_for(restaurant, day, reservation.start, reservation.end)
        # Re-read under the lock: a concurrent change may have moved it already.
        current = for_update(Reservation.objects).get(pk=reservation.pk)
        if current.status not in sources:
            raise InvalidTransition(f"Cannot {action} a reservation that is {current.status}.")
        if target == Status.NO_SHOW and now < current.start:
            raise NoShowTooEarly()
        fields = ["status", "updated_at"]
        if target == Status.SEATED:
            fields += _seat_tables(current, day, chosen, by=by, override_reason=override_reason, now=now)
        current.status = target
        stamp = TIMESTAMPS[target]
        if getattr(current, stamp) is None:
            setattr(current, stamp, now)
            fields.append(stamp)
        if target == Status.SEATED and current.arrived_at is None:
            current.arrived_at = now
            fields.append("arrived_at")
        _on_the_record_as(current, by)
        current.save(update_fields=fields)
        if target in RELEASING:
            current.assignments.filter(released=False).update(released=True)
            _announce_release(current, day, start=current.start, end=current.end, now=now)
        reservation_moved.send(sender=Reservation, reservation=current, action=action, by=by, now=now,
                               guest_asked=guest_asked)
        _race_window()  # before the commit: what others cannot see yet is the gap a race needs
    return selectors.reservation_get(current.pk)


def _announce_release(reservation: Reservation, day: date, *, start: datetime, end: datetime,
                      now: datetime) -> None:
    """After the commit, say which stretch of the book (the service `day`'s [start, end)) this booking gave
    back (see `signals.tables_released`).

    `robust`: a listener that fails (a broker down) must not turn the committed release into an error.
    """
    kwargs = {"restaurant_id": reservation.restaurant_id, "day": day, "reservation_id": reservation.pk,
              "freed_from": max(start, now), "freed_until": end, "released_at": now}
    if kwargs["freed_from"] < kwargs["freed_until"]:
        # On the record in this transaction: what opened, and when, is known even if the signal's task is lost.
        TableRelease.objects.bulk_create([
            TableRelease(restaurant_id=reservation.restaurant_id, table_id=table_id, reservation=reservation,
                         start=kwargs["freed_from"], end=end, released_at=now)
            for table_id in reservation.assignments.values_list("table_id", flat=True)])
        transaction.on_commit(lambda: tables_released.send(sender=Reservation, **kwargs), robust=True)


def _seat_tables(
    reservation: Reservation, day: date, chosen: engine.Seating | None, *, by, override_reason: str | None,
    now: datetime,
) -> list[str]:
    """Seat on the host's tables, or give a party without one the best table the engine allows.

    Must be called holding the day lock. Returns the reservation's fields it changed.
    """
    require_book_lock()
    if chosen is None and reservation.assignments.filter(released=False).exists():
        return []
    plan = selectors.day_plan(reservation.restaurant, day, exclude_reservation=reservation.pk)
    decision = engine.decide_seating(
        plan, party_size=reservation.party_size, start=reservation.start, end=reservation.end, now=now,
        tables=chosen, override=override_reason is not None,
    )
    if not decision.available:
        if engine.PARTY_TOO_LARGE in decision.reasons:  # booked by an override beyond every table
            decision = replace(decision, reasons=(engine.FULLY_BOOKED,))
        raise seating_refused(plan, decision, chosen, no_table="No free table fits this party for its booked "
                              "time; choose tables to seat them.")
    reservation.assignments.all().delete()
    _assign_tables(reservation, decision.seating.tables)
    reservation._audit_tables = decision.seating.names  # for the history row its save writes
    changed = []
    if reservation.overbooked:
        reservation.overbooked = False
        changed.append("overbooked")
    if decision.bypassed:
        reservation.override_by = by
        reservation.override_at = now
        reservation.override_reason = override_reason or ""
        reservation.override_bypassed = decision.bypassed
        changed += ["override_by", "override_at", "override_reason", "override_bypassed"]
    return changed


# --- the guest's own change ---------------------------------------------------------------

CHANGEABLE = frozenset({Status.BOOKED, Status.CONFIRMED})


def reservation_change(
    *, reservation: Reservation, start: datetime | None = None, party_size: int | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Move a booking to another time and/or party size, decided afresh as an online booking would be.

    The guest's own page is an online channel whatever channel made the booking: the new seating never
    takes a held table and never overbooks. A change that does not fit raises `NoTables` with the nearest
    starts this party could have instead, and the booking stays exactly as it was. Its status, guest,
    notes and messages stay; its tables are chosen again.
    """
    now = now or timezone.now()
    restaurant = reservation.restaurant
    new_start = start or reservation.start
    new_size = party_size or reservation.party_size
    if new_size < 1:
        raise InvalidInput({"party_size": ["A party is at least one guest."]})
    config = selectors.restaurant_config(restaurant)
    new_day = engine.service_day(config, new_start)
    problems = engine.start_problems(engine.plan_day(config, new_day, ()), new_start, now)
    if problems:
        raise InvalidInput({"start": [_start_problem(p, config) for p in problems]})
    new_end = new_start + (config.turn_time(new_size) or config.longest_turn)

    with transaction.atomic(durable=True):
        # One lock call for both days: the one the booking leaves and the one it moves to.
        lock_book_days(restaurant, {
            service_day(restaurant, reservation.start), local_day(restaurant, reservation.start),
            local_day(restaurant, reservation.end),
            new_day, local_day(restaurant, new_start), local_day(restaurant, new_end),
        })
        current = for_update(Reservation.objects).get(pk=reservation.pk)
        if current.status not in CHANGEABLE:
            raise InvalidTransition(f"Cannot change a reservation that is {current.status}.")
        if (new_start, new_size) == (current.start, current.party_size):
            return selectors.reservation_get(current.pk)
        # Without itself: the booking may keep its own table at a new time or size.
        plan = selectors.day_plan(restaurant, new_day, exclude_reservation=current.pk)
        decision = engine.decide_booking(plan, party_size=new_size, channel=Channel.ONLINE, start=new_start,
                                         now=now)
        if decision.available and decision.seating is not None:
            # The old time's tables are given back: as for a cancellation, others may be waiting for them.
            _announce_release(current, service_day(restaurant, current.start), start=current.start,
                              end=current.end, now=now)
            current.start, current.end, current.party_size = decision.start, decision.end, new_size
            current.overbooked = False
            current._audit_tables = decision.seating.names  # assigned just below; the history row names them
            current.save(update_fields=["start", "end", "party_size", "overbooked", "updated_at"])
            current.assignments.all().delete()
            _assign_tables(current, decision.seating.tables)
            _race_window()
            return selectors.reservation_get(current.pk)
    # As for a new booking: the alternatives are worked out once the lock is released, from the same book.
    alternatives = engine.booking_alternatives(plan, party_size=new_size, channel=Channel.ONLINE, start=new_start,
                                               now=now)
    raise NoTables(list(decision.reasons) or [engine.FULLY_BOOKED], [a.astimezone(restaurant.tz) for a in alternatives])
