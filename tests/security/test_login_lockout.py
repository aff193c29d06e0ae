"""Logins that cannot be brute-forced (django-axes, kept on in the test settings): after LOGIN_FAILURE_LIMIT
failures for one username, or from one address, every login of that username or from that address is refused for
the cooling-off time — the right password too — at the token endpoint, the desk's login and the admin's."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = settings.LOGIN_FAILURE_LIMIT
COOLOFF = settings.LOGIN_COOLOFF_MINUTES * 60
TOKEN = "/api/v1/auth/token/"


def token_login(username: str, password: str, address: str = "10.0.0.1"):
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address)


def assert_locked_out_json(response) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "too_many_login_failures" and body["detail"]
    assert "token" not in body
    assert int(response["Retry-After"]) == COOLOFF


def test_defaults_are_five_failures_and_fifteen_minutes():
    assert (LIMIT, COOLOFF) == (5, 15 * 60)
    assert settings.AXES_ENABLED and "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE


def test_the_token_endpoint_locks_a_username_out_and_the_right_password_waits(staff):
    answers = [token_login("host", f"guess-{i}", address=f"10.0.1.{i}") for i in range(LIMIT)]
    assert [a.json()["code"] for a in answers[:LIMIT - 1]] == ["invalid_credentials"] * (LIMIT - 1)
    assert_locked_out_json(answers[-1])

    # Another address, the right password: still refused, no token.
    assert_locked_out_json(token_login("host", DEMO_PASSWORD, address="10.9.9.9"))
    # Another user is not affected (from an address that has not failed).
    assert token_login("manager", DEMO_PASSWORD, address="10.7.7.7").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(seconds=COOLOFF + 60)):
        after = token_login("host", DEMO_PASSWORD, address="10.9.9.9")
    assert after.status_code == 200 and after.json()["token"]


def test_the_token_endpoint_locks_an_address_out_whatever_the_username(staff):
    for i in range(LIMIT):
        token_login(f"nobody-{i}", "guess", address="10.0.2.1")

    assert_locked_out_json(token_login("host", DEMO_PASSWORD, address="10.0.2.1"))
    assert token_login("host", DEMO_PASSWORD, address="10.0.2.2").status_code == 200


def test_a_forged_forwarded_for_header_does_not_make_a_new_address(staff):
    client = APIClient()
    for i in range(LIMIT):
        client.post(TOKEN, {"username": f"nobody-{i}", "password": "guess"}, format="json",
                    REMOTE_ADDR="10.0.3.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")

    answer = client.post(TOKEN, {"username": "host", "password": DEMO_PASSWORD}, format="json",
                         REMOTE_ADDR="10.0.3.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert_locked_out_json(answer)


def test_an_attackers_own_good_login_does_not_reset_the_address(staff):
    """A success wipes nothing: otherwise logging into an account of one's own between guesses would reset the
    address's count for ever. Failures are forgotten only once older than the cooling-off time."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("mallory", password="mallorys-own-pw")
    for i in range(LIMIT - 1):
        token_login("host", f"guess-{i}", address="10.0.6.1")
        assert token_login("mallory", "mallorys-own-pw", address="10.0.6.1").status_code == 200

    assert_locked_out_json(token_login("host", "guess-last", address="10.0.6.1"))


def form_login(path: str, username: str, password: str, address: str = "10.0.4.1"):
    client = Client()
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)
    return client, response


@pytest.mark.parametrize(("path", "behind"), [("/accounts/login/", "/desk/samna/"), ("/admin/login/", "/admin/")],
                         ids=["desk", "admin"])
def test_a_login_page_locks_out_with_a_kind_page(staff, path, behind):
    for i in range(LIMIT - 1):
        _, page = form_login(path, "manager", f"guess-{i}")
        assert page.status_code == 200  # the form again, with its error
    _, page = form_login(path, "manager", "guess-last")
    assert page.status_code == 429

    client, page = form_login(path, "manager", DEMO_PASSWORD, address="10.0.4.2")

    assert page.status_code == 429
    assert int(page["Retry-After"]) == COOLOFF
    assert page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert 'data-testid="locked-out"' in text and "paused for 15 min" in text
    assert "Traceback" not in text and "axes" not in text.lower()
    # Not logged in: the page behind the login still sends the browser to log in.
    assert client.get(behind).status_code == 302

    with time_machine.travel(timezone.now() + timedelta(seconds=COOLOFF + 60)):
        client, page = form_login(path, "manager", DEMO_PASSWORD, address="10.0.4.2")
        assert page.status_code == 302
        assert client.get(behind).status_code == 200


def test_failures_at_one_door_count_at_the_others(staff):
    """One count per username across the desk, the admin and the API: an attacker cannot spread guesses."""
    for i in range(LIMIT):
        door = ["/accounts/login/", "/admin/login/"][i % 2]
        form_login(door, "manager", f"guess-{i}", address=f"10.0.5.{i}")

    assert_locked_out_json(token_login("manager", DEMO_PASSWORD, address="10.0.5.99"))
