"""`seed_demo` builds exactly the contract's Samna; /healthz/, /api/schema/ and /api/docs/ answer as promised."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from datetime import time as clock
from io import StringIO
from pathlib import Path

import pytest
import redis
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.urls import is_valid_path, resolve
from rest_framework.test import APIClient

from reservations.management.commands.seed_demo import DEFAULT_PASSWORD
from reservations.models import (
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    Restaurant,
    ServiceHours,
    StaffMembership,
    Table,
    TableCombination,
    TurnTime,
)
from reservations.services.booking import reservation_create
from reservations.services.demo import DEMO_USERS
from tests.conftest import kyiv, next_weekday
from tests.contract import NOT_BUILT_YET

pytestmark = pytest.mark.django_db

PASSWORD = "pw12345678"
TABLES = {
    "T1": ("hall", 1, 2), "T2": ("hall", 1, 2), "T3": ("hall", 1, 2), "T4": ("hall", 1, 2),
    "T5": ("hall", 2, 4), "T6": ("hall", 2, 4), "T7": ("hall", 2, 4), "T8": ("hall", 2, 4),
    "T9": ("hall", 4, 6), "T10": ("hall", 4, 6),
    "T11": ("terrace", 1, 2), "T12": ("terrace", 1, 2),
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def token_for(username: str, password: str):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_seed_demo_creates_the_contracts_restaurant(db):
    seed("--password", PASSWORD)

    samna = Restaurant.objects.get(slug="samna")
    assert (samna.name, samna.time_zone, samna.slot_minutes, samna.booking_horizon_days) == (
        "Samna", "Europe/Kyiv", 15, 180)
    tables = {t.name: (t.area.name, t.min_covers, t.max_covers) for t in Table.objects.filter(restaurant=samna)}
    assert tables == TABLES
    assert all(Table.objects.filter(restaurant=samna).values_list("is_active", flat=True))
    combinations = {
        (tuple(sorted(t.name for t in c.tables.all())), c.min_covers, c.max_covers)
        for c in TableCombination.objects.filter(restaurant=samna)
    }
    assert combinations == {(("T11", "T12"), 3, 4), (("T10", "T9"), 7, 10)}
    hours = ServiceHours.objects.filter(restaurant=samna)
    assert sorted(h.weekday for h in hours) == list(range(7))
    assert {(h.opens, h.last_seating, h.closes) for h in hours} == {(clock(12), clock(22), clock(23))}
    turns = {(t.min_party, t.max_party, t.minutes) for t in TurnTime.objects.filter(restaurant=samna)}
    assert turns == {(1, 2, 90), (3, 4, 120), (5, 6, 150), (7, 10, 180)}
    [hold] = HoldBackRule.objects.filter(restaurant=samna, is_active=True)
    assert sorted(hold.weekdays) == [4, 5]
    assert (hold.starts, hold.ends, hold.release_minutes_before) == (clock(19), clock(22), 60)
    assert sorted(t.name for t in hold.tables.all()) == ["T3", "T4"]
    policy = OverbookingPolicy.objects.get(restaurant=samna)
    assert policy.is_active
    assert (policy.max_overbooked_covers, policy.max_party_size, sorted(policy.channels)) == (4, 4, ["host", "phone"])


def test_seed_demo_creates_the_second_restaurant_in_a_group_of_its_own(db):
    seed("--password", PASSWORD)

    samna = Restaurant.objects.get(slug="samna")
    steak = Restaurant.objects.get(slug="steakhouse")
    assert (steak.name, steak.time_zone, steak.slot_minutes) == ("The Steakhouse", "Europe/Kyiv", 15)
    assert steak.group != samna.group
    assert {t.name: (t.min_covers, t.max_covers) for t in Table.objects.filter(restaurant=steak)} == {
        f"S{n}": (2, 4) for n in range(1, 7)}
    hours = ServiceHours.objects.filter(restaurant=steak)
    assert sorted(h.weekday for h in hours) == list(range(7))
    assert {(h.opens, h.last_seating, h.closes) for h in hours} == {(clock(18), clock(23, 30), clock(1))}
    assert not HoldBackRule.objects.filter(restaurant=steak).exists()
    policy = OverbookingPolicy.objects.get(restaurant=steak)
    assert (policy.max_overbooked_covers, policy.max_party_size, policy.channels) == (6, 4, ["phone"])
    members = {(m.user.username, m.restaurant.slug, m.role)
               for m in StaffMembership.objects.select_related("user", "restaurant")}
    assert members == {("host", "samna", "host"), ("manager", "samna", "manager"),
                       ("steak-host", "steakhouse", "host"), ("steak-manager", "steakhouse", "manager"),
                       ("duo", "steakhouse", "manager"), ("duo", "samna", "host")}
    users = {u.username: u
             for u in get_user_model().objects.filter(username__in=["steak-host", "steak-manager", "duo"])}
    assert not any(u.groups.exists() for u in users.values())  # a role is the membership's, never a Django group
    assert (users["steak-host"].is_staff, users["steak-manager"].is_staff, users["duo"].is_staff) == (
        False, True, True)  # the admin's door opens to a manager anywhere; what is inside is theirs only
    for username in users:
        assert token_for(username, PASSWORD).status_code == 200


def test_seed_demo_creates_the_three_users_with_the_password(db):
    seed("--password", PASSWORD)

    users = {u.username: u for u in get_user_model().objects.filter(username__in=["host", "manager", "admin"])}
    assert set(users) == {"host", "manager", "admin"}
    assert users["admin"].is_superuser
    assert not users["host"].is_superuser and not users["manager"].is_superuser
    for username in users:
        response = token_for(username, PASSWORD)
        assert response.status_code == 200, response.json()
        assert response.json()["token"]
    wrong = token_for("host", "not-the-password")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_credentials"


def test_rerunning_seed_demo_resets_the_book(db):
    seed("--password", PASSWORD)
    saturday = next_weekday(5)
    booking = reservation_create(restaurant=Restaurant.objects.get(slug="samna"), start=kyiv(saturday, "20:00"),
                                 party_size=2, channel="phone")
    old_token = token_for("host", PASSWORD).json()["token"]

    seed("--password", "another-pw-1")

    assert not Reservation.objects.filter(pk=booking.pk).exists()
    assert Restaurant.objects.filter(slug="samna").count() == 1
    assert Restaurant.objects.filter(slug="steakhouse").count() == 1
    assert Table.objects.filter(restaurant__slug="samna").count() == 12
    assert Table.objects.filter(restaurant__slug="steakhouse").count() == 6
    assert TableCombination.objects.count() == 2
    assert ServiceHours.objects.count() == 14
    assert HoldBackRule.objects.count() == 1 and OverbookingPolicy.objects.count() == 2
    assert get_user_model().objects.filter(username__in=DEMO_USERS).count() == 6
    assert StaffMembership.objects.count() == 6  # every user but the admin at their own restaurant; duo at two
    assert token_for("host", PASSWORD).status_code == 400
    new_token = token_for("host", "another-pw-1")
    assert new_token.status_code == 200
    assert new_token.json()["token"] != old_token


def test_seed_demo_prints_its_default_password(db):
    output = seed()

    assert DEFAULT_PASSWORD in output
    assert token_for("manager", DEFAULT_PASSWORD).status_code == 200


# --- health ---------------------------------------------------------------------------------------------------


def test_healthz_without_a_broker_runs_tasks_in_process(client):
    with override_settings(REDIS_URL=""):
        response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis():
    """A redis-server of our own on a spare port (never the machine's shared one), and its URL."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.05)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait(timeout=5)


def test_healthz_reports_the_broker_up_then_down(client, own_redis):
    process, url = own_redis

    with override_settings(REDIS_URL=url):
        up = client.get("/healthz/")
        process.kill()
        process.wait(timeout=5)
        down = client.get("/healthz/")

    assert up.status_code == 200
    assert up.json() == {"database": "ok", "broker": "ok"}
    assert down.status_code == 503
    assert down.json() == {"database": "ok", "broker": "down"}



def test_healthz_reports_the_broker_down_when_celery_cannot_load_its_transport(client, own_redis):
    """Redis answers a ping, but Celery cannot hand it a task: an install that lacks the transport's libraries
    (kombu's SQS transport needs botocore, which nothing here installs; the redis one once lacked `packaging`)."""
    from cxhost.celery import app

    _, url = own_redis
    saved = app.conf.broker_url
    app.conf.broker_url = "sqs://"
    try:
        with override_settings(REDIS_URL=url):
            answer = client.get("/healthz/")
    finally:
        app.conf.broker_url = saved

    assert answer.status_code == 503
    assert answer.json() == {"database": "ok", "broker": "down"}

# --- the API's own description --------------------------------------------------------------------------------

# Every path of ../shared/API.md with the methods it promises. This list only grows: a path of later work
# stays here and is marked in NOT_BUILT_YET below.
CONTRACT_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/restaurants/{slug}/availability/": {"get"},
    "/api/v1/restaurants/{slug}/reservations/": {"get", "post"},
    "/api/v1/reservations/{id}/": {"get"},
    "/api/v1/reservations/{id}/{action}/": {"post"},
    "/api/v1/restaurants/{slug}/walk-ins/": {"post"},
    "/api/v1/restaurants/{slug}/waitlist/": {"get"},
    "/api/v1/waitlist/{id}/notify/": {"post"},
    "/api/v1/waitlist/{id}/seat/": {"post"},
    "/api/v1/guests/": {"get"},
    "/api/v1/guests/{id}/": {"get"},
    "/api/v1/guests/{id}/export/": {"get"},
    "/api/v1/guests/{id}/erase/": {"post"},
    "/api/v1/restaurants/{slug}/comps/": {"get"},
    "/api/v1/restaurants/{slug}/staff-notes/": {"get"},
    "/api/v1/restaurants/{slug}/recovery-cases/": {"get"},
    "/sms/inbound/": {"post"},
    "/api/v1/restaurants/{slug}/pacing/": {"get", "put"},
    "/api/v1/restaurants/{slug}/replay/": {"post"},
    "/api/v1/restaurants/{slug}/payment-policy/": {"get", "put"},
    "/api/v1/reservations/{id}/no-show-fee/": {"post"},
}
# Served beside the schema rather than described in it.
CONTRACT_PAGES = ["/api/schema/", "/api/docs/", "/healthz/"]

