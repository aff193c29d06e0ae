"""The walls between restaurants, as a table: every API endpoint × role × own or another restaurant.

Samna's rows are the target. `host` and `manager` are Samna's staff (own restaurant), `steak-host` and
`steak-manager` are The Steakhouse's (another restaurant, another group), `admin` is a superuser (every
restaurant), `diner` is logged in but nobody's staff, and `duo` is Samna's host who manages The Steakhouse: a
role is the membership's, so at Samna he gets a host's answers (`test_a_manager_next_door_is_a_host_here` turns
the table around: at The Steakhouse, a manager's). A new endpoint without rows here — any URL pattern and
method the resolver serves under /api/v1/ — fails `test_every_endpoint_has_rows_in_the_table`, and one the
OpenAPI schema does not document fails `test_the_schema_documents_every_endpoint_and_nothing_else`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from recovery.models import RecoveryCase
from recovery.services.causes import mistake_log
from reservations.models import Gesture, Guest, Reservation, Restaurant, WaitlistEntry
from reservations.services.booking import reservation_create
from reservations.services.gestures import gesture_offer, guest_prepare
from reservations.services.guests import GuestDetails
from tests.conftest import DEMO_PASSWORD, _client_for, at, kyiv

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"
USERS = ("anon", "diner", "host", "manager", "admin", "steak-host", "steak-manager", "duo")
OWN = ("host", "manager", "admin", "duo")
HOSTS = ("host", "duo")  # Samna's hosts: `duo` manages The Steakhouse, which makes him nothing more here
# What each caller gets, by kind of endpoint (contract, "Conventions"):
STAFF_BOOK = {"anon": 401, "diner": 403, **dict.fromkeys(OWN, 200), "steak-host": 403, "steak-manager": 403}
STAFF_ROW = {"anon": 401, "diner": 403, **dict.fromkeys(OWN, 200), "steak-host": 404, "steak-manager": 404}
PUBLIC = dict.fromkeys(USERS, 200)
# Through the wall, the book answers by the clock: a walk-in is seated or waitlisted (201) or refused outside
# service hours (409); a waiting party from an earlier service has left the list (409 on seat or leave).
THROUGH_THE_WALL = {200, 201, 409}


@dataclass
class World:
    samna: object
    reservation: Reservation
    entry: WaitlistEntry
    guest: Guest
    day: object
    comp: Gesture  # queued for the floor
    over_budget: Gesture  # waiting for a manager's approval
    case: RecoveryCase  # an open mistake case on the reservation


@pytest.fixture
def world(samna, steakhouse, staff, tuesday) -> World:
    reservation = reservation_create(
        restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
        guest=GuestDetails(name="Olena K.", phone=PHONE), by=staff["host"],
    )
    entry = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                         created_at=reservation.created_at, guest=reservation.guest)
    guest_prepare(reservation_id=reservation.pk)  # a first_visit note
    samna.gesture_budget_per_service = samna.dessert_cost  # room for one dessert in the service
    samna.save()
    comp = gesture_offer(reservation=reservation, occasion="won_back", reason="turned away last week")
    other = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="walk_in",
                               by=staff["host"])  # no guest: the guest search still finds one
    over_budget = gesture_offer(reservation=other, occasion="won_back", reason="turned away yesterday")
    assert (comp.status, over_budget.status) == ("queued", "needs_approval")
    case = mistake_log(reservation=reservation, what="wrong_dish", by=staff["host"])
    return World(samna, reservation, entry, reservation.guest, tuesday, comp, over_budget, case)


def client(who: str, staff) -> APIClient:
    if who == "anon":
        return APIClient()
    if who == "diner":
        from django.contrib.auth import get_user_model

        user, _ = get_user_model().objects.get_or_create(username="diner")
        return _client_for(user)
    return _client_for(staff[who])


@dataclass(frozen=True)
class Row:
    name: str  # the URL's name
    method: str
    call: Callable[[APIClient, World], object]
    expected: dict[str, int | set[int]]
    # A check beyond the status, for answers that pass the wall: what the caller must (not) see.
    sees: Callable[[object, World, str], None] | None = None


def booking(channel: str, **extra) -> Callable[[APIClient, World], object]:
    def call(api: APIClient, w: World):
        body = {"start": at(w.day, "20:00"), "party_size": 2, "channel": channel,
                "guest": {"name": "Taras", "phone": "+380501112233"}, **extra}
        return api.post("/api/v1/restaurants/samna/reservations/", body, format="json")
    return call


def search_result(response, w: World, who: str) -> None:
    found = [g["id"] for g in response.json()]
    assert found == ([w.guest.pk] if who in OWN else []), "a search never returns another group's guests"


def the_days_comps(response, w: World, who: str) -> None:
    assert [c["id"] for c in response.json()] == [w.comp.pk, w.over_budget.pk]


def the_days_notes(response, w: World, who: str) -> None:
    assert [(n["reservation"], n["kind"]) for n in response.json()] == [(w.reservation.pk, "first_visit")]


def the_open_cases(response, w: World, who: str) -> None:
    assert [(c["id"], c["kind"], c["status"]) for c in response.json()] == [(w.case.pk, "mistake", "open")]


def the_bookings_record(response, w: World, who: str) -> None:
    first = response.json()[0]
    assert (first["change"], first["by"], first["source"]) == ("created", "host", "system")
    assert first["fields"]["status"] == {"from": None, "to": "booked"}


def the_guests_export(response, w: World, who: str) -> None:
    body = response.json()
    assert (body["guest"]["name"], body["guest"]["phone"]) == ("Olena K.", PHONE)
    assert [b["id"] for b in body["bookings"]] == [w.reservation.pk]


def the_guest_erased(response, w: World, who: str) -> None:
    w.guest.refresh_from_db()
    assert (w.guest.name, w.guest.phone, w.guest.erased_at is not None) == ("", None, True)
    assert Reservation.objects.filter(pk=w.reservation.pk, guest=w.guest).exists(), "the booking still counts"


def anonymous_echo(response, w: World, who: str) -> None:
    guest = response.json()["guest"]
    if who in OWN:
        assert set(guest) >= {"id", "first_visit"}
    else:  # not Samna's staff: only what was sent comes back
        assert guest == {"name": "Taras", "phone": "+380501112233"}


def logout(path: str) -> Callable[[APIClient, World], object]:
    """Any logged-in caller can end their own token (or all of them); the token then opens nothing."""
    def call(api: APIClient, w: World):
        response = api.post(path)
        if response.status_code == 204:
            after = api.get("/api/v1/guests/")
            assert after.status_code == 401 and after.json()["code"] == "authentication_failed"
        return response
    return call


LOGGED_IN = {**dict.fromkeys(USERS, 204), "anon": 401}

ROWS = [
    Row("auth-token", "post", lambda api, w: api.post(
        "/api/v1/auth/token/", {"username": "host", "password": DEMO_PASSWORD}, format="json"), PUBLIC),
    Row("auth-logout", "post", logout("/api/v1/auth/logout/"), LOGGED_IN),
    Row("auth-logout-all", "post", logout("/api/v1/auth/logout-all/"), LOGGED_IN),
    Row("availability", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/availability/", {"date": w.day.isoformat(), "party_size": 2}), PUBLIC),
    Row("availability", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/availability/", {"date": w.day.isoformat(), "party_size": 2, "channel": "phone"}),
        STAFF_BOOK),
    Row("reservations", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/reservations/", {"date": w.day.isoformat()}), STAFF_BOOK),
    Row("reservations", "post", booking("online"), dict.fromkeys(USERS, 201), sees=anonymous_echo),
    Row("reservations", "post", booking("phone"), {**STAFF_BOOK, **dict.fromkeys(OWN, 201)}),
    Row("reservations", "post", booking("phone", override={"reason": "regular"}),
        {**STAFF_BOOK, **dict.fromkeys(HOSTS, 403), "manager": 201, "admin": 201}),
    Row("walk-ins", "post", lambda api, w: api.post(
        "/api/v1/restaurants/samna/walk-ins/", {"party_size": 2}, format="json"),
        {**STAFF_BOOK, **dict.fromkeys(OWN, THROUGH_THE_WALL)}),
    Row("waitlist", "get", lambda api, w: api.get("/api/v1/restaurants/samna/waitlist/"), STAFF_BOOK),
    Row("refusals", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/refusals/", {"date": w.day.isoformat()}), STAFF_BOOK),
    Row("comps", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/comps/", {"date": w.day.isoformat()}), STAFF_BOOK, sees=the_days_comps),
    Row("staff-notes", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/staff-notes/", {"date": w.day.isoformat()}), STAFF_BOOK, sees=the_days_notes),
    Row("comp-approve", "post", lambda api, w: api.post(f"/api/v1/comps/{w.over_budget.pk}/approve/"),
        {**STAFF_ROW, **dict.fromkeys(HOSTS, 403)}),
    Row("comp-present", "post", lambda api, w: api.post(f"/api/v1/comps/{w.comp.pk}/present/"), STAFF_ROW),
    Row("reservation", "get", lambda api, w: api.get(f"/api/v1/reservations/{w.reservation.pk}/"), STAFF_ROW),
    Row("reservation-action", "post", lambda api, w: api.post(
        f"/api/v1/reservations/{w.reservation.pk}/confirm/", format="json"), STAFF_ROW),
    Row("reservation-action", "post", lambda api, w: api.post(
        f"/api/v1/reservations/{w.reservation.pk}/cancel/", format="json"), STAFF_ROW),
    Row("waitlist-seat", "post", lambda api, w: api.post(f"/api/v1/waitlist/{w.entry.pk}/seat/", format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, THROUGH_THE_WALL)}),
    Row("waitlist-notify", "post", lambda api, w: api.post(
        f"/api/v1/waitlist/{w.entry.pk}/notify/", format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, THROUGH_THE_WALL)}),
    Row("waitlist-leave", "post", lambda api, w: api.post(f"/api/v1/waitlist/{w.entry.pk}/leave/", format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, THROUGH_THE_WALL)}),
    Row("guests", "get", lambda api, w: api.get("/api/v1/guests/", {"phone": PHONE}),
        {**STAFF_BOOK, "steak-host": 200, "steak-manager": 200}, sees=search_result),
    Row("guests", "get", lambda api, w: api.get("/api/v1/guests/"),
        {**STAFF_BOOK, "steak-host": 200, "steak-manager": 200}, sees=search_result),
    Row("guest", "get", lambda api, w: api.get(f"/api/v1/guests/{w.guest.pk}/"), STAFF_ROW),
    Row("guest", "patch", lambda api, w: api.patch(
        f"/api/v1/guests/{w.guest.pk}/", {"notes": "prefers the terrace"}, format="json"), STAFF_ROW),
    Row("reservation-history", "get", lambda api, w: api.get(f"/api/v1/reservations/{w.reservation.pk}/history/"),
        STAFF_ROW, sees=the_bookings_record),
    # A guest's own data is for managers: a host of the group is refused (403), another group's staff find nothing.
    Row("guest-export", "get", lambda api, w: api.get(f"/api/v1/guests/{w.guest.pk}/export/"),
        {**STAFF_ROW, **dict.fromkeys(HOSTS, 403)}, sees=the_guests_export),
    Row("guest-erase", "post", lambda api, w: api.post(f"/api/v1/guests/{w.guest.pk}/erase/"),
        {**STAFF_ROW, **dict.fromkeys(HOSTS, 403)}, sees=the_guest_erased),
    Row("comp-reaction", "post", lambda api, w: api.post(
        f"/api/v1/comps/{w.comp.pk}/reaction/", {"reaction": "pleased"}, format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, 409)}),  # not presented yet
    Row("reservation-gestures", "post", lambda api, w: api.post(
        f"/api/v1/reservations/{w.reservation.pk}/gestures/", {"reason": "regulars"}, format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, 201)}),
    Row("reservation-outcomes", "get", lambda api, w: api.get(f"/api/v1/reservations/{w.reservation.pk}/outcomes/"),
        STAFF_ROW),
    Row("reservation-outcomes", "post", lambda api, w: api.post(
        f"/api/v1/reservations/{w.reservation.pk}/outcomes/",
        {"outcomes": [{"expectation": "window_seat", "outcome": "wow"}]}, format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, 409)}),  # the party has not come yet
    Row("report-recovery", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/reports/recovery/", {"from": w.day.isoformat(), "to": w.day.isoformat()}),
        {**STAFF_BOOK, **dict.fromkeys(HOSTS, 403)}),
    # No decided bookings yet, so no history for the service: a manager's click is a 400 naming `service`.
    Row("report-overbooking-cap", "post", lambda api, w: api.post(
        "/api/v1/restaurants/samna/reports/overbooking-cap/", {"service": "all day"}, format="json"),
        {**STAFF_BOOK, **dict.fromkeys(HOSTS, 403), "manager": 400, "admin": 400}),
    Row("recovery-cases", "get", lambda api, w: api.get(
        "/api/v1/restaurants/samna/recovery-cases/", {"status": "open"}), STAFF_BOOK, sees=the_open_cases),
    Row("recovery-case", "get", lambda api, w: api.get(f"/api/v1/restaurants/samna/recovery-cases/{w.case.pk}/"),
        STAFF_BOOK),
    Row("recovery-case-actions", "post", lambda api, w: api.post(
        f"/api/v1/restaurants/samna/recovery-cases/{w.case.pk}/actions/", {"kind": "apology"}, format="json"),
        {**STAFF_BOOK, **dict.fromkeys(OWN, 201)}),
    Row("recovery-case-resolve", "post", lambda api, w: api.post(
        f"/api/v1/restaurants/samna/recovery-cases/{w.case.pk}/resolve/", format="json"),
        {**STAFF_BOOK, **dict.fromkeys(HOSTS, 403)}),
    Row("recovery-case-lose", "post", lambda api, w: api.post(
        f"/api/v1/restaurants/samna/recovery-cases/{w.case.pk}/lose/", format="json"),
        {**STAFF_BOOK, **dict.fromkeys(HOSTS, 403)}),
    Row("reservation-mistakes", "post", lambda api, w: api.post(
        f"/api/v1/reservations/{w.reservation.pk}/mistakes/", {"what": "spilled_drink"}, format="json"),
        {**STAFF_ROW, **dict.fromkeys(OWN, 201)}),
    # Only Twilio's signature opens it, never a login: the guest's "X" from anyone else cancels nothing.
    Row("sms-inbound", "post", lambda api, w: api.post(
        "/sms/inbound/", {"From": PHONE, "Body": "X"}), dict.fromkeys(USERS, 403)),
    Row("sms-status", "post", lambda api, w: api.post(
        "/sms/status/", {"MessageSid": "SM1", "MessageStatus": "undelivered"}), dict.fromkeys(USERS, 403)),
    # Open to all (a load balancer asks it), and it tells nothing of any restaurant.
    Row("healthz", "get", lambda api, w: api.get("/healthz/"), PUBLIC),
]
CASES = [(row, who) for row in ROWS for who in USERS]


@pytest.mark.parametrize(("row", "who"), CASES,
                         ids=[f"{r.method}-{r.name}-{i}-{who}" for i, r in enumerate(ROWS) for who in USERS])
def test_the_wall(world, staff, row: Row, who: str):
    def comps() -> list[str]:
        return [g.status for g in Gesture.objects.filter(pk__in=[world.comp.pk, world.over_budget.pk]).order_by("pk")]

    def case() -> tuple:
        return (RecoveryCase.objects.get(pk=world.case.pk).status, world.case.actions.count(),
                RecoveryCase.objects.count())

    before = {"reservation": world.reservation.status, "notes": world.guest.notes, "entry": world.entry.status,
              "comps": comps(), "told": world.entry.notified_at, "case": case()}

    response = row.call(client(who, staff), world)

    expected = row.expected[who]
    allowed = expected if isinstance(expected, set) else {expected}
    body = response.json() if response.content else {}
    assert response.status_code in allowed, (who, response.status_code, body)
    if response.status_code >= 400:
        assert body["code"] and body["detail"]
    if response.status_code in (401, 403, 404):
        # Stopped at the wall: nothing of Samna's changed.
        world.reservation.refresh_from_db()
        world.guest.refresh_from_db()
        world.entry.refresh_from_db()
        assert before == {"reservation": world.reservation.status, "notes": world.guest.notes,
                          "entry": world.entry.status, "comps": comps(), "told": world.entry.notified_at,
                          "case": case()}
        if response.status_code == 404:
            assert str(world.guest.name) not in str(body) and PHONE not in str(body)
    elif response.status_code < 400 and row.sees is not None:
        row.sees(response, world, who)


METHODS = ("get", "post", "put", "patch", "delete")
# Beside /api/v1/: Twilio's webhooks (a login opens nothing there either) and the health check.
BESIDE_THE_API = ("sms/", "healthz/")


def _routes(patterns=None, prefix: str = ""):
    """Every URL pattern under the resolver as (route, pattern), includes walked into."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route, pattern


