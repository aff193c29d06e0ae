from celery import shared_task
from django.utils import timezone

from .models import Restaurant, WaitlistEntry
from .services.idempotency import idempotency_purge
from .services.waitlist import waitlist_expire


@shared_task
def purge_idempotency_keys_task() -> int:
    return idempotency_purge()


@shared_task
def expire_waitlists_task() -> int:
    """Parties left waiting when their service closed are marked left, even on a night with no more walk-ins."""
    now = timezone.now()
    waiting = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).values("restaurant")
    return sum(waitlist_expire(restaurant=r, now=now) for r in Restaurant.objects.filter(pk__in=waiting))
