"""The login lockout, after OWASP's advice (Authentication Cheat Sheet, "Account lockout"), for every password
login: the desk's, the admin's and the token endpoint (cxhost/lockout.py asks here before the password is checked).

Three counts, each computed from the recorded failures (`LoginFailure`), never a stored counter:

- a username from one address (a pair): LOGIN_FAILURE_LIMIT failures within 15 minutes pause that pair for
  LOGIN_PAIR_LOCK_MINUTES after the last one. The one who mistyped waits; a colleague at the same tablet does not.
- a username from anywhere: LOGIN_USERNAME_LIMIT failures within an hour pause it for a backoff that doubles with
  each further failure (1, 2, 4 … minutes, at most LOGIN_USERNAME_MAX_LOCK_MINUTES) — but never from an address
  where that user logged in within LOGIN_TRUSTED_ADDRESS_DAYS, so guessing cannot shut a manager out of their own
  restaurant.
- an address: only LOGIN_ADDRESS_LIMIT failures within an hour pause it (one machine trying many usernames).

An attempt while paused is refused before the password is looked at and is not recorded: waiting attempts never
move the end of a pause. A success wipes nothing (an account of one's own would otherwise reset an address).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .. import access
from ..models import LoginFailure, LoginSuccess

PAIR_WINDOW = timedelta(minutes=15)
USERNAME_WINDOW = timedelta(hours=1)
ADDRESS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class LoginLock:
    until: datetime
    reason: str  # "pair", "username" or "address": for the log, never shown (it would help an attacker)

    def seconds_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def normalized_username(username: object) -> str:
    return str(username or "").lower()[:150]


def normalized_address(address: str | None) -> str:
    return (address or "")[:64]


def pair_lock_until(failures: list[datetime]) -> datetime | None:
    """When a pair's pause ends, from its recent failures: counted in the 15 minutes up to the last one."""
    if not failures:
        return None
    last = max(failures)
    if sum(1 for at in failures if at > last - PAIR_WINDOW) < settings.LOGIN_FAILURE_LIMIT:
        return None
    return last + timedelta(minutes=settings.LOGIN_PAIR_LOCK_MINUTES)


def username_lock_until(failures: list[datetime]) -> datetime | None:
    """When a username's pause ends: the n-th failure within an hour (n ≥ the limit) pauses it 2^(n - limit)
    minutes from that failure, at most the cap."""
    if not failures:
        return None
    last = max(failures)
    beyond = sum(1 for at in failures if at > last - USERNAME_WINDOW) - settings.LOGIN_USERNAME_LIMIT
    if beyond < 0:
        return None
    minutes = min(2 ** min(beyond, 16), settings.LOGIN_USERNAME_MAX_LOCK_MINUTES)
    return last + timedelta(minutes=minutes)


def address_lock_until(recent: list[datetime]) -> datetime | None:
    """When an address's pause ends, from its latest LOGIN_ADDRESS_LIMIT failures: once the oldest of them is
    an hour old, fewer than the limit remain within the hour."""
    if len(recent) < settings.LOGIN_ADDRESS_LIMIT:
        return None
    return sorted(recent)[-settings.LOGIN_ADDRESS_LIMIT] + ADDRESS_WINDOW


def login_lock(*, username: object, address: str | None, now: datetime | None = None) -> LoginLock | None:
    """The pause this login attempt is under, if any (the one that ends last)."""
    now = now or timezone.now()
    username, address = normalized_username(username), normalized_address(address)
    uncleared = LoginFailure.objects.filter(cleared_at__isnull=True)
    horizon = now - USERNAME_WINDOW - timedelta(minutes=settings.LOGIN_USERNAME_MAX_LOCK_MINUTES)
    by_username = list(uncleared.filter(username=username, at__gte=horizon).values_list("at", "address"))
    locks = []
    pair_until = pair_lock_until([at for at, where in by_username if where == address])
    if pair_until and pair_until > now:
        locks.append(LoginLock(pair_until, "pair"))
    username_until = username_lock_until([at for at, _ in by_username])
    if username_until and username_until > now and not address_is_trusted(username=username, address=address,
                                                                          now=now):
        locks.append(LoginLock(username_until, "username"))
    if address:
        recent = list(uncleared.filter(address=address, at__gte=now - ADDRESS_WINDOW).order_by("-at")
                      .values_list("at", flat=True)[:settings.LOGIN_ADDRESS_LIMIT])
        address_until = address_lock_until(recent)
        if address_until and address_until > now:
            locks.append(LoginLock(address_until, "address"))
    return max(locks, key=lambda lock: lock.until, default=None)


def address_is_trusted(*, username: str, address: str, now: datetime) -> bool:
    """Whether this user logged in from this address lately (a restaurant's own tablets)."""
    since = now - timedelta(days=settings.LOGIN_TRUSTED_ADDRESS_DAYS)
    return bool(address) and LoginSuccess.objects.filter(username=username, address=address, at__gte=since).exists()


def login_failure_record(*, username: object, address: str | None, now: datetime | None = None) -> None:
    LoginFailure.objects.create(username=normalized_username(username), address=normalized_address(address),
                                at=now or timezone.now())


def login_success_record(*, user, address: str | None, user_agent: str = "", now: datetime | None = None) -> None:
    LoginSuccess.objects.create(user=user, username=normalized_username(user.get_username()),
                                address=normalized_address(address), at=now or timezone.now(),
                                user_agent=user_agent[:255])


def login_locks_clear(*, usernames: set[str], by) -> int:
    """Lift the pauses of these usernames, for those whose failures `by` may see (the wall: their own restaurants'
    staff). Their uncleared failures are marked cleared by `by` and stay on the record; the count of each pair and
    address they were part of drops with them."""
    rows = access.login_failures_for(by).filter(username__in=usernames, cleared_at__isnull=True)
    return rows.update(cleared_at=timezone.now(), cleared_by=by)
