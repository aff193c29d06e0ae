"""A Redis that refuses connections (nothing listens): each booking still succeeds and writes one log line,
not a traceback. Before, the rate limit's counter, the restaurant's shared set-up and the preparation task each
logged a traceback, some 60 lines a booking.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest

from reservations.models import OutboundMessage
from tests.conftest import at

from .conftest import publishing_to

pytestmark = pytest.mark.django_db(transaction=True)

BOOKINGS = 3


def refused_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


@pytest.mark.parametrize("retry_after", [0.0, 5.0], ids=["every-call-tries", "skipped-after-a-failure"])
def test_a_refused_redis_logs_one_line_per_booking(samna, tuesday, anon_api, settings, caplog, retry_after):
    url = refused_redis_url()
    settings.REDIS_URL = url
    settings.REDIS_RETRY_AFTER_SECONDS = retry_after
    settings.CACHES = {"default": {"BACKEND": "cxhost.redis_guard.GuardedRedisCache", "LOCATION": url,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    caplog.set_level(logging.WARNING)
    made = []
    with publishing_to(url):
        for n in range(BOOKINGS):
            caplog.clear()
            response = anon_api.post("/api/v1/restaurants/samna/reservations/", {
                "start": at(tuesday + timedelta(days=n), "19:00"), "party_size": 2, "channel": "online",
                "guest": {"name": f"Guest {n}", "phone": f"+3806710000{n:02d}"},
            }, format="json")
            assert response.status_code == 201, response.content
            made.append(response.json()["id"])
            lines = [record.getMessage() for record in caplog.records]
            assert len(lines) == 1 and not caplog.records[0].exc_info, caplog.text
            assert "left pending for beat" in lines[0] and "\n" not in lines[0], lines
            assert "Traceback" not in caplog.text

    # Nothing lost: every confirmation waits for beat.
    pending = OutboundMessage.objects.filter(reservation_id__in=made, kind="confirmation", status="pending")
    assert pending.count() == BOOKINGS