# The contract, kept in the repository (a clone has no ../shared/); the steering copy beside the project wins.
SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "API.md"
CONTRACT_FILE = Path(__file__).resolve().parents[2] / "docs" / "API.md"


def served_schema(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    return json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)


def example_url(path: str) -> str:
    return path.replace("{slug}", "samna").replace("{id}", "1").replace("{action}", "confirm")


def test_the_schema_is_openapi_3_and_describes_every_built_contract_path(client):
    schema = served_schema(client)

    assert str(schema["openapi"]).startswith("3.")
    built = {path: methods for path, methods in CONTRACT_PATHS.items() if path not in NOT_BUILT_YET}
    missing = {path: sorted(methods - set(schema["paths"].get(path, {}))) for path, methods in built.items()}
    assert {path: methods for path, methods in missing.items() if methods} == {}


def test_paths_not_built_yet_are_really_missing(client):
    """So that the mark is removed (and the path checked above) as soon as a path is built."""
    schema = served_schema(client)

    assert set(NOT_BUILT_YET) <= set(CONTRACT_PATHS)
    described = sorted(path for path in NOT_BUILT_YET if path in schema["paths"])
    assert described == [], "built now: delete these from NOT_BUILT_YET"
    routed = sorted(path for path in NOT_BUILT_YET if routed_as_itself(path))
    assert routed == [], "routed now: delete these from NOT_BUILT_YET"


