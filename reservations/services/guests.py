"""Guests: one profile per phone in a restaurant group, with what they expect of us."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from .. import selectors
from ..bounds import MAX_EXPECTATIONS
from ..errors import PhoneTaken
from ..models import Guest, Reservation, Restaurant, RestaurantGroup

# What people put in a phone number besides digits. Letters are refused: phonenumbers would read
# "1-800-FLOWERS" as digits, and a host who typed a name into the phone box made a mistake.
PHONE_CHARACTERS = re.compile(r"[+\d\s().\-/]+")


@dataclass(frozen=True)
class GuestDetails:
    name: str = ""
    phone: PhoneNumber | None = None
    # The guest proved this phone (a code texted to it, on the guest booking page). Only an online booking needs
    # it: staff booking by phone or at the desk heard the guest themselves (`phone_proven`).
    phone_verified: bool = False


def phone_proven(*, channel: str, details: GuestDetails | None) -> bool:
    """Whether a booking's phone is the guest's own: staff channels, or an online booking that proved it.

    Until then an online booking (anyone may type any number) stays apart from the group's proven profile,
    queues no gesture and is never offered a freed table.
    """
    return channel != Reservation.Channel.ONLINE or bool(details and details.phone_verified)


def phone_read(raw: str, restaurant: Restaurant | None) -> str:
    """A phone as a host or a guest types it, in E.164 ("+380671234567").

    A local number ("067 123 45 67") is read in the restaurant's country; one
    with a "+" (or the country's international prefix, "00 44 …") keeps its own.
    Without a restaurant only numbers with their country code are read.
    Anything that is not a real number of its country raises `ValidationError`
    (code "invalid_phone") saying what to type instead.
    """
    text = (raw or "").strip()
    number = None
    if PHONE_CHARACTERS.fullmatch(text) and sum(c.isdigit() for c in text) >= 3:
        try:
            number = phonenumbers.parse(text, restaurant.country if restaurant is not None else None)
        except phonenumbers.NumberParseException:
            number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(phone_unreadable_message(restaurant), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_unreadable_message(restaurant: Restaurant | None) -> str:
    example = restaurant and phonenumbers.example_number_for_type(restaurant.country,
                                                                  phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return _("Not a phone number: type it with its country code, as in +380 67 123 45 67.")
    return _("Not a phone number: type a local one as in %(local)s, or with its country code, as in "
             "%(international)s.") % {
        "local": phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    }


def merge_unique(existing: Iterable[str], new: Iterable[str], *, keep: int | None = None) -> list[str]:
    """`existing` then what `new` adds, each once, in order; with `keep`, only the last `keep` of them.

    Linear (a dict keeps the order and answers "seen?" at once): it runs under the day lock, where the old
    list scan was quadratic in what a caller sent.
    """
    merged = list(dict.fromkeys([*existing, *new]))
    return merged[-keep:] if keep is not None and len(merged) > keep else merged


def guest_resolve(
    *, group: RestaurantGroup, details: GuestDetails | None, expectations: Iterable[str] = (), learn: bool = True,
    proven: bool = True,
) -> Guest | None:
    """The group's guest for these details: the profile with this phone, a new one, or none at all.

    Without `proven` (a phone nobody proved) a record of its own, `phone_verified=False`, apart from any
    profile with this phone: it links to no history and changes nothing of the guest who owns the number.

    With `learn`, an existing profile keeps its name (the host may have
    corrected it) unless it had none, and the booking's expectations are added
    to what we know of them. Without it (an online booking: anyone may type
    any phone) a stored profile is linked but never changed.

    The profile row is locked while it is merged, so two bookings for one
    phone at once both keep what they add.
    """
    if details is None or (not details.name and not details.phone):
        return None
    expectations = list(expectations) if learn else []
    if details.phone and not proven:
        # Silent if the number said STOP, or staff marked its proven profile so: a stranger's booking must not
        # undo either.
        silent = (Guest.objects.filter(group=group, phone=details.phone, sms_opt_out=True).exists()
                  or selectors.number_opted_out(details.phone))
        return Guest.objects.create(group=group, name=details.name, phone=details.phone, phone_verified=False,
                                    sms_opt_out=silent)
    if not details.phone:
        return Guest.objects.create(group=group, name=details.name, expectations=expectations)
    # A transaction for the row lock, but no savepoint of its own: inside a booking's transaction (under the day
    # lock) any failure here fails the booking anyway, and every statement there keeps the evening waiting.
    with transaction.atomic(savepoint=False):
        guest, created = Guest.objects.select_for_update().get_or_create(
            group=group, phone=details.phone, phone_verified=True,
            # A number that texted STOP stays silent in a group it is new to (evaluated only on creation).
            defaults={"name": details.name, "expectations": expectations,
                      "sms_opt_out": lambda: selectors.number_opted_out(details.phone)},
        )
        if created or not learn:
            return guest
        changed = []
        if details.name and not guest.name:
            guest.name = details.name
            changed.append("name")
        # The profile keeps the latest MAX_EXPECTATIONS: bounded however many bookings add to it.
        merged = merge_unique(guest.expectations, expectations, keep=MAX_EXPECTATIONS)
        if merged != guest.expectations:
            guest.expectations = merged
            changed.append("expectations")
        if changed:
            guest.save(update_fields=changed)
    return guest


GUEST_FIELDS = ("name", "phone", "tags", "expectations", "notes", "sms_opt_out")


def guest_update(*, guest: Guest, **changes) -> Guest:
    """Staff correct a profile; a phone another guest of the group holds is refused (`PhoneTaken`)."""
    fields = [name for name in GUEST_FIELDS if name in changes]
    for name in fields:
        setattr(guest, name, changes[name])
    if fields:
        try:
            with transaction.atomic():
                guest.save(update_fields=fields)
        except IntegrityError as exc:
            raise PhoneTaken() from exc
    return guest
