"""Recovery's background work. Tasks are one line of work each: load, call a service, return a count."""

from __future__ import annotations

from datetime import date, datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from reservations.errors import BookBusy
from reservations.models import Restaurant

from .services.long_waits import long_waits_open

# --- cases --------------------------------------------------------------------------------------------------

@shared_task
def long_waits_sweep_task() -> int:
    """Open a case for each party waiting too long (one per party however often this runs); returns how many."""
    return len(long_waits_open())

# --- turned-away recovery offers (the OFFERS section: keep it at the end of the file) -----------------------
# Every task here is one line of work and safe to run twice: the services decide under the day lock with
# conditional updates. A busy day lock or a database away for a moment is retried with backoff; the beat sweep
# (`sweep_offers_task`) catches whatever still slips through, or never reached a worker.


@shared_task(autoretry_for=(BookBusy, OperationalError), retry_backoff=2, retry_backoff_max=30, max_retries=5)
def offer_freed_tables_task(restaurant_id: int, day: str, reservation_id: int | None = None,
                            released_at: str | None = None) -> int:
    """A booking gave its tables back: offer them to the guests turned away for them, first refused first.

    Decided as of the release, or of now when the task runs later than that (a retry, a busy worker).
    `reservation_id` is no longer read (what opened comes from the book's record); kept so that tasks queued
    before that still run."""
    from .services.offers import offers_make

    restaurant = Restaurant.objects.get(pk=restaurant_id)
    now = timezone.now()
    if released_at:
        now = max(now, datetime.fromisoformat(released_at))
    return len(offers_make(restaurant=restaurant, day=date.fromisoformat(day), now=now))


@shared_task(autoretry_for=(BookBusy, OperationalError), retry_backoff=2, retry_backoff_max=30, max_retries=5)
def expire_offer_task(offer_id: int) -> int:
    """Sent with a countdown to the offer's end: unanswered, it lapses and goes to the next guest."""
    from .services.offers import offers_expire

    return offers_expire(offer_id=offer_id)


@shared_task(autoretry_for=(BookBusy, OperationalError), retry_backoff=2, retry_backoff_max=30, max_retries=5)
def won_back_dessert_task(reservation_id: int) -> bool:
    """The won-back guest's complimentary dessert, once however often this runs."""
    from .services.offers_answers import won_back_dessert

    return won_back_dessert(reservation_id=reservation_id) is not None


@shared_task
def sweep_offers_task() -> int:
    """Beat's backstop: lapse overdue offers, make offers a lost trigger never made, queue missing desserts."""
    from .services.offers import offers_sweep

    return offers_sweep()
