"""Long waits: a walk-in kept past the wait we quoted, a booked party not seated 15 minutes after arriving.

Found by a sweep (`recovery.tasks.long_waits_sweep_task`, every minute) rather than at an event: a wait
becomes too long while nothing happens. The sweep opens one case per waiting party and one per booking,
however often it runs (and if two run at once, the database's unique constraints keep it to one).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from reservations.models import Reservation, Restaurant, WaitlistEntry
from reservations.services.waitlist import waitlist_expire

from ..models import RecoveryCase
from .cases import case_open
from .causes import amends_after_commit

Kind = RecoveryCase.Kind
# A booked party waits on us from their booked time, or from arriving if they came late.
BOOKED_PARTY_WAIT = timedelta(minutes=15)
# How far back the sweep looks: tonight's parties. A wait noticed later than that is a report's, not a case's.
LOOKBACK = timedelta(hours=12)


def long_waits_open(*, now: datetime | None = None) -> list[RecoveryCase]:
    """Open a `long_wait` case for every party that has waited too long and has none yet."""
    now = now or timezone.now()
    since = now - LOOKBACK
    # Parties left over from a closed service get their leaving time first, so their wait is not counted to now.
    waiting = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, created_at__gte=since)
    for restaurant in Restaurant.objects.filter(pk__in=waiting.values("restaurant")):
        waitlist_expire(restaurant=restaurant, now=now)
    return [*_walk_ins_kept_past_their_quote(since, now), *_booked_parties_kept_waiting(since, now)]


def _walk_ins_kept_past_their_quote(since: datetime, now: datetime) -> list[RecoveryCase]:
    opened = []
    entries = (WaitlistEntry.objects.filter(created_at__gte=since).exclude(recovery_cases__kind=Kind.LONG_WAIT)
               .select_related("restaurant", "guest"))
    for entry in entries:
        ended = {WaitlistEntry.Status.SEATED: entry.seated_at, WaitlistEntry.Status.LEFT: entry.left_at}
        waited_until = ended.get(entry.status, now) or now
        if waited_until <= entry.created_at + timedelta(minutes=entry.quoted_wait_minutes):
            continue
        waited = _minutes(waited_until - entry.created_at)
        outcome = {WaitlistEntry.Status.SEATED: f"seated after {waited} min",
                   WaitlistEntry.Status.LEFT: f"left after {waited} min"}.get(entry.status,
                                                                            f"still waiting after {waited} min")
        joined = entry.created_at.astimezone(entry.restaurant.tz)
        summary = (f"{_who(entry.guest, 'A walk-in')}, party of {entry.party_size}, quoted "
                   f"{entry.quoted_wait_minutes} min at {joined:%H:%M}: {outcome}")
        opened.append(case_open(restaurant=entry.restaurant, kind=Kind.LONG_WAIT, summary=summary,
                                guest=entry.guest, waitlist_entry=entry, now=now))
        amends_after_commit(opened[-1])
    return opened


def _booked_parties_kept_waiting(since: datetime, now: datetime) -> list[RecoveryCase]:
    opened = []
    Status = Reservation.Status
    # Bounded by start too, so the book's (restaurant, start) index narrows the look to tonight's bookings.
    arrivals = (Reservation.objects.filter(restaurant__in=Restaurant.objects.all(),
                                           start__range=(since - LOOKBACK, now + LOOKBACK), arrived_at__gte=since,
                                           status__in=[Status.ARRIVED, Status.SEATED, Status.COMPLETED])
                .exclude(channel=Reservation.Channel.WALK_IN)
                .exclude(recovery_cases__kind=Kind.LONG_WAIT)
                .select_related("restaurant", "guest"))
    for reservation in arrivals:
        # A party that came early waits for its own time, not on us.
        waiting_since = max(reservation.arrived_at, reservation.start)
        waited_until = reservation.seated_at or (now if reservation.status == Status.ARRIVED else None)
        if waited_until is None or waited_until - waiting_since < BOOKED_PARTY_WAIT:
            continue
        waited = _minutes(waited_until - waiting_since)
        outcome = f"seated after {waited} min" if reservation.seated_at else f"not seated after {waited} min"
        tz = reservation.restaurant.tz
        summary = (f"{_who(reservation.guest, 'A guest')}, party of {reservation.party_size} booked for "
                   f"{reservation.start.astimezone(tz):%H:%M}, arrived {reservation.arrived_at.astimezone(tz):%H:%M}:"
                   f" {outcome}")
        opened.append(case_open(restaurant=reservation.restaurant, kind=Kind.LONG_WAIT, summary=summary,
                                guest=reservation.guest, reservation=reservation, now=now))
        amends_after_commit(opened[-1])
    return opened


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _who(guest, nobody: str) -> str:
    return (guest.name or str(guest.phone or "")) if guest else nobody
