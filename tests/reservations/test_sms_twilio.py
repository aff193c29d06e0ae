"""The Twilio backend through the official SDK, against a local fake of Twilio's Messages endpoint.

Twilio itself is never called: `TWILIO_API_BASE_URL` points the SDK's own HTTP client at a server on
127.0.0.1 that answers as Twilio documents and records what it was sent.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.conf import settings

from reservations.models import OutboundMessage
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from reservations.services.messaging import RetryLater, sms_send
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db(transaction=True)

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "fake-auth-token"
FROM = "+15005550006"
PHONE = "+380671234567"


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = (201, {"sid": "SM" + "f" * 32, "status": "queued"})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                      "form": {k: v[0] for k, v in parse_qs(body).items()}})
                status, payload = fake.answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, FROM
    settings.TWILIO_API_BASE_URL = fake.url
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def queued(samna, tuesday, settings):
    """A booking whose confirmation waits in the outbox (its task unread), to be sent by the test."""
    from cxhost.celery import app

    app.conf.task_always_eager = False
    try:
        reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2,
                                         channel="phone", guest=GuestDetails(name="Olena", phone=PHONE))
    finally:
        app.conf.task_always_eager = True
    return OutboundMessage.objects.get(reservation=reservation)


def test_the_sdk_posts_the_message_to_twilios_messages_endpoint(twilio, queued):
    assert sms_send(message_id=queued.pk) == "sent"

    [request] = twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    # Twilio is asked to report delivery to our signed status callback.
    assert request["form"] == {"To": PHONE, "From": FROM, "Body": queued.body,
                               "StatusCallback": settings.PUBLIC_BASE_URL + "/sms/status/"}
    queued.refresh_from_db()
    assert (queued.status, queued.provider_id) == ("sent", "SM" + "f" * 32)


def test_a_twilio_outage_is_retried(twilio, queued):
    twilio.answer = (503, {"code": 20503, "message": "Service unavailable", "status": 503})

    with pytest.raises(RetryLater):
        sms_send(message_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == "pending" and "503" in queued.last_error

    twilio.answer = (201, {"sid": "SM" + "a" * 32, "status": "queued"})
    assert sms_send(message_id=queued.pk) == "sent"
    assert len(twilio.requests) == 2


def test_a_number_twilio_refuses_fails_at_once_for_staff(twilio, queued):
    twilio.answer = (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                           "status": 400})

    assert sms_send(message_id=queued.pk) == "failed"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("failed", 1) and "21211" in queued.last_error
