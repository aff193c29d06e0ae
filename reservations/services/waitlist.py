"""The waitlist is tonight's: a party still waiting when its service closes leaves the list."""

from __future__ import annotations

from datetime import datetime

from .. import engine, selectors
from ..models import Restaurant, WaitlistEntry


def waitlist_expire(*, restaurant: Restaurant, now: datetime) -> int:
    """Mark parties left over from earlier services as left, at their service's closing; return how many.

    The selectors already leave them out of tonight's line, so nothing
    depends on this having run: it keeps the stored status (the admin, a
    by-id lookup) telling the same story. Safe to run concurrently: each
    row changes only while it is still stored as waiting.
    """
    config = selectors.restaurant_config(restaurant)
    expired = 0
    for entry in selectors.stale_waiting_parties(restaurant, now=now).only("pk", "created_at"):
        joined = engine.service_under_way(config, entry.created_at)
        # The service's closing, where the hours still say; never later than now.
        left_at = min(joined[1].closes, now) if joined else entry.created_at
        expired += WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).update(
            status=WaitlistEntry.Status.LEFT, left_at=left_at
        )
    return expired
