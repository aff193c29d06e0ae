"""Guests: one profile per phone, visits counted from completed bookings, expectations remembered."""

from __future__ import annotations

import pytest

from reservations.models import Guest
from tests.conftest import at
from tests.factories import GuestFactory

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"
GUEST_FIELDS = {"id", "name", "phone", "visits", "first_visit", "tags", "expectations", "notes", "sms_opt_out"}
RESERVATIONS = "/api/v1/restaurants/samna/reservations/"


def book(api, day, hhmm: str, *, phone: str = PHONE, name: str = "Olena K.", expectations=(), channel="phone"):
    response = api.post(RESERVATIONS, {
        "start": at(day, hhmm), "party_size": 2, "channel": channel,
        "guest": {"name": name, "phone": phone}, "expectations": list(expectations),
    }, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def act(api, reservation: dict, action: str) -> dict:
    response = api.post(f"/api/v1/reservations/{reservation['id']}/{action}/", format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def find(api, phone: str = PHONE) -> list[dict]:
    response = api.get("/api/v1/guests/", {"phone": phone})  # encoded: "+" travels as %2B
    assert response.status_code == 200, response.json()
    return response.json()


def test_lookup_by_phone_returns_the_profile(samna, host_api, tuesday):
    booking = book(host_api, tuesday, "19:00", expectations=["window_seat"])
    GuestFactory(group=samna.group, phone="+380501112233")  # someone else

    guests = find(host_api)

    assert len(guests) == 1
    guest = guests[0]
    assert set(guest) >= GUEST_FIELDS
    assert guest == {**guest, "id": booking["guest"]["id"], "name": "Olena K.", "phone": PHONE, "visits": 0,
                     "first_visit": True, "tags": [], "expectations": ["window_seat"], "notes": "",
                     "sms_opt_out": False}


def test_lookup_accepts_a_raw_plus_which_arrives_as_a_space(samna, host_api):
    GuestFactory(group=samna.group, phone=PHONE, name="Olena K.")
    GuestFactory(group=samna.group, phone="+380501112233")

    encoded = host_api.get("/api/v1/guests/?phone=%2B380671234567")
    raw = host_api.get(f"/api/v1/guests/?phone={PHONE}")  # the "+" is decoded to " "

    assert encoded.status_code == raw.status_code == 200
    assert [g["phone"] for g in encoded.json()] == [PHONE]
    assert raw.json() == encoded.json()


def test_lookup_of_an_unknown_phone_is_an_empty_list(samna, host_api):
    GuestFactory(group=samna.group, phone="+380501112233")

    assert find(host_api, "+380671000000") == []


@pytest.mark.parametrize("phone", ["not-a-phone", "+38012", "12ab"])
def test_an_invalid_phone_in_the_query_is_a_400(samna, host_api, phone):
    response = host_api.get("/api/v1/guests/", {"phone": phone})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "phone" in body["fields"]


def test_visits_count_only_completed_reservations(samna, host_api, tuesday):
    first = book(host_api, tuesday, "13:00")
    assert first["guest"]["first_visit"] is True

    act(host_api, first, "seat")
    act(host_api, first, "complete")
    cancelled = book(host_api, tuesday, "19:00")
    act(host_api, cancelled, "cancel")
    book(host_api, tuesday, "20:30")  # booked, not yet visited

    [guest] = find(host_api)
    assert guest["visits"] == 1
    assert guest["first_visit"] is False


def test_a_booking_tells_whether_it_is_the_guests_first_visit(samna, host_api, tuesday):
    newcomer = book(host_api, tuesday, "13:00")
    assert newcomer["guest"]["first_visit"] is True
    cancelled = book(host_api, tuesday, "15:00")
    act(host_api, cancelled, "cancel")
    assert book(host_api, tuesday, "16:00", phone="+380501112233")["guest"]["first_visit"] is True

    act(host_api, newcomer, "seat")
    act(host_api, newcomer, "complete")
    regular = book(host_api, tuesday, "20:00")

    assert regular["guest"]["id"] == newcomer["guest"]["id"]
    assert regular["guest"]["first_visit"] is False
    detail = host_api.get(f"/api/v1/reservations/{regular['id']}/").json()
    assert detail["guest"]["first_visit"] is False


def test_expectations_from_bookings_are_merged_into_the_profile_without_duplicates(samna, host_api, tuesday):
    book(host_api, tuesday, "13:00", expectations=["kids_menu", "window_seat"])
    book(host_api, tuesday, "19:00", expectations=["window_seat", "high_chair"])
    book(host_api, tuesday, "20:00", channel="online", expectations=["kids_menu"])

    # The online booking's unproven phone has a record of its own, apart from the profile.
    [guest] = [g for g in find(host_api) if g["phone_verified"]]

    assert sorted(guest["expectations"]) == ["high_chair", "kids_menu", "window_seat"]
    assert len(guest["expectations"]) == len(set(guest["expectations"]))
    assert Guest.objects.filter(phone_verified=True).count() == 1


def test_get_one_guest_by_id(samna, host_api):
    guest = GuestFactory(group=samna.group, name="Mykola", tags=["regular"], notes="Likes the corner table")

    response = host_api.get(f"/api/v1/guests/{guest.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= GUEST_FIELDS
    assert (body["id"], body["name"], body["phone"]) == (guest.pk, "Mykola", str(guest.phone))
    assert (body["tags"], body["notes"], body["visits"], body["first_visit"]) == (
        ["regular"], "Likes the corner table", 0, True)
    missing = host_api.get(f"/api/v1/guests/{guest.pk + 1000}/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_patch_tags_and_notes(samna, host_api):
    guest = GuestFactory(group=samna.group, tags=["regular"], notes="")

    response = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"tags": ["regular", "vip"], "notes": "Allergic to nuts"},
                              format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["tags"], response.json()["notes"]) == (["regular", "vip"], "Allergic to nuts")
    again = host_api.get(f"/api/v1/guests/{guest.pk}/").json()
    assert (again["tags"], again["notes"]) == (["regular", "vip"], "Allergic to nuts")
    guest.refresh_from_db()
    assert guest.tags == ["regular", "vip"] and guest.notes == "Allergic to nuts"


def test_patch_rejects_bad_input(samna, host_api):
    guest = GuestFactory(group=samna.group, tags=["regular"])

    response = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"tags": "vip"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    guest.refresh_from_db()
    assert guest.tags == ["regular"]


def test_guests_are_staff_only(samna, anon_api):
    guest = GuestFactory(group=samna.group)

    answers = [
        anon_api.get("/api/v1/guests/", {"phone": str(guest.phone)}),
        anon_api.get(f"/api/v1/guests/{guest.pk}/"),
        anon_api.patch(f"/api/v1/guests/{guest.pk}/", {"notes": "x"}, format="json"),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert {a.json()["code"] for a in answers} == {"not_authenticated"}
    guest.refresh_from_db()
    assert guest.notes == ""


# --- the public learns nothing stored ---------------------------------------------------------------------


def test_an_anonymous_booking_with_a_known_phone_learns_nothing_and_changes_nothing(samna, host_api, anon_api,
                                                                                    tuesday):
    known = book(host_api, tuesday, "13:00", name="Olena Kovalenko", expectations=["window_seat"])
    act(host_api, known, "seat")
    act(host_api, known, "complete")
    host_api.patch(f"/api/v1/guests/{known['guest']['id']}/", {"notes": "VIP, allergic to nuts"}, format="json")

    stranger = anon_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "online",
        "guest": {"name": "Someone Else", "phone": PHONE}, "expectations": ["kids_menu"], "notes": "stroller",
    }, format="json")

    assert stranger.status_code == 201, stranger.json()
    body = stranger.json()
    assert body["guest"] == {"name": "Someone Else", "phone": PHONE}  # not the stored name, id or first visit
    assert "Olena" not in str(body) and "VIP" not in str(body)
    [profile] = [g for g in find(host_api) if g["phone_verified"]]
    assert (profile["name"], profile["expectations"], profile["notes"]) == (
        "Olena Kovalenko", ["window_seat"], "VIP, allergic to nuts")
    # What the stranger brought stays on the reservation, for staff to see.
    staff_view = host_api.get(f"/api/v1/reservations/{body['id']}/").json()
    assert (staff_view["expectations"], staff_view["notes"]) == (["kids_menu"], "stroller")
    # … on a record of its own (issue 16): nobody proved the phone, so the regular's history is not linked.
    assert staff_view["guest"]["id"] != profile["id"] and staff_view["guest"]["phone_verified"] is False


def test_a_non_staff_login_is_the_public_too(samna, host_api, diner_api, tuesday):
    book(host_api, tuesday, "13:00", name="Olena Kovalenko")

    answer = diner_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "guest": {"name": "Someone Else", "phone": PHONE},
    }, format="json")

    assert answer.status_code == 201
    assert answer.json()["guest"] == {"name": "Someone Else", "phone": PHONE}


