"""The contract's demo restaurant, Samna, and its three users."""

from __future__ import annotations

from datetime import time

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..models import (
    Area,
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    Restaurant,
    ServiceHours,
    Table,
    TableCombination,
    TurnTime,
)
from ..roles import HOST, MANAGER

DEMO_SLUG = "samna"
TABLES = [  # name, area, min, max
    ("T1", "hall", 1, 2), ("T2", "hall", 1, 2), ("T3", "hall", 1, 2), ("T4", "hall", 1, 2),
    ("T5", "hall", 2, 4), ("T6", "hall", 2, 4), ("T7", "hall", 2, 4), ("T8", "hall", 2, 4),
    ("T9", "hall", 4, 6), ("T10", "hall", 4, 6),
    ("T11", "terrace", 1, 2), ("T12", "terrace", 1, 2),
]
COMBINATIONS = [(("T11", "T12"), 3, 4), (("T9", "T10"), 7, 10)]
TURN_TIMES = [(1, 2, 90), (3, 4, 120), (5, 6, 150), (7, 10, 180)]
# What a manager configures in the admin; hosts work through the desk and the API.
MANAGER_MODELS = ["restaurant", "area", "table", "tablecombination", "servicehours", "closure", "turntime",
                  "holdbackrule", "overbookingpolicy", "reservation", "refusal", "guest", "waitlistentry"]


@transaction.atomic
def demo_restaurant_reset() -> Restaurant:
    """Create Samna exactly as the contract describes it, wiping any earlier copy and its bookings."""
    old = Restaurant.objects.filter(slug=DEMO_SLUG).first()
    if old is not None:
        Reservation.objects.filter(restaurant=old).delete()
        old.delete()
    samna = Restaurant.objects.create(slug=DEMO_SLUG, name="Samna", time_zone="Europe/Kyiv", slot_minutes=15,
                                      booking_horizon_days=180)
    areas = {name: Area.objects.create(restaurant=samna, name=name) for name in ("hall", "terrace")}
    tables = {
        name: Table.objects.create(restaurant=samna, area=areas[area], name=name, min_covers=low, max_covers=high)
        for name, area, low, high in TABLES
    }
    for names, low, high in COMBINATIONS:
        combination = TableCombination.objects.create(restaurant=samna, min_covers=low, max_covers=high)
        combination.tables.set([tables[n] for n in names])
    ServiceHours.objects.bulk_create(
        ServiceHours(restaurant=samna, weekday=day, name="all day", opens=time(12), last_seating=time(22),
                     closes=time(23))
        for day in range(7)
    )
    TurnTime.objects.bulk_create(
        TurnTime(restaurant=samna, min_party=low, max_party=high, minutes=minutes) for low, high, minutes in TURN_TIMES
    )
    hold = HoldBackRule.objects.create(restaurant=samna, name="Walk-ins at peak", weekdays=[4, 5], starts=time(19),
                                       ends=time(22), release_minutes_before=60)
    hold.tables.set([tables["T3"], tables["T4"]])
    OverbookingPolicy.objects.create(restaurant=samna, max_overbooked_covers=4, max_party_size=4,
                                     channels=["phone", "host"])
    samna.refresh_from_db()
    return samna


@transaction.atomic
def demo_users_reset(*, password: str) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    host_group, _ = Group.objects.get_or_create(name=HOST)
    manager_group, _ = Group.objects.get_or_create(name=MANAGER)
    manager_group.permissions.set(
        Permission.objects.filter(content_type__app_label="reservations", content_type__model__in=MANAGER_MODELS)
    )
    for username, group, superuser in (("host", host_group, False), ("manager", manager_group, False),
                                       ("admin", None, True)):
        user, _ = User.objects.get_or_create(username=username)
        user.is_superuser = superuser
        user.is_staff = username != "host"  # the admin site is the manager's and the admin's
        user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.set([group] if group else [])
        Token.objects.filter(user=user).delete()  # a reset invalidates old tokens
