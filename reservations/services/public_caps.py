"""Daily caps on anonymous online bookings: per phone number, per number prefix and per client address.

Every anonymous booking may text a number the caller chose (its confirmation, a recovery offer), so the caps are
what stand between the booking page and SMS pumping. A request is admitted only if all three counts for the day
are below their caps; past any one it is 429 `too_many_requests` and nothing is counted, written or texted.

Counted in the database, not the cache: the per-address rate limit may let requests through uncounted while
Redis is away (a guest must not fail for it), but a cap that guards money must hold then too, and must not
forget a day's counts when the cache is flushed. Each count is one upsert that raises the row only while it is
below the cap (`INSERT … ON CONFLICT DO UPDATE … WHERE count < cap RETURNING count`): the database serialises
writers of one row, so the cap holds however many processes ask at once, and the three rows are raised in one
transaction, in key order (no deadlocks), so a request refused on one cap leaves the others as they were.
Counting booking rows instead would need a lock spanning every restaurant and day a number can book.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..errors import TooManyBookings
from ..models import PublicBookingCount

TABLE = PublicBookingCount._meta.db_table
# The number without its last four digits: SMS pumping rotates through a block of numbers an operator sells
# (sequential, premium-rate), each number fresh to a per-number cap; ten thousand numbers share one block.
PREFIX_DROPS = 4


def public_caps_keys(*, phone: str, address: str | None) -> dict[str, int]:
    """The day's counters an anonymous booking for `phone` (E.164) from `address` raises, with their caps."""
    keys = {
        f"phone:{phone}": settings.PUBLIC_BOOKINGS_PER_PHONE_PER_DAY,
        f"prefix:{phone[:-PREFIX_DROPS]}": settings.PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY,
    }
    if address:
        keys[f"address:{address}"[:100]] = settings.PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY
    return keys


def public_booking_admit(*, phone: str, address: str | None, now: datetime | None = None) -> None:
    """Count one anonymous booking attempt, or raise `TooManyBookings` (counting nothing) past any cap.

    Opens its own short transaction, before the booking's: a refused request never reaches the book.
    """
    now = now or timezone.now()
    day = now.date()  # the UTC day: one boundary for every restaurant and caller
    keys = public_caps_keys(phone=phone, address=address)
    with transaction.atomic():
        for key in sorted(keys):
            if not _raise_below(day, key, keys[key]):
                transaction.set_rollback(True)
                tomorrow = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
                raise TooManyBookings(retry_after=max(1, int((tomorrow - now).total_seconds())))


def _raise_below(day: date, key: str, cap: int) -> bool:
    """Add one to the day's count for `key` if it is below `cap`; False (nothing changed) if it is not."""
    if cap <= 0:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{TABLE}" (day, "key", count) VALUES (%s, %s, 1) '
            f'ON CONFLICT (day, "key") DO UPDATE SET count = "{TABLE}".count + 1 WHERE "{TABLE}".count < %s '
            "RETURNING count",
            [day, key, cap],
        )
        return cursor.fetchone() is not None


def public_counts_purge(*, now: datetime | None = None) -> int:
    """Forget counts of days before yesterday (beat, with the idempotency keys)."""
    deleted, _ = PublicBookingCount.objects.filter(day__lt=(now or timezone.now()).date() - timedelta(days=1)).delete()
    return deleted
