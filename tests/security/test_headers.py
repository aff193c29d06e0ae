"""Security headers on pages and API answers, cookies as `check --deploy` wants them, and the guest page's rate
limit."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from reservations.api import throttling
from tests.conftest import DEMO_PASSWORD, log_in, next_weekday

pytestmark = pytest.mark.django_db

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def policy(response) -> dict[str, str]:
    directives = [d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_common_headers(response) -> None:
    for header, value in COMMON.items():
        assert response[header] == value, header


def test_a_desk_page_forbids_inline_and_foreign_scripts_and_framing(staff):
    client = Client()
    log_in(client, "host")
    page = client.get("/desk/samna/")

    assert page.status_code == 200
    assert_common_headers(page)
    csp = policy(page)
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert csp["default-src"] == "'self'" and csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    html = page.content.decode()
    assert "<script>" not in html and " onclick=" not in html and " onchange=" not in html


def test_the_login_page_and_the_api_docs_carry_the_page_policy(db):
    for path in ("/accounts/login/", "/api/docs/"):
        page = Client().get(path)
        assert page.status_code == 200, path
        assert_common_headers(page)
        assert policy(page)["script-src"] == "'self'", path
        assert "<script>" not in page.content.decode(), path  # Swagger's init script is a file of its own
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_an_api_answer_may_load_nothing(samna, anon_api):
    answer = anon_api.get(f"/api/v1/restaurants/samna/availability/?date={next_weekday(5).isoformat()}&party_size=2")

    assert answer.status_code == 200
    assert_common_headers(answer)
    assert policy(answer) == {"default-src": "'none'", "frame-ancestors": "'none'"}
    refused = anon_api.get("/api/v1/guests/")
    assert refused.status_code == 401 and policy(refused)["default-src"] == "'none'"


def test_cookies_are_httponly_for_the_session_and_lax_for_both(staff):
    client = Client()
    page = client.get("/accounts/login/")
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    client.post("/accounts/login/", {"username": "host", "password": "pw-wrong"})  # keeps no session
    logged_in = client.post("/accounts/login/", {"username": "host", "password": DEMO_PASSWORD})
    session = logged_in.cookies[settings.SESSION_COOKIE_NAME]

    assert session["httponly"] and session["samesite"] == "Lax"
    assert csrf["samesite"] == "Lax"
    # The test settings speak plain http (HTTPS=0); production's defaults (HTTPS on) make both Secure:
    # tests/test_production_settings.py runs `check --deploy` on them.
    assert settings.SESSION_COOKIE_SECURE is settings.HTTPS and settings.CSRF_COOKIE_SECURE is settings.HTTPS


def test_the_guest_page_is_rate_limited_per_address(samna, monkeypatch):
    monkeypatch.setattr(throttling.GuestPageThrottle, "THROTTLE_RATES", {"guest_page": "3/min"})
    client = Client()
    answers = [client.get(f"/b/not-a-token-{i}/", REMOTE_ADDR="192.0.2.30") for i in range(4)]

    assert [a.status_code for a in answers[:3]] == [404] * 3  # wrong tokens: "no longer valid"
    assert answers[3].status_code == 429
    assert int(answers[3]["Retry-After"]) == 60
    assert "Too many requests" in answers[3].content.decode()
    assert client.get("/b/not-a-token/", REMOTE_ADDR="192.0.2.31").status_code != 429