def _openapi_path(route: str) -> str:
    """`api/v1/reservations/<int:pk>/` as the schema writes it: `/api/v1/reservations/{id}/`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{%s}" % ("id" if m[1] == "pk" else m[1]), route)


def _schema_operations() -> set[tuple[str, str]]:
    document = APIClient().get("/api/schema/", {"format": "json"}).json()
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def _endpoints() -> set[tuple[str, str, str]]:
    """(URL name, method, schema path) of every endpoint, from the URL resolver: a class-based view's methods
    from the class, a plain function view's (which answers any) from the schema."""
    documented = _schema_operations()
    found = set()
    for route, pattern in _routes():
        if not route.startswith(("api/v1/", *BESIDE_THE_API)):
            continue
        path = _openapi_path(route)
        view = getattr(pattern.callback, "view_class", None)
        methods = ([m for m in METHODS if hasattr(view, m)] if view is not None
                   else [m for p, m in documented if p == path])
        assert methods, f"{route}: no method found (a function view must be in the schema)"
        found.update((pattern.name, method, path) for method in methods)
    return found


def test_every_endpoint_has_rows_in_the_table():
    """Every URL pattern × method the resolver serves under /api/v1/ (and the webhooks, /healthz/) has a row,
    and every row is still an endpoint."""
    assert {(name, method) for name, method, _ in _endpoints()} == {(row.name, row.method) for row in ROWS}


