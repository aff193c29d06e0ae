"""factory_boy factories for data beyond the demo restaurant.

Configuration rows (restaurants, tables, hours) are plain rows and safe to
make here. Bookings are not: they come to exist only through
`reservation_create`, so there is deliberately no reservation factory.
"""

from __future__ import annotations

from datetime import time

import factory
from phonenumber_field.phonenumber import PhoneNumber

from reservations.models import Area, Guest, Restaurant, RestaurantGroup, ServiceHours, Table, TurnTime


class RestaurantGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RestaurantGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class RestaurantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restaurant
        django_get_or_create = ("slug",)

    group = factory.SubFactory(RestaurantGroupFactory)
    slug = factory.Sequence(lambda n: f"bistro-{n}")
    name = factory.Sequence(lambda n: f"Bistro {n}")
    time_zone = "Europe/Kyiv"
    slot_minutes = 15
    booking_horizon_days = 180


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"room {n}")


class TableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Table

    restaurant = factory.SubFactory(RestaurantFactory)
    area = None
    name = factory.Sequence(lambda n: f"X{n}")
    min_covers = 1
    max_covers = 2
    is_active = True


class ServiceHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceHours

    restaurant = factory.SubFactory(RestaurantFactory)
    weekday = 0
    name = "dinner"
    opens = time(12)
    last_seating = time(22)
    closes = time(23)


class TurnTimeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TurnTime

    restaurant = factory.SubFactory(RestaurantFactory)
    min_party = 1
    max_party = 10
    minutes = 90


class GuestFactory(factory.django.DjangoModelFactory):
    """A guest with a valid, unique Ukrainian mobile number (E.164), of the given restaurant group."""

    class Meta:
        model = Guest

    group = factory.SubFactory(RestaurantGroupFactory)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: PhoneNumber.from_string(f"+38067{5000000 + n:07d}"))
    tags = factory.LazyFunction(list)
    expectations = factory.LazyFunction(list)
    notes = ""
    sms_opt_out = False


def small_restaurant(*, tables: int = 2, max_covers: int = 2, turn_minutes: int = 90, **kwargs) -> Restaurant:
    """A restaurant open every day 12:00–22:00 (closing 23:00) with `tables` tables of 1–`max_covers`."""
    restaurant = RestaurantFactory(**kwargs)
    for weekday in range(7):
        ServiceHoursFactory(restaurant=restaurant, weekday=weekday)
    TurnTimeFactory(restaurant=restaurant, minutes=turn_minutes)
    for i in range(1, tables + 1):
        TableFactory(restaurant=restaurant, name=f"S{i}", max_covers=max_covers)
    restaurant.refresh_from_db()  # pick up the config_token the signals renewed
    return restaurant
