"""Every bad input is a 4xx JSON error with "code" and "detail" — never a 500, never HTML, never a booking."""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.models import Guest, Refusal, Reservation, WaitlistEntry

from ..conftest import DEMO_PASSWORD, at

RESERVATIONS = "/api/v1/restaurants/samna/reservations/"
TOKEN = "/api/v1/auth/token/"


def good_body(day: date, channel: str = "phone") -> dict:
    return {"start": at(day, "20:00"), "party_size": 2, "channel": channel,
            "guest": {"name": "Olena K.", "phone": "+380671234567"}}


def assert_json_error(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    if status is not None:
        assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def names_field(fields: dict, field: str) -> bool:
    """"guest" is named by "guest", "guest.phone" or "guest.non_field_errors"."""
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in fields)


@pytest.fixture
def nothing_booked(db):
    """Asserts, after the test, that it left no reservation, no refusal and no guest behind."""
    before = (Reservation.objects.count(), Refusal.objects.count(), Guest.objects.count())
    yield
    assert (Reservation.objects.count(), Refusal.objects.count(), Guest.objects.count()) == before


def _past(today: date) -> str:
    return at(today - timedelta(days=1), "20:00")


def _beyond_horizon(today: date) -> str:
    return at(today + timedelta(days=200), "20:00")


# (what is wrong, the change to a good body, the field the error must name)
BAD_BODIES = [
    ("party size as a word", {"party_size": "two"}, "party_size"),
    ("party size zero", {"party_size": 0}, "party_size"),
    ("party size a thousand", {"party_size": 1000}, "party_size"),
    ("party size negative", {"party_size": -2}, "party_size"),
    ("party size missing", {"party_size": None}, "party_size"),
    ("start a number", {"start": 12345}, "start"),
    ("start not a date", {"start": "tonight at eight"}, "start"),
    ("start missing", {"start": None}, "start"),
    ("start off the grid", {"start": "{day}T20:07"}, "start"),
    ("start after last seating", {"start": "{day}T23:30"}, "start"),
    ("start before opening", {"start": "{day}T09:00"}, "start"),
    ("start in the past", {"start": _past}, "start"),
    ("start beyond the horizon", {"start": _beyond_horizon}, "start"),
    ("guest a string", {"guest": "x"}, "guest"),
    ("guest phone invalid", {"guest": {"name": "Olena", "phone": "12345"}}, "guest"),
    ("guest phone letters", {"guest": {"name": "Olena", "phone": "call me"}}, "guest"),
    ("expectations a string", {"expectations": "x"}, "expectations"),
    ("override a string", {"override": "x"}, "override"),
    ("override without a reason", {"override": {}}, "override"),
    ("channel unknown", {"channel": "fax"}, "channel"),
]


