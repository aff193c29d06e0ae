"""Hostile input the schema-driven fuzzer does not generate (NUL and control characters in headers and webhook
fields), found by probing: each answer is a 4xx JSON (or the webhook's normal answer), on SQLite and on
PostgreSQL alike, and nothing is stored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from reservations.models import IdempotencyKey, Reservation
from tests.conftest import at

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["\x00", "key\x00", "tab\there", "bell\x07"])
def test_an_idempotency_key_with_control_characters_is_bad_input(manager_api, samna, tuesday, key):
    response = manager_api.post(
        "/api/v1/restaurants/samna/reservations/",
        {"start": at(tuesday, "19:00"), "party_size": 2, "channel": "phone",
         "guest": {"name": "Olena K.", "phone": "+380671234567"}},
        format="json", HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400, response.content  # PostgreSQL cannot store a NUL: it was a 500 there
    assert response.json()["code"] == "validation_error"
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Reservation.objects.exists() and not IdempotencyKey.objects.exists()


# PostgreSQL refuses a NUL in text where SQLite stores it: these were 500s on PostgreSQL only.
@pytest.mark.parametrize("header", ["Token \x00", "Token key\x00"])
def test_a_token_with_a_nul_is_refused_not_a_server_error(samna, header):
    response = APIClient().get("/api/v1/restaurants/samna/waitlist/", HTTP_AUTHORIZATION=header)

    assert response.status_code in (400, 401), response.content
    assert response["Content-Type"].startswith("application/json") and response.json()["code"]


def test_a_signed_text_with_a_nul_in_a_field_is_refused_not_a_server_error(samna, settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    fields = {"From": "+380671234567", "Body": "YES", "MessageSid": "SM\x00"}
    signature = RequestValidator("twilio-token").compute_signature(settings.PUBLIC_BASE_URL + "/sms/inbound/", fields)

    response = APIClient().post("/sms/inbound/", fields, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code < 500, response.content
    assert response.status_code == 200 or response.json()["code"] == "bad_request"
