"""The contract's demo restaurants: Samna with its three users, The Steakhouse next door with its own two, and
`duo`, who manages The Steakhouse and hosts at Samna."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction

from ..models import (
    Area,
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    Restaurant,
    RestaurantGroup,
    ServiceHours,
    StaffMembership,
    Table,
    TableCombination,
    TurnTime,
)
from ..roles import HOST, MANAGER

DEMO_SLUG = "samna"
STEAKHOUSE_SLUG = "steakhouse"
TABLES = [  # name, area, min, max
    ("T1", "hall", 1, 2), ("T2", "hall", 1, 2), ("T3", "hall", 1, 2), ("T4", "hall", 1, 2),
    ("T5", "hall", 2, 4), ("T6", "hall", 2, 4), ("T7", "hall", 2, 4), ("T8", "hall", 2, 4),
    ("T9", "hall", 4, 6), ("T10", "hall", 4, 6),
    ("T11", "terrace", 1, 2), ("T12", "terrace", 1, 2),
]
COMBINATIONS = [(("T11", "T12"), 3, 4), (("T9", "T10"), 7, 10)]
TURN_TIMES = [(1, 2, 90), (3, 4, 120), (5, 6, 150), (7, 10, 180)]


def _fresh_restaurant(*, slug: str, name: str, language: str = "uk") -> Restaurant:
    """A new, empty restaurant in a group of its own, replacing any earlier copy and its bookings.

    The group, and the guests it knows, outlive the reset: they are the chain's, not the book's.
    """
    old = Restaurant.objects.filter(slug=slug).first()
    if old is not None:
        Reservation.objects.filter(restaurant=old).delete()
        old.delete()
    group, _ = RestaurantGroup.objects.get_or_create(name=name)
    return Restaurant.objects.create(group=group, slug=slug, name=name, time_zone="Europe/Kyiv", slot_minutes=15,
                                     booking_horizon_days=180, language=language)


@transaction.atomic
def demo_restaurant_reset() -> Restaurant:
    """Create Samna exactly as the contract describes it, wiping any earlier copy and its bookings."""
    samna = _fresh_restaurant(slug=DEMO_SLUG, name="Samna")
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
def steakhouse_reset() -> Restaurant:
    """The Steakhouse: a second restaurant in a group of its own, with a service past midnight."""
    steakhouse = _fresh_restaurant(slug=STEAKHOUSE_SLUG, name="The Steakhouse", language="en")
    hall = Area.objects.create(restaurant=steakhouse, name="hall")
    Table.objects.bulk_create(
        Table(restaurant=steakhouse, area=hall, name=f"S{n}", min_covers=2, max_covers=4) for n in range(1, 7)
    )
    ServiceHours.objects.bulk_create(
        ServiceHours(restaurant=steakhouse, weekday=day, name="dinner", opens=time(18), last_seating=time(23, 30),
                     closes=time(1))
        for day in range(7)
    )
    TurnTime.objects.bulk_create(
        TurnTime(restaurant=steakhouse, min_party=low, max_party=high, minutes=minutes)
        for low, high, minutes in TURN_TIMES
    )
    OverbookingPolicy.objects.create(restaurant=steakhouse, max_overbooked_covers=6, max_party_size=4,
                                     channels=["phone"])
    steakhouse.refresh_from_db()
    return steakhouse


# username: {restaurant slug: role}; an empty dict is the superuser, an admin of every restaurant.
DEMO_USERS: dict[str, dict[str, str]] = {
    "host": {DEMO_SLUG: HOST},
    "manager": {DEMO_SLUG: MANAGER},
    "admin": {},
    "steak-host": {STEAKHOUSE_SLUG: HOST},
    "steak-manager": {STEAKHOUSE_SLUG: MANAGER},
    "duo": {STEAKHOUSE_SLUG: MANAGER, DEMO_SLUG: HOST},  # a role is the membership's, not the person's
}


@transaction.atomic
def demo_users_reset(*, password: str) -> None:
    """The demo's staff, each a member of their own restaurants only, in their role there (the admin reaches
    every one)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    restaurants = {r.slug: r for r in Restaurant.objects.filter(slug__in=[DEMO_SLUG, STEAKHOUSE_SLUG])}
    for username, roles in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.is_superuser = not roles
        user.is_staff = not roles or MANAGER in roles.values()  # the admin site's door: managers' and the admin's
        user.is_active = True
        user.set_password(password)
        user.save()  # a new password ends the user's old API tokens (reservations.signals)
        user.groups.clear()  # roles are memberships' (migration 0023): a Django group grants nothing here
        StaffMembership.objects.filter(user=user).delete()
        StaffMembership.objects.bulk_create(
            StaffMembership(user=user, restaurant=restaurants[slug], role=role)
            for slug, role in roles.items() if slug in restaurants
        )