def _apply(body: dict, change: dict, day: date) -> dict:
    body = dict(body)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        elif callable(value):
            body[key] = value(timezone.localdate())
        elif isinstance(value, str):
            body[key] = value.replace("{day}", day.isoformat())
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(("what", "change", "field"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_are_400_naming_the_field(manager_api, samna, tuesday, nothing_booked, what, change, field):
    response = manager_api.post(RESERVATIONS, _apply(good_body(tuesday), change, tuesday), format="json")

    body = assert_json_error(response, 400)
    assert body["code"] == "validation_error"
    assert names_field(body["fields"], field), body["fields"]


ONLINE_BAD = [
    ("no guest", {"guest": None}, "guest"),
    ("invalid phone", {"guest": {"name": "Olena", "phone": "+380 12"}}, "guest"),
    ("party size as a word", {"party_size": "two"}, "party_size"),
    ("off the grid", {"start": "{day}T20:07"}, "start"),
]


@pytest.mark.parametrize(("what", "change", "field"), ONLINE_BAD, ids=[case[0] for case in ONLINE_BAD])
def test_bad_online_bodies_are_400_for_anyone(anon_api, samna, tuesday, nothing_booked, what, change, field):
    response = anon_api.post(RESERVATIONS, _apply(good_body(tuesday, "online"), change, tuesday), format="json")

    body = assert_json_error(response, 400)
    assert names_field(body["fields"], field), body["fields"]


def test_the_good_body_itself_books(manager_api, samna, tuesday):
    """The control for the table above: the same body, unspoiled, is a booking."""
    response = manager_api.post(RESERVATIONS, good_body(tuesday), format="json")

    assert response.status_code == 201, response.content
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize("client_name", ["anon_api", "manager_api"])
@pytest.mark.parametrize(
    ("what", "payload", "content_type", "status"),
    [
        ("malformed JSON", '{"start": "2026-12-05T20:00", "party_size": ', "application/json", 400),
        ("not JSON at all", "<xml/>", "application/json", 400),
        ("a JSON array", None, "application/json", 400),
        ("a JSON string", '"book me"', "application/json", 400),
        ("form encoded", None, "application/x-www-form-urlencoded", 415),
        ("plain text", "party of two at eight", "text/plain", 415),
    ],
)
def test_bodies_that_are_not_a_json_object(request, samna, tuesday, nothing_booked, client_name, what, payload,
                                           content_type, status):
    client: APIClient = request.getfixturevalue(client_name)
    good = good_body(tuesday, "online")
    if what == "a JSON array":
        payload = json.dumps([good])
    elif what == "form encoded":
        payload = urlencode({"start": good["start"], "party_size": 2, "channel": "online"})

    response = client.generic("POST", RESERVATIONS, payload, content_type=content_type)

    # Bad input whoever sends it: 400 (415 for a body that is not JSON at all), never "not authenticated".
    assert_json_error(response, status)


def test_malformed_json_is_400(anon_api, samna, nothing_booked):
    response = anon_api.generic("POST", RESERVATIONS, '{"party_size": 2', content_type="application/json")

    assert assert_json_error(response, 400)["code"] == "malformed_json"


def test_unknown_restaurant_is_404(anon_api, manager_api, samna, tuesday, nothing_booked):
    for client in (anon_api, manager_api):
        response = client.post("/api/v1/restaurants/nowhere/reservations/", good_body(tuesday, "online"),
                               format="json")
        assert assert_json_error(response, 404)["code"] == "not_found"
    listing = manager_api.get("/api/v1/restaurants/nowhere/reservations/", {"date": tuesday.isoformat()})
    assert assert_json_error(listing, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/reservations/999999/"),
        ("POST", "/api/v1/reservations/999999/confirm/"),
        ("POST", "/api/v1/reservations/999999/cancel/"),
        ("POST", "/api/v1/reservations/999999/no-show/"),
    ],
)
def test_unknown_reservation_is_404(manager_api, samna, method, path):
    response = manager_api.generic(method, path)

    assert assert_json_error(response, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here/", "/api/nowhere", "/api/v1/restaurants/", "/api/v2/restaurants/samna/availability/",
     "/api/v1/reservations/abc/"],
)
@pytest.mark.parametrize("client_name", ["anon_api", "manager_api"])
def test_unknown_urls_under_api_are_404_json(request, samna, path, client_name):
    response = request.getfixturevalue(client_name).get(path)

    assert assert_json_error(response, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", RESERVATIONS),
        ("PUT", RESERVATIONS),
        ("PATCH", RESERVATIONS),
        ("POST", "/api/v1/restaurants/samna/availability/"),
        ("DELETE", "/api/v1/restaurants/samna/availability/"),
        ("GET", TOKEN),
    ],
)
def test_wrong_method_is_405_json(manager_api, samna, nothing_booked, method, path):
    response = manager_api.generic(method, path, "{}", content_type="application/json")

    assert assert_json_error(response, 405)["code"] == "method_not_allowed"


def test_wrong_method_on_a_reservation_is_405_json(manager_api, samna, tuesday):
    created = manager_api.post(RESERVATIONS, good_body(tuesday), format="json").json()

    response = manager_api.delete(f"/api/v1/reservations/{created['id']}/")

    assert assert_json_error(response, 405)["code"] == "method_not_allowed"
    assert Reservation.objects.filter(pk=created["id"]).exists()


