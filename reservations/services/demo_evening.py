"""A busy evening on the demo restaurant, booked through the front door: for benchmarks and demonstrations."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from phonenumber_field.phonenumber import to_python

from .. import engine, selectors
from ..errors import BookError
from ..models import Reservation, Restaurant
from .booking import reservation_create
from .guests import GuestDetails

NAMES = ["Olena", "Taras", "Iryna", "Andriy", "Sofia", "Maksym", "Daria", "Bohdan", "Kateryna", "Yurii",
         "Oksana", "Dmytro", "Natalia", "Serhii", "Yulia", "Roman"]
SIZES = [2, 4, 2, 3, 2, 6, 2, 4, 1, 5]
WISHES = [[], ["window_seat"], [], ["kids_menu"], [], ["celebration"], []]


def demo_evening_book(*, restaurant: Restaurant, day: date, parties: int, by=None,
                      now: datetime | None = None) -> list[Reservation]:
    """Book up to `parties` parties across the day's slots, each through `reservation_create` (so every
    rule holds: a party that does not fit is simply not booked). Returns the bookings made."""
    now = now or timezone.now()
    plan = engine.plan_day(selectors.restaurant_config(restaurant), day, ())
    slots = [s for s in plan.grid if s > now]
    made: list[Reservation] = []
    attempt = 0
    while len(made) < parties and attempt < parties * 4 and slots:
        i = attempt
        attempt += 1
        start = slots[(i * 7) % len(slots)]
        phone = to_python(f"+38067{5000000 + i:07d}")
        try:
            made.append(reservation_create(
                restaurant=restaurant, start=start, party_size=SIZES[i % len(SIZES)], channel="phone",
                guest=GuestDetails(name=f"{NAMES[i % len(NAMES)]} {chr(65 + i % 26)}.", phone=phone), by=by,
                expectations=WISHES[i % len(WISHES)], now=now,
            ))
        except BookError:
            continue
    return made
