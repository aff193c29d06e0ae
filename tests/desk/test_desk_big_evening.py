"""The desk at a 200-table restaurant: a full evening costs the same queries as a quiet one (issue 9).

`big` is built by the same bulk load as the benchmarks (`seed_load`), smaller: 50 and then 300 bookings on
tomorrow's evening, with two days of completed visits: four guests in five are regulars, one comes first.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.models import Guest, Reservation, StaffMembership
from reservations.selectors import local_day_range
from reservations.services.load import big_restaurant_reset
from tests.conftest import DEMO_PASSWORD

from .conftest import desk_client

pytestmark = pytest.mark.django_db

# The page and the polled board, each view: what a host's screen costs, whatever the evening holds.
MAX_QUERIES = 16


def _big_with(per_day: int):
    """`big` rebuilt with `per_day` bookings tomorrow, and a host of it, logged in."""
    summary = big_restaurant_reset(days=2, per_day=per_day, history_days=2)
    big = summary.restaurant
    user, created = get_user_model().objects.get_or_create(username="big-host")
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    StaffMembership.objects.get_or_create(user=user, restaurant=big, defaults={"role": StaffMembership.Role.HOST})
    tomorrow = timezone.localdate(timezone=big.tz) + timedelta(days=1)
    # The load's guests all came in its two days of history: one booking in five goes to a guest never seen.
    evening = Reservation.objects.filter(restaurant=big, start__range=local_day_range(big, tomorrow)).order_by("id")
    for n, reservation in enumerate(evening[::5]):
        reservation.guest = Guest.objects.create(group=big.group, name=f"New {n}", phone=f"+38050{per_day:03d}{n:04d}")
        reservation.save(update_fields=["guest"])
    return big, tomorrow, desk_client(user)


def _screens(client, day) -> dict[str, tuple[int, str]]:
    """Each screen's (query count, page) for that day's only service."""
    seen = {}
    for view in ("timeline", "list"):
        for part in ("", "board/"):
            url = f"/desk/big/{part}?date={day}&view={view}&service=0"
            client.get(url)  # the set-up cache warm, as on a desk polled every few seconds
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, url
            seen[f"{view} {part or 'page'}"] = (len(queries), response.content.decode())
    return seen


def test_a_full_evening_at_a_200_table_restaurant_costs_the_same_queries_as_a_quiet_one():
    counts = {}
    for per_day in (50, 300):
        big, tomorrow, client = _big_with(per_day)
        screens = _screens(client, tomorrow)
        # Every booking of the evening is on the host's list, each with its guest: nothing was left out to save
        # a query.
        listed = re.findall(r'<tr data-testid="booking-(\d+)"', screens["list page"][1])
        booked = Reservation.objects.filter(restaurant=big, start__range=local_day_range(big, tomorrow))
        assert len(listed) == per_day == booked.count()
        # Regulars and first-timers both sit this evening, so the first-visit badge is really looked up.
        assert screens["list page"][1].count('data-badge="first_visit"') == per_day // 5
        counts[per_day] = {name: n for name, (n, _) in screens.items()}
    assert counts[300] == counts[50]
    assert max(counts[300].values()) <= MAX_QUERIES, counts[300]
