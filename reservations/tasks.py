from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .errors import BookBusy
from .models import Restaurant, WaitlistEntry
from .services.auth import tokens_purge_expired
from .services.gestures import guest_prepare, guests_prepare_pending
from .services.idempotency import idempotency_purge
from .services.messaging import RetryLater, reminders_queue, sms_redispatch, sms_send, thank_yous_queue
from .services.public_caps import public_counts_purge
from .services.waitlist import waitlist_expire


@shared_task
def purge_idempotency_keys_task() -> int:
    # The anonymous bookings' daily counts go with them: both are a public caller's short-lived traces.
    return idempotency_purge() + public_counts_purge()


@shared_task
def purge_expired_tokens_task() -> int:
    return tokens_purge_expired()


@shared_task
def expire_waitlists_task() -> int:
    """Parties left waiting when their service closed are marked left, even on a night with no more walk-ins."""
    now = timezone.now()
    waiting = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).values("restaurant")
    return sum(waitlist_expire(restaurant=r, now=now) for r in Restaurant.objects.filter(pk__in=waiting))


# A busy day lock or a database away for a moment is worth waiting for: retry with backoff; the beat sweep
# catches whatever still slips through.
@shared_task(autoretry_for=(BookBusy, OperationalError), retry_backoff=2, retry_backoff_max=60, max_retries=5)
def prepare_for_guest_task(reservation_id: int) -> bool:
    """The party's dessert and staff notes, once however often this runs (see `services.gestures`)."""
    return guest_prepare(reservation_id=reservation_id)


@shared_task
def prepare_pending_guests_task() -> int:
    """Bookings whose preparation task never reached a worker (the broker was down) are prepared here."""
    return guests_prepare_pending()


@shared_task(bind=True, max_retries=None)
def send_sms_task(self, message_id: int) -> str:
    """One outbox message: sent once however often this runs; a provider error retries with backoff."""
    try:
        return sms_send(message_id=message_id)
    except RetryLater as later:
        retry = self.retry(countdown=later.seconds, throw=False)
        if self.request.is_eager:
            # In-process (no broker), Celery's apply() runs a retry handed back to it, without the countdown.
            return retry
        raise retry from None


@shared_task
def dispatch_pending_sms_task() -> int:
    return sms_redispatch()


@shared_task
def queue_reminders_task() -> int:
    return reminders_queue()


@shared_task
def queue_thank_yous_task() -> int:
    return thank_yous_queue()