def test_the_schema_documents_every_endpoint_and_nothing_else():
    """The OpenAPI schema (what Schemathesis fuzzes, tests/fuzz/) and the URL resolver list the same
    operations: an endpoint missing from the schema would never be fuzzed."""
    assert _schema_operations() == {(path, method) for _, method, path in _endpoints()}


VIEW_MODULES = ["reservations.api.views", "reservations.api.gesture_views", "reservations.desk.views",
                "reservations.guest_page.views", "recovery.api.views", "recovery.reports_api", "recovery.desk",
                "recovery.views"]


@pytest.mark.parametrize("module", VIEW_MODULES)
def test_views_reach_rows_only_through_the_access_module(module):
    """No view fetches by id or lists on its own: every lookup goes through `reservations.access` (the API's,
    the desk's, the guest page's and recovery's alike)."""
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert ".objects" not in source
    assert "selectors.reservation_get(pk)" not in source


def test_a_chains_guest_is_known_at_its_restaurants_and_no_other(samna, steakhouse, staff, tuesday):
    from tests.factories import small_restaurant

    sister = small_restaurant(slug="samna-podil", group=samna.group)
    first = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Olena K.", phone=PHONE), expectations=["window_seat"])
    at_sister = reservation_create(restaurant=sister, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                   guest=GuestDetails(name="Olena", phone=PHONE))
    next_door = reservation_create(restaurant=steakhouse, start=kyiv(tuesday, "19:00"), party_size=2,
                                   channel="phone", guest=GuestDetails(name="O. Kovalenko", phone=PHONE))

    assert at_sister.guest == first.guest  # one chain, one profile
    assert first.guest.expectations == ["window_seat"]
    assert next_door.guest != first.guest  # another group keeps its own
    assert next_door.guest.name == "O. Kovalenko" and next_door.guest.expectations == []
    assert Guest.objects.filter(phone=PHONE).count() == 2
    assert Restaurant.objects.filter(group=samna.group).count() == 2


