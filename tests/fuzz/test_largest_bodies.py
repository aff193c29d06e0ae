"""The largest body of every operation: every list at its maxItems, every string at its maxLength, all from the
schema (tests/fuzz/largest.py), so a new operation is covered as it is documented. Each is answered quickly,
without a server error: nothing the API accepts can keep a worker (or, under the day lock, every booking of the
evening) busy for long."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from tests.fuzz.largest import body_operations, largest_body, unbounded

pytestmark = pytest.mark.django_db

TWILIO_TOKEN = "largest-body-twilio-token"
# The slowest of these answers on SQLite on the CI machine is well under this; an unbounded list (1 MB of
# expectations, before the fix) took seconds.
ANSWER_SECONDS = 1.0


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_every_string_and_list_a_request_may_send_is_bounded_in_the_schema(document):
    assert unbounded(document) == []


def _path(path: str, operation: dict, seeded) -> str:
    ids = {"/recovery-cases/": seeded.cases[0], "/api/v1/reservations/": seeded.reservations[0],
           "/api/v1/waitlist/": seeded.waitlist[0], "/api/v1/comps/": seeded.comps[0],
           "/api/v1/guests/": seeded.guests[0]}
    real = next((value for prefix, value in ids.items() if prefix in path), 1)
    filled = path.replace("{slug}", "samna").replace("{id}", str(real))
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and f"{{{parameter['name']}}}" in filled:
            enum = parameter.get("schema", {}).get("enum") or ["cancel"]
            filled = filled.replace(f"{{{parameter['name']}}}", str(enum[0]))
    return filled


def test_the_largest_body_of_every_operation_is_answered_quickly_and_never_with_a_server_error(
    document, seeded, staff, settings
):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    manager = APIClient()
    manager.force_authenticate(staff["manager"])
    slow, broken, sent = [], [], 0
    for path, method, operation in body_operations(document):
        url = _path(path, operation, seeded)
        for content_type, content in operation["requestBody"]["content"].items():
            # A phone booking (an online one cannot carry the override the body has): the guest is learnt, so
            # their expectations are merged into the profile, under the lock.
            body = largest_body(document, content["schema"], day=seeded.day, choose={"channel": "phone"})
            started = time.perf_counter()
            if content_type == "application/x-www-form-urlencoded":
                fields = {k: str(v) for k, v in body.items()}
                signature = RequestValidator(TWILIO_TOKEN).compute_signature(settings.PUBLIC_BASE_URL + url, fields)
                response = APIClient().post(url, fields, HTTP_X_TWILIO_SIGNATURE=signature)
            elif content_type == "application/json":
                response = getattr(manager, method)(url, body, format="json")
            else:
                continue
            took = time.perf_counter() - started
            sent += 1
            where = f"{method.upper()} {url} ({content_type})"
            print(f"{where}: {response.status_code} in {took * 1000:.0f} ms")
            if response.status_code >= 500:
                broken.append(f"{where}: {response.status_code}")
            elif response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
                assert {"code", "detail"} <= set(response.json()), (where, response.content[:300])
            if took > ANSWER_SECONDS:
                slow.append(f"{where}: {took:.1f} s")
    assert sent >= 15, "every operation with a body was sent"
    assert broken == []
    assert slow == []