def routed_as_itself(path: str) -> bool:
    """A route of the path's own, not a wider one that takes it as a parameter (`no-show-fee` as an `{action}`
    of the reservation's actions, which answers 404 for an action it does not know)."""
    url = example_url(path)
    if not is_valid_path(url):
        return False
    return resolve(url).route.count("<") == path.count("{")


def test_the_pages_beside_the_schema_answer(client):
    for page in CONTRACT_PAGES:
        assert client.get(page).status_code == 200, page


def test_the_repositorys_copy_of_the_contract_is_the_shared_one():
    if not SHARED_CONTRACT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI runs with the steering contract beside the project, but {SHARED_CONTRACT} is missing")
        pytest.skip(f"no steering contract beside this checkout ({SHARED_CONTRACT}); docs/API.md is checked alone")
    assert CONTRACT_FILE.read_text() == SHARED_CONTRACT.read_text(), "copy ../shared/API.md to docs/API.md"


def test_the_list_holds_every_path_the_contract_names():
    named = set(re.findall(r"(/(?:api/v1|sms)/[^\s`?\"]*)", CONTRACT_FILE.read_text()))
    named.discard("/api/v1/")

    assert sorted(named - set(CONTRACT_PATHS)) == []


def test_the_docs_page_is_html(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "<html" in response.content.decode().lower()
