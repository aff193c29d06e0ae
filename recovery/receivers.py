"""Recovery listens to the book: a refusal with a phone and a booking the restaurant cancelled open cases.

Both run inside the book's own transaction, so a case exists exactly when its cause does.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from reservations.models import Refusal, Reservation
from reservations.signals import reservation_moved

from .services.causes import cancelled_by_restaurant_open, turned_away_open


@receiver(post_save, sender=Refusal, dispatch_uid="recovery.turned_away")
def _refused(sender, instance: Refusal, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        turned_away_open(refusal=instance)


@receiver(reservation_moved, sender=Reservation, dispatch_uid="recovery.cancelled_by_restaurant")
def _moved(sender, reservation: Reservation, action: str, by, now, guest_asked: bool = False, **kwargs) -> None:
    if action == "cancel" and not guest_asked:
        cancelled_by_restaurant_open(reservation=reservation, by=by, now=now)
