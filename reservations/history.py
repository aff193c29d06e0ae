"""Reading the audit history (django-simple-history's rows): who changed what, when, and from where.

The read side of `reservations.audit`: the API's reservation history and a guest's export both list a row's
history through `history_entries`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Model, QuerySet
from django.forms.models import model_to_dict

CHANGES = {"+": "created", "~": "changed", "-": "deleted"}
# Recorded but no news: `updated_at` moves with every save.
UNSHOWN = frozenset({"updated_at"})
# Fields the historical rows add beside the model's own that say something about the row (see models.AuditRecord).
EXTRA = ("tables",)


def plain(value: Any, tz=None) -> Any:
    """A value as JSON carries it: times in ISO 8601 (in `tz` when given), money and phones as text."""
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v, tz) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, tz) for k, v in value.items()}
    if isinstance(value, Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # a PhoneNumber


def _fields(record) -> list[str]:
    names = {f.name for f in record.tracked_fields if f.editable} | {f.name for f in record._history_m2m_fields}
    extra = [name for name in EXTRA if hasattr(record, name)]
    return sorted((names - UNSHOWN) | set(extra))


def _values(record, names: list[str]) -> dict[str, Any]:
    values = model_to_dict(record, fields=names)
    for name in EXTRA:
        if name in names:
            values[name] = getattr(record, name)
    m2m = {f.name for f in record._history_m2m_fields}
    for name in m2m & set(names):
        # The tables a rule held at the time: their ids, in order.
        values[name] = sorted(row.table_id for row in getattr(record, name).all()) if name == "tables" else [
            str(row) for row in getattr(record, name).all()]
    return values


def history_entries(records: QuerySet, tz=None) -> list[dict[str, Any]]:
    """Each history row, oldest first: `{"at", "by", "source", "change", "fields": {name: {"from", "to"}}}`.

    A created row lists the values it began with (empty ones left out); a changed or deleted row, what differs
    from the row before.
    """
    entries = []
    before: dict[str, Any] | None = None
    for record in records.select_related("history_user").order_by("history_date", "history_id"):
        names = _fields(record)
        now = _values(record, names)
        change = CHANGES[record.history_type]
        if before is None or change == "created":
            fields = {name: {"from": None, "to": plain(value, tz)} for name, value in now.items()
                      if value not in (None, "", [], {})}
        else:
            fields = {name: {"from": plain(before.get(name), tz), "to": plain(value, tz)}
                      for name, value in now.items() if before.get(name) != value}
        entries.append({
            "at": plain(record.history_date, tz),
            "by": record.history_user.get_username() if record.history_user is not None else None,
            "source": record.source,
            "change": change,
            "fields": fields,
        })
        before = now
    return entries


def reservation_history(reservation) -> list[dict[str, Any]]:
    """A booking's record, times in its restaurant's zone."""
    from .models import Reservation

    return history_entries(Reservation.history.filter(id=reservation.pk), reservation.restaurant.tz)