# --- a role is the membership's: `duo` manages The Steakhouse and hosts at Samna --------------------------------

# The manager-only operations, each with the answer a manager gets (no decided bookings yet: the cap is a 400
# naming `service`) and the 403 code a host gets. The same call at either restaurant.
MANAGERS_ONLY = {
    "override": (201, "override_forbidden"),
    "comp-approve": (200, "managers_only"),
    "guest-export": (200, "managers_only"),
    "guest-erase": (200, "managers_only"),
    "report-recovery": (200, "managers_only"),
    "report-overbooking-cap": (400, "managers_only"),
    "recovery-case-resolve": (200, "managers_only"),
}


def _managers_call(name: str, api: APIClient, slug: str, w: World):
    day = w.day.isoformat()
    calls = {
        "override": lambda: api.post(f"/api/v1/restaurants/{slug}/reservations/", {
            "start": at(w.day, "20:00"), "party_size": 2, "channel": "phone", "override": {"reason": "regular"},
            "guest": {"name": "Taras", "phone": "+380501112233"}}, format="json"),
        "comp-approve": lambda: api.post(f"/api/v1/comps/{w.over_budget.pk}/approve/"),
        "guest-export": lambda: api.get(f"/api/v1/guests/{w.guest.pk}/export/"),
        "guest-erase": lambda: api.post(f"/api/v1/guests/{w.guest.pk}/erase/"),
        "report-recovery": lambda: api.get(f"/api/v1/restaurants/{slug}/reports/recovery/", {"from": day, "to": day}),
        "report-overbooking-cap": lambda: api.post(f"/api/v1/restaurants/{slug}/reports/overbooking-cap/",
                                                   {"service": "all day"}, format="json"),
        "recovery-case-resolve": lambda: api.post(f"/api/v1/restaurants/{slug}/recovery-cases/{w.case.pk}/resolve/",
                                                  format="json"),
    }
    return calls[name]()


