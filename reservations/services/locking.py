"""The one lock every path that adds covers or takes a table goes through.

Rules (after pretix): one lock call per transaction, taken late, on sorted
keys, with a short timeout. The key is the restaurant-day: a `BookDay` row
that is created on first use and therefore always exists to be locked —
locking the reservation rows would protect nothing, as the new booking's rows
do not exist yet. On SQLite the write transaction itself (BEGIN IMMEDIATE)
serialises writers; the row lock is a no-op there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import QuerySet

from ..errors import BookBusy
from ..models import BookDay, Restaurant


def lock_book_days(restaurant: Restaurant, days: Iterable[date]) -> None:
    """Lock the restaurant's book for these local dates until the transaction ends."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_book_days() must run inside transaction.atomic().")
    if settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK:
        return  # only for the concurrency proof's control run
    ordered = sorted(set(days))
    BookDay.objects.bulk_create([BookDay(restaurant=restaurant, date=d) for d in ordered], ignore_conflicts=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(settings.BOOKING_LOCK_TIMEOUT_MS)}")
    try:
        list(
            BookDay.objects.select_for_update()
            .filter(restaurant=restaurant, date__in=ordered)
            .order_by("date")
            .values_list("pk", flat=True)
        )
    except OperationalError as exc:
        if "lock timeout" in str(exc):
            raise BookBusy() from exc
        raise


def for_update(queryset: QuerySet, **kwargs) -> QuerySet:
    """`select_for_update(**kwargs)`, skipped with the restaurant-day lock in the concurrency proof's control run."""
    if settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK:
        return queryset
    return queryset.select_for_update(**kwargs)