# --- a book to look at: `seed_demo` fills tonight and the coming Saturday ----------------------------------------

# (time, party, guest, phone, expectations): the book as the phone brought it in during the day.
EVENING = [
    ("18:00", 2, "Hanna Lysenko", "+380671000001", []),
    ("18:00", 4, "Petro Marchenko", "+380671000002", ["kids menu"]),
    ("19:00", 6, "Bondarenko family", "+380671000003", ["celebration"]),
    ("19:00", 2, "Iryna Savchenko", "+380671000004", ["window seat"]),
    ("19:30", 4, "Dmytro Rudenko", "+380671000005", []),
    ("19:30", 2, "Oksana Moroz", "+380671000006", []),
    ("20:00", 2, "Olena Kovalenko", "+380671000007", []),
    ("20:00", 3, "Andrii Shevchuk", "+380671000008", ["quiet table"]),
    ("20:00", 5, "Sofia Kravets", "+380671000009", ["celebration"]),
    ("20:30", 2, "Maria Tkachuk", "+380671000010", []),
    ("21:00", 4, "Yurii Hnatiuk", "+380671000011", []),
]
# Saturday at 20:00 is taken to the last seat: every table for two that is not held back, then the
# overbooking allowance. The last caller is turned away and kept as a refusal with their phone.
SATURDAY_FULL_AT = "20:00"
SATURDAY_CALLERS = [
    ("Taras Polishchuk", "+380671000021"), ("Kateryna Melnyk", "+380671000022"),
    ("Serhii Boiko", "+380671000023"), ("Natalia Koval", "+380671000024"),
    ("Roman Savchuk", "+380671000025"), ("Liudmyla Ponomarenko", "+380671000026"),
    ("Bohdan Tkachenko", "+380671000027"), ("Viktoria Kuzmenko", "+380671000028"),
    ("Vasyl Hrytsenko", "+380671000029"), ("Alina Klymenko", "+380671000030"),
    ("Maksym Oliinyk", "+380671000031"), ("Yana Pavlenko", "+380671000032"),
]


def _local(restaurant: Restaurant, day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=restaurant.tz)


def demo_book_seed(restaurant: Restaurant, *, day: date, full: bool = False) -> list[Reservation]:
    """Book the demo's evening on `day`, as the phone brought it in by noon (that morning's bookings are
    confirmed). `full` also takes Saturday's 20:00 to the last seat, so asking for two then is refused."""
    from .booking import reservation_create, reservation_transition
    from .guests import GuestDetails

    noon = _local(restaurant, day, "12:00")
    made = []
    for hhmm, party_size, name, phone, expectations in EVENING:
        made.append(reservation_create(restaurant=restaurant, start=_local(restaurant, day, hhmm),
                                       party_size=party_size, channel=Reservation.Channel.PHONE,
                                       guest=GuestDetails(name=name, phone=phone), expectations=expectations,
                                       now=noon))
    for reservation in made[:4]:
        reservation_transition(reservation=reservation, action="confirm", now=noon)
    if full:
        made += _book_until_refused(restaurant, _local(restaurant, day, SATURDAY_FULL_AT), now=noon)
    return made


def _book_until_refused(restaurant: Restaurant, start: datetime, *, now: datetime) -> list[Reservation]:
    from ..errors import NoTables
    from .booking import reservation_create
    from .guests import GuestDetails

    made = []
    for name, phone in SATURDAY_CALLERS:
        try:
            made.append(reservation_create(restaurant=restaurant, start=start, party_size=2,
                                           channel=Reservation.Channel.PHONE,
                                           guest=GuestDetails(name=name, phone=phone), now=now))
        except NoTables:
            return made
    raise RuntimeError(f"The demo's {start:%H:%M} never filled up: the demo restaurant has changed")


def coming_saturday(today: date) -> date:
    return today + timedelta(days=(5 - today.weekday()) % 7)
