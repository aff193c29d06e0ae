"""`seed_demo` books an evening to look at, and a Saturday so full that only an override gets a party of two in.

The README's walk-through rests on this: a refusal at 20:00 on the coming Saturday, then a manager's override.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from reservations.models import Refusal, Reservation, Restaurant
from reservations.services.demo import coming_saturday

pytestmark = pytest.mark.django_db
KYIV = ZoneInfo("Europe/Kyiv")
PASSWORD = "pw-demo-book-1"


def client_for(username: str) -> APIClient:
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return client


def seeded_on(moment: datetime) -> tuple[date, date]:
    with time_machine.travel(moment, tick=False):
        call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())
    return moment.date(), moment.date() + timedelta(days=(5 - moment.weekday()) % 7)


def local_bookings(day: date) -> list[tuple[str, int, str]]:
    samna = Restaurant.objects.get(slug="samna")
    return sorted(
        (r.start.astimezone(KYIV).strftime("%H:%M"), r.party_size, r.guest.name)
        for r in Reservation.objects.filter(restaurant=samna).select_related("guest")
        if r.start.astimezone(KYIV).date() == day
    )


def test_coming_saturday_is_today_on_a_saturday_else_the_next_one():
    assert coming_saturday(date(2026, 12, 2)) == date(2026, 12, 5)  # a Wednesday
    assert coming_saturday(date(2026, 12, 5)) == date(2026, 12, 5)
    assert coming_saturday(date(2026, 12, 6)) == date(2026, 12, 12)


def test_seed_demo_books_tonight_and_the_coming_saturday():
    tonight, saturday = seeded_on(datetime(2026, 12, 2, 9, 0, tzinfo=KYIV))

    assert saturday == date(2026, 12, 5)
    evening = local_bookings(tonight)
    assert ("20:00", 2, "Olena Kovalenko") in evening and ("19:00", 6, "Bondarenko family") in evening
    assert len(evening) == 11
    assert len(local_bookings(saturday)) > len(evening)  # Saturday's 20:00 taken to the last seat besides
    assert Refusal.objects.filter(guest_phone__isnull=False).exclude(guest_phone="").count() == 1


def test_seed_demo_with_empty_leaves_the_book_empty():
    with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=KYIV), tick=False):
        call_command("seed_demo", "--password", PASSWORD, "--empty", stdout=StringIO())
    assert not Reservation.objects.exists()


def test_the_readmes_saturday_refuses_two_at_eight_and_the_manager_overrides_onto_a_held_table():
    _, saturday = seeded_on(datetime(2026, 12, 2, 9, 0, tzinfo=KYIV))
    start = f"{saturday.isoformat()}T20:00"
    request = {"start": start, "party_size": 2, "channel": "phone",
               "guest": {"name": "Olena K.", "phone": "+380671234567"}}

    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=KYIV), tick=False):
        free = APIClient().get(f"/api/v1/restaurants/samna/availability/?date={saturday}&party_size=2")
        refused = client_for("host").post("/api/v1/restaurants/samna/reservations/", request, format="json")
        overridden = client_for("manager").post(
            "/api/v1/restaurants/samna/reservations/",
            {**request, "override": {"reason": "first visit, came with his partner"}}, format="json")

    assert free.status_code == 200
    eight = next(slot for slot in free.json()["slots"] if slot["time"] == "20:00")
    assert eight["available"] is False and "fully_booked" in eight["reasons"]
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "no_tables"
    assert {"fully_booked", "held_for_walk_ins"} <= set(refused.json()["reasons"])
    assert overridden.status_code == 201, overridden.json()
    body = overridden.json()
    assert body["override"]["reason"] == "first visit, came with his partner"
    assert body["tables"] in (["T3"], ["T4"])  # the tables held back for walk-ins