@pytest.mark.parametrize(
    "header",
    ["Token not-a-real-token", "Token ", "Token a b", "Bearer abc", "Basic Zm9vOmJhcg=="],
)
def test_bad_token_is_401(samna, tuesday, nothing_booked, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    listing = client.get(RESERVATIONS, {"date": tuesday.isoformat()})
    booking = client.post(RESERVATIONS, good_body(tuesday), format="json")

    assert_json_error(listing, 401)
    assert_json_error(booking, 401)


def test_a_bad_token_is_401_even_on_public_endpoints(samna, tuesday, nothing_booked):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    availability = client.get("/api/v1/restaurants/samna/availability/",
                              {"date": tuesday.isoformat(), "party_size": 2})
    booking = client.post(RESERVATIONS, good_body(tuesday, "online"), format="json")

    assert assert_json_error(availability, 401)["code"] == "authentication_failed"
    assert assert_json_error(booking, 401)["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "host", "password": "wrong-password"},
        {"username": "nobody", "password": DEMO_PASSWORD},
        {"username": "HOST ", "password": DEMO_PASSWORD + " "},
    ],
)
def test_token_with_bad_credentials_is_400(anon_api, staff, credentials):
    response = anon_api.post(TOKEN, credentials, format="json")

    body = assert_json_error(response, 400)
    assert "token" not in body


@pytest.mark.parametrize(
    "payload",
    [{}, {"username": "host"}, {"password": DEMO_PASSWORD}, {"username": 5, "password": ["x"]}, None],
)
def test_token_with_missing_fields_is_400(anon_api, staff, payload):
    if payload is None:
        response = anon_api.generic("POST", TOKEN, "[1, 2]", content_type="application/json")
    else:
        response = anon_api.post(TOKEN, payload, format="json")

    body = assert_json_error(response, 400)
    assert body["code"] == "validation_error"


def test_token_with_good_credentials_works(anon_api, staff, tuesday, samna):
    response = anon_api.post(TOKEN, {"username": "host", "password": DEMO_PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert isinstance(token, str) and token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(RESERVATIONS, {"date": tuesday.isoformat()}).status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (RESERVATIONS, {}),
        (RESERVATIONS, {"date": "12/05/2026"}),
        ("/api/v1/restaurants/samna/availability/", {"date": "2026-02-30", "party_size": "2"}),
        ("/api/v1/restaurants/samna/availability/", {"date": "2026-12-05", "party_size": "2.5"}),
        ("/api/v1/restaurants/samna/availability/", {"date": "2026-12-05", "party_size": "-1"}),
    ],
)
def test_bad_query_strings_are_400(manager_api, samna, path, query):
    response = manager_api.get(path, query)

    body = assert_json_error(response, 400)
    assert body["code"] == "validation_error"
    assert body["fields"]


@pytest.mark.parametrize(
    "payload",
    [{"tables": "T1"}, {"tables": []}, {"tables": ["T99"]}, {"tables": [1, 2, {"x": 1}]}, [1, 2]],
)
def test_bad_seat_bodies_are_400(manager_api, samna, tuesday, payload):
    created = manager_api.post(RESERVATIONS, good_body(tuesday), format="json").json()

    response = manager_api.post(f"/api/v1/reservations/{created['id']}/seat/", payload, format="json")

    assert_json_error(response, 400)
    assert Reservation.objects.get(pk=created["id"]).status == "booked"


# --- inputs that used to reach a 500 ------------------------------------------------------------------------

EXTREME_DATES = ["9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01"]


@pytest.mark.parametrize("day", EXTREME_DATES)
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v1/restaurants/samna/availability/", {"party_size": "2"}),
        ("/api/v1/restaurants/samna/availability/", {"party_size": "2", "channel": "phone"}),
        (RESERVATIONS, {}),
        ("/api/v1/restaurants/samna/refusals/", {}),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_400_naming_the_date(manager_api, samna, path, extra, day):
    response = manager_api.get(path, {"date": day, **extra})

    body = assert_json_error(response, 400)
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["date"]


def test_the_range_still_takes_any_ordinary_date(manager_api, samna):
    """The control: the edges of the accepted range answer 200 (a closed or past day is not an error)."""
    for day in ("2000-01-01", "2999-12-31"):
        for path in ("/api/v1/restaurants/samna/availability/", RESERVATIONS, "/api/v1/restaurants/samna/refusals/"):
            response = manager_api.get(path, {"date": day, "party_size": "2"})
            assert response.status_code == 200, (path, day, response.content)


