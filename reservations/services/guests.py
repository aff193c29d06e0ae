"""Guests: one profile per phone number, with what they expect of us."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from phonenumber_field.phonenumber import PhoneNumber

from ..models import Guest


@dataclass(frozen=True)
class GuestDetails:
    name: str = ""
    phone: PhoneNumber | None = None


def merge_unique(existing: Iterable[str], new: Iterable[str]) -> list[str]:
    merged = list(existing)
    for item in new:
        if item not in merged:
            merged.append(item)
    return merged


def guest_resolve(*, details: GuestDetails | None, expectations: Iterable[str] = ()) -> Guest | None:
    """The guest for these details: the profile with this phone, a new one, or none at all.

    An existing profile keeps its name (the host may have corrected it) unless
    it had none; the booking's expectations are added to what we know of them.
    """
    if details is None or (not details.name and not details.phone):
        return None
    expectations = list(expectations)
    if details.phone:
        with transaction.atomic():
            guest, created = Guest.objects.get_or_create(
                phone=details.phone, defaults={"name": details.name, "expectations": expectations}
            )
        if not created:
            changed = []
            if details.name and not guest.name:
                guest.name = details.name
                changed.append("name")
            merged = merge_unique(guest.expectations, expectations)
            if merged != guest.expectations:
                guest.expectations = merged
                changed.append("expectations")
            if changed:
                guest.save(update_fields=changed)
        return guest
    return Guest.objects.create(name=details.name, expectations=expectations)


def guest_update(*, guest: Guest, **changes) -> Guest:
    fields = [name for name in ("name", "tags", "expectations", "notes", "sms_opt_out") if name in changes]
    for name in fields:
        setattr(guest, name, changes[name])
    if fields:
        guest.save(update_fields=fields)
    return guest
