"""Walk-ins: seat them now if any table is free, held ones included; otherwise the waitlist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import engine, selectors
from ..errors import InvalidTransition, NoFreeTable, NoTables, OutsideServiceHours
from ..models import Reservation, Restaurant, WaitlistEntry
from .booking import local_day, refusal_record, reservation_create, service_day
from .guests import GuestDetails, guest_resolve
from .locking import lock_book_days
from .waitlist import waitlist_expire


@dataclass(frozen=True)
class WalkInResult:
    status: str  # "seated" or "waitlisted"
    reservation: Reservation | None = None
    entry: WaitlistEntry | None = None
    position: int | None = None


def walk_in_arrive(
    *, restaurant: Restaurant, party_size: int, guest: GuestDetails | None = None, by=None,
    now: datetime | None = None,
) -> WalkInResult:
    now = now or timezone.now()
    plan = selectors.day_plan(restaurant, service_day(restaurant, now))
    if engine.service_at(plan, now) is None or plan.closed:
        raise OutsideServiceHours()
    with transaction.atomic():
        try:
            reservation = reservation_create(
                restaurant=restaurant, start=now, party_size=party_size, channel=Reservation.Channel.WALK_IN,
                guest=guest, by=by, seat_now=True, record_refusal=False, now=now,
            )
            return WalkInResult("seated", reservation=reservation)
        except NoTables as refused:
            if engine.PARTY_TOO_LARGE in refused.reasons:
                too_large = refused
            else:
                too_large = None
        if too_large is None:
            # Still under the day's lock taken by reservation_create: positions and quotes are consistent.
            entry, position = _waitlist_add(restaurant, party_size, guest, now)
            return WalkInResult("waitlisted", entry=entry, position=position)
    refusal_record(restaurant=restaurant, start=now, party_size=party_size,
                   channel=Reservation.Channel.WALK_IN, reasons=too_large.reasons, guest=guest, by=by)
    raise too_large


def _waitlist_add(
    restaurant: Restaurant, party_size: int, guest: GuestDetails | None, now: datetime
) -> tuple[WaitlistEntry, int]:
    waitlist_expire(restaurant=restaurant, now=now)
    waiting = selectors.waiting_parties(restaurant, now=now)
    plan = selectors.day_plan(restaurant, service_day(restaurant, now))
    minutes, likely = engine.quote_wait(
        plan, party_size=party_size, now=now, parties_ahead=[w.party_size for w in waiting]
    )
    entry = WaitlistEntry.objects.create(
        restaurant=restaurant,
        guest=guest_resolve(details=guest),
        party_size=party_size,
        quoted_wait_minutes=minutes,
        likely_tonight=likely,
        created_at=now,
    )
    return entry, len(waiting) + 1


def waitlist_seat(
    *, entry: WaitlistEntry, by=None, table_names: Sequence[str] | None = None, now: datetime | None = None
) -> Reservation:
    """Seat a waiting party now, on the host's tables or the best free one."""
    now = now or timezone.now()
    restaurant = entry.restaurant
    # Before the transaction: a party gone with its service stays gone when seating them is refused.
    waitlist_expire(restaurant=restaurant, now=now)
    with transaction.atomic():
        lock_book_days(restaurant, {service_day(restaurant, now), local_day(restaurant, now)})
        # `of=("self",)`: the guest is a nullable join, and PostgreSQL cannot lock the outer side of one.
        current = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("guest").get(pk=entry.pk)
        if current.status != WaitlistEntry.Status.WAITING:
            raise InvalidTransition(f"This party is no longer waiting ({current.status}).")
        guest = current.guest
        try:
            reservation = reservation_create(
                restaurant=restaurant, start=now, party_size=current.party_size,
                channel=Reservation.Channel.WALK_IN,
                guest=GuestDetails(name=guest.name, phone=guest.phone) if guest else None,
                by=by, seat_now=True, table_names=table_names, record_refusal=False, now=now,
            )
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
    with transaction.atomic():
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