@pytest.mark.parametrize(("channel", "guest", "missing"), [
    ("online", {"name": "Olena"}, {"guest.phone"}),
    ("online", {"phone": PHONE}, {"guest.name"}),
    ("phone", {"name": "Olena"}, {"guest.phone"}),
    ("phone", {"phone": PHONE, "name": "   "}, {"guest.name"}),
    ("phone", None, {"guest.name", "guest.phone"}),
    ("host", {"phone": PHONE}, {"guest.name"}),
    ("host", None, {"guest.name"}),
])
def test_every_booking_but_a_walk_in_names_its_guest(samna, manager_api, tuesday, channel, guest, missing):
    body = {"start": at(tuesday, "20:00"), "party_size": 2, "channel": channel}
    if guest is not None:
        body["guest"] = guest

    response = manager_api.post(RESERVATIONS, body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) == missing
    assert Guest.objects.count() == 0


def test_a_host_booking_needs_no_phone_and_a_walk_in_needs_no_name(samna, host_api, tuesday):
    named = host_api.post(RESERVATIONS, {"start": at(tuesday, "20:00"), "party_size": 2, "channel": "host",
                                         "guest": {"name": "Table by the door"}}, format="json")
    nameless = host_api.post(RESERVATIONS, {"start": at(tuesday, "20:00"), "party_size": 2, "channel": "walk_in"},
                             format="json")

    assert named.status_code == 201, named.json()
    assert nameless.status_code == 201, nameless.json()
    assert nameless.json()["guest"] is None


