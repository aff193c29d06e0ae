"""The public and guest-page limits count a logged-in caller by user, an anonymous one by address: before, a
token (or a desk session) exempted the caller altogether, and a Steakhouse host made 8 online bookings at Samna
against a limit of 5."""

from __future__ import annotations

import pytest
from django.test import Client

from reservations.api import throttling, views
from reservations.models import Reservation
from tests.conftest import _client_for, at, log_in

pytestmark = pytest.mark.django_db

RESERVATIONS = "/api/v1/restaurants/samna/reservations/"


def online_booking(day, n: int) -> dict:
    return {"start": at(day, "19:00"), "party_size": 2, "channel": "online",
            "guest": {"name": f"Guest {n}", "phone": f"+38067555{n:04d}"}}


def test_a_hosts_online_bookings_at_another_restaurant_count_against_the_limit(staff, saturday, monkeypatch):
    monkeypatch.setattr(views.PublicThrottle, "THROTTLE_RATES", {"public": "5/min"})
    steak_host = _client_for(staff["steak-host"])

    # From a new address each time: the user is counted, not where they send from.
    statuses = [steak_host.post(RESERVATIONS, online_booking(saturday, n), format="json",
                                REMOTE_ADDR=f"10.8.0.{n}").status_code for n in range(8)]

    assert statuses[5:] == [429] * 3, statuses
    assert 429 not in statuses[:5]
    assert Reservation.objects.count() == sum(1 for s in statuses if s == 201)
    # The user's count is theirs: an anonymous guest at one of those addresses still books.
    guest = Client().post(RESERVATIONS, online_booking(saturday, 99), content_type="application/json",
                          REMOTE_ADDR="10.8.0.1")
    assert guest.status_code != 429


def test_the_guest_page_limit_counts_a_logged_in_user_too(staff, monkeypatch):
    monkeypatch.setattr(throttling.GuestPageThrottle, "THROTTLE_RATES", {"guest_page": "3/min"})
    desk = Client()
    log_in(desk, "steak-host")

    answers = [desk.get(f"/b/not-a-token-{i}/", REMOTE_ADDR=f"10.9.0.{i}").status_code for i in range(4)]

    assert answers == [404, 404, 404, 429]
