"""How much of a guest's words any input may carry, and a profile keep: the API, the desk, the admin and the
models read their limits here. Every list the book stores is bounded, so nothing done with one under the day
lock can grow with what a caller sends."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

MAX_EXPECTATIONS = 20  # a booking's, and a profile's (it keeps the latest)
MAX_EXPECTATION_LENGTH = 80
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_PHONE_LENGTH = 40  # as typed, spaces and all: the longest real number is 15 digits


@deconstructible
class Words:
    """A list of at most `items` strings of at most `length` characters each (a JSON field's value)."""

    def __init__(self, items: int, length: int) -> None:
        self.items, self.length = items, length

    def __call__(self, value) -> None:
        if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
            raise ValidationError(_("Send a list of words."), code="invalid")
        if len(value) > self.items:
            raise ValidationError(_("At most %(items)d, please."), code="max_items", params={"items": self.items})
        if any(len(word) > self.length for word in value):
            raise ValidationError(_("Each at most %(length)d characters, please."), code="max_length",
                                  params={"length": self.length})

    def __eq__(self, other) -> bool:
        return isinstance(other, Words) and (self.items, self.length) == (other.items, other.length)