def _world_at(restaurant, host, day) -> World:
    """A booking with a guest, an over-budget comp waiting for a manager and an open case, at `restaurant`."""
    reservation = reservation_create(restaurant=restaurant, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                                     guest=GuestDetails(name="Olena K.", phone=PHONE), by=host)
    restaurant.gesture_budget_per_service = 0  # every comp is over the budget: it waits for a manager
    restaurant.save()
    over_budget = gesture_offer(reservation=reservation, occasion="won_back", reason="turned away last week")
    assert over_budget.status == "needs_approval"
    case = mistake_log(reservation=reservation, what="wrong_dish", by=host)
    return World(restaurant, reservation, None, reservation.guest, day, None, over_budget, case)


# (restaurant, the duo's role there): the answer is the role's, never the person's best role elsewhere.
DUO_AT = [("steakhouse", "manager"), ("samna", "host")]


@pytest.mark.parametrize("name", list(MANAGERS_ONLY))
@pytest.mark.parametrize(("slug", "role"), DUO_AT)
def test_a_manager_next_door_is_a_host_here(samna, steakhouse, staff, tuesday, slug, role, name):
    restaurant = {"samna": samna, "steakhouse": steakhouse}[slug]
    host = staff["host" if slug == "samna" else "steak-host"]
    w = _world_at(restaurant, host, tuesday)
    bookings_before = Reservation.objects.filter(restaurant=restaurant).count()

    response = _managers_call(name, _client_for(staff["duo"]), slug, w)

    managers_status, hosts_code = MANAGERS_ONLY[name]
    body = response.json() if response.content else {}
    if role == "manager":
        assert response.status_code == managers_status, body
        return
    assert (response.status_code, body.get("code")) == (403, hosts_code), body
    assert body["detail"]
    # Refused as a host is: nothing at Samna changed.
    w.over_budget.refresh_from_db()
    w.guest.refresh_from_db()
    w.case.refresh_from_db()
    assert (w.over_budget.status, w.guest.name, w.case.status) == ("needs_approval", "Olena K.", "open")
    assert Reservation.objects.filter(restaurant=restaurant).count() == bookings_before
