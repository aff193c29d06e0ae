"""The one lock every path that adds covers or takes a table goes through.

Rules (after pretix): one lock call per transaction, taken late, on sorted
keys, with a short timeout. The key is the restaurant-day: a `BookDay` row
that is created on first use and therefore always exists to be locked —
locking the reservation rows would protect nothing, as the new booking's rows
do not exist yet. On SQLite the write transaction itself (BEGIN IMMEDIATE)
serialises writers; the row lock is a no-op there.

The transaction belongs to the service (`transaction.atomic(durable=True)`);
helpers that write under the lock call `require_book_lock()` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import QuerySet

from ..errors import BookBusy
from ..models import BookDay, Restaurant

# Which transaction last took the lock on this connection (see `_transaction_owner`).
_LOCK_OWNER = "_cxhost_book_lock_owner"


def _transaction_owner():
    """The outermost atomic block that is not a test case's own wrapper: the service's transaction."""
    for block in connection.atomic_blocks:
        if not getattr(block, "_from_testcase", False):
            return block
    return None


def lock_book_days(restaurant: Restaurant, days: Iterable[date]) -> None:
    """Lock the restaurant's book for these local dates until the transaction ends.

    Called once per transaction, by the service that owns it: a second call
    would take locks in an order nobody planned, which is how deadlocks start.
    """
    owner = _transaction_owner()
    if owner is None:
        raise RuntimeError("lock_book_days() must run inside the service's transaction.atomic().")
    if getattr(connection, _LOCK_OWNER, None) is owner:
        raise RuntimeError("lock_book_days() is called once per transaction; this one holds the lock already.")
    # Holding the block itself (not its id) keeps a later transaction from ever looking like this one.
    setattr(connection, _LOCK_OWNER, owner)
    if settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK:
        return  # only for the concurrency proof's control run
    ordered = sorted(set(days))
    try:
        if connection.vendor == "postgresql":
            _lock_postgresql(restaurant, ordered)
        else:
            # SQLite: the write transaction (BEGIN IMMEDIATE) is the lock; the rows are made for their own sake.
            BookDay.objects.bulk_create([BookDay(restaurant=restaurant, date=d) for d in ordered],
                                        ignore_conflicts=True)
    except OperationalError as exc:
        if "lock timeout" in str(exc):
            raise BookBusy() from exc
        raise


BOOK_DAY = BookDay._meta.db_table
# Three statements in one round trip (psycopg's client-side binding sends them as one query): every other
# booking of the evening waits while this transaction holds the lock, so each round trip under it counts.
# The timeout comes first, so a first-use insert waiting on another transaction's uncommitted row is bounded
# too; rows are inserted and then locked in date order, so two transactions cannot take them crosswise.
LOCK_SQL = (
    "SET LOCAL lock_timeout = {timeout:d}; "
    f'INSERT INTO "{BOOK_DAY}" (restaurant_id, date) SELECT %s, d FROM unnest(%s::date[]) AS d ORDER BY d '
    "ON CONFLICT DO NOTHING; "
    f'SELECT id FROM "{BOOK_DAY}" WHERE restaurant_id = %s AND date = ANY(%s::date[]) ORDER BY date FOR UPDATE'
)


def _lock_postgresql(restaurant: Restaurant, ordered: list[date]) -> None:
    """The restaurant-day rows, made on first use and locked FOR UPDATE, in one round trip."""
    sql = LOCK_SQL.format(timeout=int(settings.BOOKING_LOCK_TIMEOUT_MS))
    with connection.cursor() as cursor:
        cursor.execute(sql, [restaurant.pk, ordered, restaurant.pk, ordered])
        while cursor.cursor.nextset():  # to the SELECT's rows: read, so nothing is left pending on the connection
            if cursor.description is not None:
                cursor.fetchall()


def book_lock_held() -> bool:
    """Is this connection's current transaction the one that took the day lock (it holds it until it ends)?"""
    owner = _transaction_owner()
    return owner is not None and getattr(connection, _LOCK_OWNER, None) is owner


def require_book_lock() -> None:
    """Fail loudly where a write that must be decided under the day lock runs without it."""
    if not book_lock_held():
        raise RuntimeError("Must be called holding the day lock: inside the service's transaction, after "
                           "lock_book_days().")


def for_update(queryset: QuerySet, **kwargs) -> QuerySet:
    """`select_for_update(**kwargs)`, skipped with the restaurant-day lock in the concurrency proof's control run."""
    if settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK:
        return queryset
    return queryset.select_for_update(**kwargs)
