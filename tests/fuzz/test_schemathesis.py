"""Schemathesis against our own OpenAPI schema (GET /api/schema/): every operation and every documented method,
as an anonymous caller and as Samna's manager, through the WSGI app in this process and this test's database.

No answer may be a 5xx, and every answer must be one the schema documents: its status code, its content type,
its headers and its body. Generated slugs and ids are steered (deterministically, from the generated request)
to Samna's rows most of the time, to The Steakhouse's or left as generated now and then, so most requests get
past 404 and some still meet the walls; a booking's or walk-in's `start` is now and then a real slot, so the
book itself is reached. Twilio's webhooks are signed as Twilio would sign them, so the guest's texts are
fuzzed too, not only the refusal.

`make fuzz` runs this alone; `FUZZ_EXAMPLES=500 make fuzz` searches harder than CI does.
"""

from __future__ import annotations

import os
import zlib

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator

from tests.conftest import DEMO_PASSWORD, at
from tests.fuzz.conftest import Seeded

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Per operation and caller: ~35 operations x 2 callers stay within about a minute of CPU per database.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
TWILIO_TOKEN = "fuzz-twilio-auth-token"


@pytest.fixture(params=["anonymous", "manager"])
def caller(request, staff) -> dict[str, str]:
    """The headers of one caller. The manager's token comes from the token endpoint, as a client gets it."""
    if request.param == "anonymous":
        return {}
    response = APIClient().post("/api/v1/auth/token/", {"username": "manager", "password": DEMO_PASSWORD},
                                format="json")
    assert response.status_code == 200, response.content
    return {"Authorization": f"Token {response.json()['token']}"}


@pytest.fixture
def api_schema(seeded, caller, settings):
    """The schema as the app serves it, called in this process, inside this test's transaction.

    Like Django's test client, keep Django from closing "old" connections at each request's start and end:
    inside the test's transaction the connection never looks reusable, and closing it would end the
    transaction (on PostgreSQL every later query would then fail). After `caller`, whose test client puts the
    handlers back when it is done.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from cxhost.wsgi import application

    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def _pick(generated, real: tuple, *, seed: int, others: tuple = ()) -> object:
    """One of the real values, most of the time; now and then another restaurant's or the generated one."""
    choices = (*real, *real, *real, *others, generated)
    return choices[seed % len(choices)]


def steer(case, seeded: Seeded) -> None:
    params = case.path_parameters or {}
    path = case.path
    # From the whole generated request, so that one slug generated with many bodies is not always steered alike;
    # crc32, not hash(): the same on every run (derandomized CI).
    seed = zlib.crc32(repr((params, case.query, case.body)).encode())
    if "slug" in params:
        params["slug"] = _pick(params["slug"], ("samna",), seed=seed, others=("steakhouse",))
    if "id" in params:
        if "/recovery-cases/" in path:
            real = seeded.cases
        elif path.startswith("/api/v1/reservations/"):
            real = seeded.reservations
        elif path.startswith("/api/v1/waitlist/"):
            real = seeded.waitlist
        elif path.startswith("/api/v1/comps/"):
            real = seeded.comps
        elif path.startswith("/api/v1/guests/"):
            real = seeded.guests
        else:
            real = ()
        params["id"] = _pick(params["id"], real, seed=seed >> 8)
    if isinstance(case.body, dict) and "start" in case.body and (seed >> 16) % 2:
        case.body["start"] = at(seeded.day, ("12:00", "19:30", "20:00", "21:45")[(seed >> 17) % 4])


def sign_for_twilio(case, headers: dict[str, str]) -> dict[str, str]:
    """Twilio's signature over the public URL and the form fields, as Django will parse them."""
    from django.conf import settings

    if not case.path.startswith("/sms/") or not isinstance(case.body, dict):
        return headers
    fields = {str(k): str(v) for k, v in case.body.items()}
    case.body = fields
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(settings.PUBLIC_BASE_URL + case.path, fields)
    return {**headers, "X-Twilio-Signature": signature}


@schema.parametrize()
@pytest.mark.usefixtures("caller")  # so that pytest parametrizes it: the wrapper's signature hides it
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_none_is_a_server_error(case, seeded, caller):
    steer(case, seeded)
    case.call_and_validate(headers=sign_for_twilio(case, caller), checks=CHECKS)
