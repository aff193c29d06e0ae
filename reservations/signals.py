"""Renew a restaurant's `config_token` whenever its set-up changes, so cached day plans expire; end a user's API
tokens whenever their password changes.

Also the book's own events (a booking moved through its lifecycle, tables given back), for the apps built on
it (recovery) to act on without the book knowing them.
"""

import uuid

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import Signal, receiver

from .models import (
    Closure,
    HoldBackRule,
    OverbookingPolicy,
    Restaurant,
    ServiceHours,
    Table,
    TableCombination,
    TurnTime,
)

# Sent by `reservation_transition` with `reservation`, `action`, `by` (None when the guest acted: SMS, their
# page), `guest_asked` (staff acted for the guest) and `now`, inside its transaction once the step is saved:
# a receiver's writes commit with the step.
reservation_moved = Signal()

CONFIG_MODELS = (Table, TableCombination, ServiceHours, Closure, TurnTime, HoldBackRule, OverbookingPolicy)


def renew_config_token(restaurant_id: int) -> None:
    Restaurant.objects.filter(pk=restaurant_id).update(config_token=uuid.uuid4())


@receiver(post_save)
@receiver(post_delete)
def _config_saved(sender, instance, **kwargs) -> None:
    if sender in CONFIG_MODELS:
        renew_config_token(instance.restaurant_id)


@receiver(m2m_changed, sender=TableCombination.tables.through)
@receiver(m2m_changed, sender=HoldBackRule.tables.through)
def _config_tables_changed(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_") and isinstance(instance, (TableCombination, HoldBackRule)):
        renew_config_token(instance.restaurant_id)


# Sent after the commit of a cancellation, a no-show or a party leaving: `restaurant_id`, `day` (the service
# day), `reservation_id`, the stretch `freed_from`–`freed_until` its tables are free again, and `released_at`.
# The recovery app offers them to guests it turned away; the book itself needs no listener.
tables_released = Signal()


# A new password ends every API token of the user, wherever it was changed: the admin, the password-change form,
# `set_password` + `save` in code, seed_demo's reset. (Sessions end by themselves: Django checks the password's
# hash on each request.)
@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def _note_password_change(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        instance._cxhost_password_changed = False
        return
    before = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._cxhost_password_changed = before is not None and before != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _revoke_tokens_on_password_change(sender, instance, **kwargs) -> None:
    if getattr(instance, "_cxhost_password_changed", False):
        from .services.auth import tokens_revoke_all

        tokens_revoke_all(user=instance)
        instance._cxhost_password_changed = False
