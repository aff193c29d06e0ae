"""A booking's notes, the one thing about it the back office edits by hand."""

from __future__ import annotations

from django.db import transaction

from ..errors import InvalidInput
from ..models import Reservation

MAX_NOTES = 2000  # as the API and the desk take them


def reservation_notes_set(*, reservation: Reservation, notes: str, by=None) -> Reservation:
    """Replace a booking's notes, and nothing else: its time, tables and status belong to the book's services,
    so a form that carries them (the admin's change page) cannot write them back."""
    if len(notes) > MAX_NOTES:
        raise InvalidInput({"notes": [f"At most {MAX_NOTES} characters."]})
    with transaction.atomic():
        current = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if current.notes == notes:
            return current
        current.notes = notes
        if by is not None and by.is_authenticated:
            current._history_user = by
        current.save(update_fields=["notes", "updated_at"])
    return current