@pytest.mark.parametrize(
    "start", ["0001-01-01T00:00", "9999-12-31T20:00-12:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:30+05:00",
              "1999-12-31T20:00"],
)
def test_starts_at_the_ends_of_the_calendar_are_400_naming_start(manager_api, anon_api, samna, tuesday,
                                                                   nothing_booked, start):
    for client, channel in ((manager_api, "phone"), (anon_api, "online")):
        response = client.post(RESERVATIONS, {**good_body(tuesday, channel), "start": start}, format="json")

        body = assert_json_error(response, 400)
        assert list(body["fields"]) == ["start"], body


def deep_brackets(levels: int = 2000) -> str:
    return "[" * levels + "]" * levels  # 4 KB of nothing but nesting


@pytest.fixture
def bookings(manager_api, samna, tuesday):
    """A booking and a waiting party, so that every JSON endpoint taking a body has something to act on."""
    reservation = manager_api.post(RESERVATIONS, good_body(tuesday), format="json").json()
    guest = Guest.objects.exclude(phone=None).first()
    entry = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                         created_at=timezone.now())
    return {"reservation": reservation["id"], "guest": guest.pk, "entry": entry.pk}


# Every endpoint that reads a JSON body.
JSON_ENDPOINTS = [
    ("POST", RESERVATIONS),
    ("POST", "/api/v1/restaurants/samna/walk-ins/"),
    ("POST", TOKEN),
    ("POST", "/api/v1/reservations/{reservation}/seat/"),
    ("PATCH", "/api/v1/guests/{guest}/"),
    ("POST", "/api/v1/waitlist/{entry}/seat/"),
]


@pytest.mark.parametrize("idempotency_key", [None, "deep-1"])
@pytest.mark.parametrize(
    "nesting", [deep_brackets(2000), '{"guest": ' * 1500 + "1" + "}" * 1500, deep_brackets(40)],
    ids=["2000 brackets", "1500 objects", "40 brackets"],
)
@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_deeply_nested_json_is_400_on_every_json_endpoint(manager_api, bookings, method, path, nesting,
                                                         idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    before = Reservation.objects.count()

    response = manager_api.generic(method, path.format(**bookings), nesting, content_type="application/json",
                                   **headers)

    assert assert_json_error(response, 400)["code"] == "malformed_json"
    assert Reservation.objects.count() == before
    assert Reservation.objects.get(pk=bookings["reservation"]).status == "booked"
    assert WaitlistEntry.objects.get(pk=bookings["entry"]).status == "waiting"


def test_json_nested_as_deep_as_a_real_request_is_still_read(manager_api, samna, tuesday):
    """The control: ordinary nesting passes the depth check and books."""
    response = manager_api.post(RESERVATIONS, {**good_body(tuesday), "override": {"reason": "regulars"}},
                                format="json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("client_name", ["anon_api", "manager_api"])
@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_body_over_the_upload_limit_is_413(request, settings, samna, tuesday, nothing_booked, client_name,
                                             idempotency_key):
    client: APIClient = request.getfixturevalue(client_name)
    body = json.dumps({**good_body(tuesday, "online"), "notes": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}

    response = client.generic("POST", RESERVATIONS, body, content_type="application/json", **headers)

    assert assert_json_error(response, 413)["code"] == "request_too_large"


@pytest.mark.parametrize("debug", [False, True])
def test_a_post_without_the_trailing_slash_is_served_not_redirected(manager_api, samna, tuesday, settings, debug):
    settings.DEBUG = debug

    response = manager_api.post(RESERVATIONS.rstrip("/"), good_body(tuesday), format="json")

    assert response.status_code == 201, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert Reservation.objects.filter(pk=response.json()["id"]).exists()


@pytest.mark.parametrize("debug", [False, True])
def test_gets_and_bad_posts_without_the_trailing_slash_answer_json(manager_api, samna, tuesday, settings, debug):
    settings.DEBUG = debug

    listing = manager_api.get(RESERVATIONS.rstrip("/"), {"date": tuesday.isoformat()})
    bad = manager_api.post(RESERVATIONS.rstrip("/"), {"party_size": 2}, format="json")
    nowhere = manager_api.post("/api/v1/restaurants/samna/nothing", {}, format="json")

    assert listing.status_code == 200 and listing.json() == []
    assert assert_json_error(bad, 400)["code"] == "validation_error"
    assert assert_json_error(nowhere, 404)["code"] == "not_found"
