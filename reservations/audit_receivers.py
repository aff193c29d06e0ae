"""Filling in what simple-history cannot know by itself: a booking's tables, and that a Celery task is acting."""

from __future__ import annotations

from celery.signals import task_postrun, task_prerun
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from . import audit
from .models import Reservation, ReservationTable


@receiver(pre_create_historical_record, sender=Reservation.history.model)
def _note_tables(sender, instance, history_instance, **kwargs) -> None:
    # The booking services name the tables they have just chosen (`_audit_tables`), so a booking under the day
    # lock adds no query for them; any other save reads them.
    names = getattr(instance, "_audit_tables", None)
    if names is None:
        names = ReservationTable.objects.filter(reservation_id=instance.pk).order_by("table_id").values_list(
            "table__name", flat=True)
    history_instance.tables = "+".join(names)


_task_tokens: dict[str, object] = {}


@task_prerun.connect
def _task_starts(task_id=None, **kwargs) -> None:
    _task_tokens[task_id] = audit.set_source(audit.TASK)


@task_postrun.connect
def _task_ends(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            audit.reset_source(token)
        except ValueError:  # set in another context (a worker pool's thread): nothing of ours to restore
            pass
