"""API tokens that end: hashed at rest, good for one shift, ended by logout, by logout-all and by any change of
the user's password (the admin, set_password + save, seed_demo's reset)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import DEMO_PASSWORD, log_in

pytestmark = pytest.mark.django_db

GUESTS = "/api/v1/guests/"  # any staff endpoint


def token_for(username: str, password: str = DEMO_PASSWORD) -> str:
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password},
                                format="json", REMOTE_ADDR=f"10.1.0.{len(username)}")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_refused(token: str) -> None:
    response = with_token(token).get(GUESTS)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "authentication_failed" and response.json()["detail"]


def assert_works(token: str) -> None:
    assert with_token(token).get(GUESTS).status_code == 200


def test_a_token_is_sent_as_before_and_lasts_one_shift(staff):
    before = timezone.now()
    response = APIClient().post("/api/v1/auth/token/", {"username": "host", "password": DEMO_PASSWORD},
                                format="json")

    body = response.json()
    assert set(body) == {"token", "expiry"}
    expiry = parse_datetime(body["expiry"])
    assert settings.TOKEN_TTL_HOURS == 10
    assert timedelta(hours=10) <= expiry - before < timedelta(hours=10, minutes=1)
    assert_works(body["token"])

    with time_machine.travel(expiry - timedelta(minutes=1)):
        assert_works(body["token"])
    with time_machine.travel(expiry + timedelta(minutes=1)):
        assert_refused(body["token"])
    assert_refused(body["token"])  # an expired token is deleted, not just refused


def test_a_token_is_kept_only_as_a_hash(staff):
    token = token_for("host")

    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, token_key FROM knox_authtoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    digest, key = rows[0]
    assert token not in digest and len(key) < len(token)  # a prefix to find the row; the rest only as a hash
    assert "authtoken_token" not in connection.introspection.table_names()  # DRF's clear-text tokens are gone


def test_no_token_or_a_wrong_one_is_a_json_401(staff):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Token " + "x" * 64}, {"HTTP_AUTHORIZATION": "Token \xff\xfe"}):
        response = APIClient().get(GUESTS, **headers)
        assert response.status_code == 401, (headers, response.content)
        assert response.json()["code"] in {"not_authenticated", "authentication_failed"}
        assert response["WWW-Authenticate"] == "Token"


def test_logout_ends_this_token_only(staff):
    tablet, phone = token_for("host"), token_for("host")

    assert with_token(tablet).post("/api/v1/auth/logout/").status_code == 204

    assert_refused(tablet)
    assert_works(phone)


def test_logout_all_ends_every_token_of_the_user_and_no_one_elses(staff):
    tablet, phone, managers = token_for("host"), token_for("host"), token_for("manager")

    assert with_token(tablet).post("/api/v1/auth/logout-all/").status_code == 204

    assert_refused(tablet)
    assert_refused(phone)
    assert_works(managers)


def test_a_new_password_set_in_code_ends_the_users_tokens(staff):
    token, managers = token_for("host"), token_for("manager")
    host = get_user_model().objects.get(username="host")

    host.set_password("a-brand-new-pw-1")
    host.save()

    assert_refused(token)
    assert_works(managers)
    assert_works(token_for("host", "a-brand-new-pw-1"))


def test_saving_a_user_without_a_new_password_keeps_the_tokens(staff):
    token = token_for("host")
    host = get_user_model().objects.get(username="host")

    host.first_name = "Oksana"
    host.save()
    host.last_login = timezone.now()
    host.save(update_fields=["last_login"])

    assert_works(token)


def test_a_new_password_set_in_the_admin_ends_the_users_tokens(staff):
    token = token_for("host")
    host = get_user_model().objects.get(username="host")
    admin = Client()
    log_in(admin, "admin")

    page = admin.post(f"/admin/auth/user/{host.pk}/password/",
                      {"password1": "set-by-the-admin-1", "password2": "set-by-the-admin-1", "usable_password": "true"})

    assert page.status_code == 302, page.content.decode()[:2000]
    assert_refused(token)
    assert AuthToken.objects.filter(user=host).count() == 0


def test_seed_demo_resetting_the_passwords_ends_the_old_tokens(db):
    call_command("seed_demo", "--password", DEMO_PASSWORD, stdout=open("/dev/null", "w"))
    old = token_for("host")

    call_command("seed_demo", "--password", DEMO_PASSWORD, stdout=open("/dev/null", "w"))

    assert_refused(old)
    assert_works(token_for("host"))


def test_expired_tokens_are_purged_by_the_hourly_task(staff):
    from reservations.tasks import purge_expired_tokens_task

    old, fresh = token_for("host"), None
    with time_machine.travel(timezone.now() + timedelta(hours=settings.TOKEN_TTL_HOURS - 1)):
        fresh = token_for("manager")
    with time_machine.travel(timezone.now() + timedelta(hours=settings.TOKEN_TTL_HOURS, minutes=1)):
        assert purge_expired_tokens_task.delay().get() == 1
    assert list(AuthToken.objects.values_list("user__username", flat=True)) == ["manager"]
    assert "purge-expired-tokens" in settings.CELERY_BEAT_SCHEDULE
    assert_refused(old)
    assert_works(fresh)
