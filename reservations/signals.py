"""Renew a restaurant's `config_token` whenever its set-up changes, so cached day plans expire."""

import uuid

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

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
