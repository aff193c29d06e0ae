"""Walk-ins: seat them now if any table is free, held ones included; otherwise the waitlist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import engine, selectors
from ..errors import InvalidTransition, NoFreeTable, NoTables, OutsideServiceHours
from ..models import Guest, IdempotencyKey, Reservation, Restaurant, WaitlistEntry
from .booking import (
    lock_book_for,
    refusal_record,
    reservation_write,
    seating_refused,
    tables_by_name,
)
from .guests import GuestDetails, guest_resolve
from .idempotency import idempotency_settle, idempotency_settle_refusal
from .locking import require_book_lock
from .waitlist import waitlist_expire


@dataclass(frozen=True)
class WalkInResult:
    status: str  # "seated" or "waitlisted"
    reservation: Reservation | None = None
    entry: WaitlistEntry | None = None
    position: int | None = None
    now: datetime | None = None  # the moment the party was seated or joined the line


def _walk_in_day(restaurant: Restaurant, now: datetime) -> tuple[engine.RestaurantConfig, object]:
    """The service a party at the door at `now` belongs to; outside the seating hours, a 409."""
    config = selectors.restaurant_config(restaurant)
    day = engine.service_day(config, now)
    plan = engine.plan_day(config, day, ())
    if plan.closed or engine.service_at(plan, now) is None:
        raise OutsideServiceHours()
    return config, day


def walk_in_arrive(
    *, restaurant: Restaurant, party_size: int, guest: GuestDetails | None = None, by=None,
    now: datetime | None = None, idempotency: IdempotencyKey | None = None,
) -> WalkInResult:
    """A party at the door: seated now where a table is free (held ones included), else waitlisted.

    Without `now` the clock is read under the day lock, so the order parties
    reach the lock is the order of the line and the position they are told.
    """
    arrived = now or timezone.now()  # to know which day's book to lock
    config, day = _walk_in_day(restaurant, arrived)
    too_large = None
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, day, arrived, arrived + config.longest_turn)
        # The clock again, under the lock: parties join the line in the order they reach it.
        now = now or timezone.now()
        try:
            reservation = walk_in_seat(restaurant=restaurant, day=day, party_size=party_size, guest=guest,
                                       by=by, now=now)
        except NoFreeTable:
            waiting_guest = guest_resolve(group=restaurant.group, details=guest)
            entry, position = _waitlist_add(restaurant, day, party_size, waiting_guest, now)
            if idempotency is not None:
                idempotency_settle(claim=idempotency, status=201, waitlist_entry=entry)
            return WalkInResult("waitlisted", entry=entry, position=position, now=now)
        except NoTables as refused:  # too large for any table: turned away, and the refusal kept
            too_large = refused
            refusal_record(restaurant=restaurant, start=now, party_size=party_size,
                           channel=Reservation.Channel.WALK_IN, reasons=refused.reasons, guest=guest, by=by)
            if idempotency is not None:
                idempotency_settle_refusal(claim=idempotency, refusal=refused)
        else:
            if idempotency is not None:
                idempotency_settle(claim=idempotency, status=201, reservation=reservation)
            return WalkInResult("seated", reservation=reservation, now=now)
    raise too_large


def walk_in_seat(
    *, restaurant: Restaurant, day, party_size: int, guest: Guest | GuestDetails | None, by, now: datetime,
    tables: engine.Seating | None = None,
) -> Reservation:
    """Seat a party at the door at this very moment, on `tables` or the best free seating, held ones
    included, for its turn time — where the engine allows it, else its typed refusal.

    Must be called holding the day lock (`walk_in_arrive`, `waitlist_seat`).
    """
    require_book_lock()
    plan = selectors.day_plan(restaurant, day)
    decision = engine.decide_seating(plan, party_size=party_size, start=now, now=now, tables=tables,
                                     walk_in_now=True)
    if not decision.available:
        raise seating_refused(plan, decision, tables)
    if isinstance(guest, GuestDetails):  # a party at the door: a profile only for one we seat
        guest = guest_resolve(group=restaurant.group, details=guest)
    return reservation_write(restaurant=restaurant, decision=decision, party_size=party_size,
                  channel=Reservation.Channel.WALK_IN, guest=guest, by=by, seat_now=True, now=now)


def _waitlist_add(
    restaurant: Restaurant, day, party_size: int, guest: Guest | None, now: datetime
) -> tuple[WaitlistEntry, int]:
    """Put the party at the end of tonight's line. Must be called holding the day lock."""
    require_book_lock()
    waitlist_expire(restaurant=restaurant, now=now)
    waiting = selectors.waiting_parties(restaurant, now=now)
    plan = selectors.day_plan(restaurant, day)
    minutes, likely = engine.quote_wait(
        plan, party_size=party_size, now=now, parties_ahead=[w.party_size for w in waiting]
    )
    # The line is ordered by arrival: a party that reached the lock last never sorts before the others,
    # whatever clock it was handed, so the position it is told is its place in the list.
    joined = max([now, *(w.created_at for w in waiting)])
    entry = WaitlistEntry.objects.create(
        restaurant=restaurant,
        guest=guest,
        party_size=party_size,
        quoted_wait_minutes=minutes,
        likely_tonight=likely,
        created_at=joined,
    )
    return entry, len(waiting) + 1


def waitlist_seat(
    *, entry: WaitlistEntry, by=None, table_names: Sequence[str] | None = None, now: datetime | None = None
) -> Reservation:
    """Seat a waiting party now, on the host's tables or the best free one, as the engine allows."""
    restaurant = entry.restaurant
    now = now or timezone.now()
    # Before the transaction: a party gone with its service stays gone when seating them is refused.
    waitlist_expire(restaurant=restaurant, now=now)
    chosen = tables_by_name(restaurant, table_names) if table_names else None
    config, day = _walk_in_day(restaurant, now)
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, day, now, now + config.longest_turn)
        # `of=("self",)`: the guest is a nullable join, and PostgreSQL cannot lock the outer side of one.
        current = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("guest").get(pk=entry.pk)
        if current.status != WaitlistEntry.Status.WAITING:
            raise InvalidTransition(f"This party is no longer waiting ({current.status}).")
        try:
            reservation = walk_in_seat(restaurant=restaurant, day=day, party_size=current.party_size,
                                       guest=current.guest, by=by, now=now, tables=chosen)
        except NoTables as exc:
            raise NoFreeTable() from exc
        current.status = WaitlistEntry.Status.SEATED
        current.seated_at = now
        current.reservation = reservation
        current.save(update_fields=["status", "seated_at", "reservation"])
    return selectors.reservation_get(reservation.pk)


def waitlist_leave(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    now = now or timezone.now()
    waitlist_expire(restaurant=entry.restaurant, now=now)
    with transaction.atomic(durable=True):
        current = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if current.status != WaitlistEntry.Status.WAITING:
            raise InvalidTransition(f"This party is no longer waiting ({current.status}).")
        current.status = WaitlistEntry.Status.LEFT
        current.left_at = now
        current.save(update_fields=["status", "left_at"])
    return current


def waitlist_positions(restaurant: Restaurant, *, now: datetime | None = None) -> list[tuple[WaitlistEntry, int]]:
    """Tonight's line with each party's place in it."""
    waiting = selectors.waiting_parties(restaurant, now=now or timezone.now())
    return [(entry, i) for i, entry in enumerate(waiting, start=1)]