# --- staff correct a profile ------------------------------------------------------------------------------


def test_patch_a_phone_is_stored_in_e164(samna, host_api):
    guest = GuestFactory(group=samna.group)

    response = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"phone": "+380 67 765 43 21"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["phone"] == "+380677654321"
    guest.refresh_from_db()
    assert str(guest.phone) == "+380677654321"


@pytest.mark.parametrize("phone", ["not-a-phone", "+38012", 12345, None])
def test_patch_an_invalid_phone_is_a_400_naming_it(samna, host_api, phone):
    guest = GuestFactory(group=samna.group)
    before = str(guest.phone)

    response = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"phone": phone, "notes": "x"}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert "phone" in response.json()["fields"]
    guest.refresh_from_db()
    assert (str(guest.phone), guest.notes) == (before, "")


def test_patch_a_phone_another_guest_of_the_group_has_is_a_409(samna, steakhouse, host_api):
    guest = GuestFactory(group=samna.group)
    other = GuestFactory(group=samna.group)
    GuestFactory(group=steakhouse.group, phone="+380501234567")  # another group's: no conflict

    taken = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"phone": str(other.phone)}, format="json")
    free = host_api.patch(f"/api/v1/guests/{guest.pk}/", {"phone": "+380501234567"}, format="json")

    assert taken.status_code == 409 and taken.json()["code"] == "phone_taken"
    assert free.status_code == 200


@pytest.mark.parametrize("body", [[], "x", 5])
def test_patch_a_body_that_is_not_an_object_is_a_400(samna, host_api, body):
    guest = GuestFactory(group=samna.group)

    response = host_api.patch(f"/api/v1/guests/{guest.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


class _Counted(str):
    """A word that counts how often it is compared: the work merging does, independent of the clock."""

    comparisons = 0

    def __eq__(self, other) -> bool:
        _Counted.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _comparisons_to_merge(n: int) -> int:
    from reservations.services.guests import merge_unique

    _Counted.comparisons = 0
    merge_unique([_Counted(f"old {i}") for i in range(n)], [_Counted(f"new {i}") for i in range(n)])
    return _Counted.comparisons


def test_merging_expectations_grows_linearly_and_a_profile_keeps_the_latest_twenty():
    """It runs under the day lock: twice the words may cost twice the work, never four times (it was n²)."""
    from reservations.bounds import MAX_EXPECTATIONS
    from reservations.services.guests import merge_unique

    small, large = _comparisons_to_merge(500), _comparisons_to_merge(1000)
    assert large <= 2 * small + 10, (small, large)
    kept = merge_unique([f"old {i}" for i in range(20)], ["old 3", "new"], keep=MAX_EXPECTATIONS)
    assert kept == [f"old {i}" for i in range(1, 20)] + ["new"]
