"""The public path (issue 16): what an anonymous caller of the online booking can and cannot make us do.

Until a phone is proven, an anonymous booking must not reach a real guest's profile, queue a gesture, be offered
a freed table, or text any number without limit; and an anonymous caller never sees another's answer, nor a
staff-shaped one. Each test reads what a guest or a member of staff would see: API answers, texts, the desk.
"""

from __future__ import annotations

import pytest

from reservations.models import Gesture, Guest, OutboundMessage, Reservation
from reservations.services.gestures import guest_prepare
from tests.desk.conftest import desk_client

from .test_api_reservations import assert_error, booking, post

STORED_PHONE = "+380671234599"


@pytest.fixture
def real_guest(samna) -> Guest:
    """A regular the restaurant knows by phone: their name, notes and expectations are the staff's."""
    return Guest.objects.create(group=samna.group, name="Olena Kovalenko", phone=STORED_PHONE,
                                notes="Allergic to nuts; VIP", expectations=["window_seat"])


def from_address(client, address: str):
    client.defaults["REMOTE_ADDR"] = address
    return client


# --- idempotency: keys an anonymous client proves -------------------------------------------------------------


def test_anonymous_keys_are_not_shared_by_an_address_and_give_nothing_away(samna, tuesday):
    from rest_framework.test import APIClient

    alice, bob, carol = APIClient(), APIClient(), APIClient()  # one office's router: one address
    first = post(alice, booking(tuesday, "19:00", n=1), **{"Idempotency-Key": "alice-key"})
    own = post(bob, booking(tuesday, "20:00", n=2), **{"Idempotency-Key": "bob-key"})
    # Carol reuses Alice's key with a body of her own: refused, and nothing of Alice's booking in the answer.
    reused = post(carol, booking(tuesday, "21:00", n=3), **{"Idempotency-Key": "alice-key"})

    assert first.status_code == 201, first.content
    assert own.status_code == 201 and own.json()["guest"]["name"] == "Guest 2"
    assert_error(reused, 422, "idempotency_key_reused")
    assert "Guest 1" not in reused.content.decode() and str(first.json()["id"]) not in reused.content.decode()
    assert Reservation.objects.count() == 2


def test_an_anonymous_retry_whose_answer_was_lost_shows_only_what_it_sent(anon_api, samna, tuesday, real_guest):
    body = booking(tuesday, "20:00")
    body["guest"] = {"name": "Someone", "phone": STORED_PHONE}
    first = post(anon_api, body, **{"Idempotency-Key": "lost-1"})
    assert first.status_code == 201, first.content
    # As if the process died between the booking's commit and keeping the body it sent.
    from reservations.models import IdempotencyKey

    IdempotencyKey.objects.filter(key="lost-1").update(response_body=None)

    again = post(anon_api, body, **{"Idempotency-Key": "lost-1"})

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["guest"] == {"name": "Someone", "phone": STORED_PHONE}
    assert "Olena" not in again.content.decode() and "Allergic" not in again.content.decode()
    assert again.json() == first.json()


# --- a real guest's profile is not the caller's to write to --------------------------------------------------


def test_an_anonymous_booking_leaves_a_real_guests_profile_and_history_alone(anon_api, manager_api, samna, tuesday,
                                                                         real_guest):
    body = booking(tuesday, "20:00", expectations=["birthday"], notes="Bring the ring to table 1")
    body["guest"] = {"name": "Mallory", "phone": STORED_PHONE}
    made = post(anon_api, body)
    assert made.status_code == 201, made.content

    seen = manager_api.get(f"/api/v1/reservations/{made.json()['id']}/").json()
    assert seen["guest"]["phone_verified"] is False
    assert seen["guest"]["id"] != real_guest.pk
    assert seen["guest"]["name"] == "Mallory"
    # The regular's profile shows nothing of it: not the booking, not its wishes.
    assert not Reservation.objects.filter(guest=real_guest).exists()
    real_guest.refresh_from_db()
    assert (real_guest.name, real_guest.expectations) == ("Olena Kovalenko", ["window_seat"])
    assert manager_api.get(f"/api/v1/guests/?phone={STORED_PHONE}").status_code == 200


def test_staff_see_a_proven_phone_as_verified(host_api, samna, tuesday):
    made = post(host_api, booking(tuesday, "20:00", channel="phone"))
    assert made.status_code == 201, made.content
    assert made.json()["guest"]["phone_verified"] is True


# --- no gesture for an unproven phone ------------------------------------------------------------------------


def test_an_anonymous_celebration_or_first_visit_queues_no_gesture(anon_api, samna, tuesday):
    samna.first_visit_gesture = True
    samna.save()
    made = post(anon_api, booking(tuesday, "20:00", expectations=["birthday", "celebrating"]))
    assert made.status_code == 201, made.content

    guest_prepare(reservation_id=made.json()["id"])

    assert not Gesture.objects.exists()


# --- caps per phone, per number prefix, per address, per day -------------------------------------------------


def test_past_the_phone_cap_an_anonymous_booking_is_429_and_nothing_is_written_or_texted(anon_api, samna, tuesday,
                                                                                       settings):
    settings.PUBLIC_BOOKINGS_PER_PHONE_PER_DAY = 2
    for hhmm in ("18:00", "19:00"):
        assert post(anon_api, booking(tuesday, hhmm, n=7)).status_code == 201

    refused = post(anon_api, booking(tuesday, "20:00", n=7))

    assert_error(refused, 429, "too_many_requests")
    assert 0 < int(refused["Retry-After"]) <= 24 * 3600  # until the day's counts start again
    assert Reservation.objects.count() == 2
    assert OutboundMessage.objects.count() == 2  # the two confirmations, no third text
    # Another number is not held back by this one's cap.
    assert post(anon_api, booking(tuesday, "20:00", n=8)).status_code == 201


def test_a_range_of_numbers_shares_one_cap_per_day(anon_api, samna, tuesday, settings):
    settings.PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY = 3
    for n, hhmm in enumerate(("18:00", "19:00", "20:00")):  # +380671230000 … 0002: one prefix, three numbers
        assert post(anon_api, booking(tuesday, hhmm, n=n)).status_code == 201

    refused = post(anon_api, booking(tuesday, "21:00", n=3))

    assert_error(refused, 429, "too_many_requests")
    assert Reservation.objects.count() == 3 and OutboundMessage.objects.count() == 3


def test_one_address_has_a_cap_per_day_and_staff_are_not_capped(anon_api, host_api, samna, tuesday, settings):
    settings.PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY = 2
    from_address(anon_api, "198.51.100.7")
    assert post(anon_api, booking(tuesday, "18:00", guest={"name": "A", "phone": "+380501110011"})).status_code == 201
    assert post(anon_api, booking(tuesday, "19:00", guest={"name": "B", "phone": "+380931110012"})).status_code == 201

    refused = post(anon_api, booking(tuesday, "20:00", guest={"name": "C", "phone": "+380661110013"}))

    assert_error(refused, 429, "too_many_requests")
    assert Reservation.objects.count() == 2
    for n in range(3):  # the host on the phone books whoever calls
        assert post(host_api, booking(tuesday, "21:00", channel="phone", n=20 + n)).status_code == 201


# --- the desk shows an unproven phone ------------------------------------------------------------------------


def test_the_desk_shows_an_unverified_phone_on_the_booking(anon_api, host_api, staff, samna, tuesday):
    online = post(anon_api, booking(tuesday, "20:00", n=1)).json()
    by_phone = post(host_api, booking(tuesday, "19:00", channel="phone", n=2)).json()

    page = desk_client(staff["host"]).get(f"/desk/samna/?date={tuesday.isoformat()}")

    html = page.content.decode()
    assert 'data-badge="phone_unverified"' in html
    assert html.count('data-badge="phone_unverified"') == 1
    panel = desk_client(staff["host"]).get(f"/desk/samna/r/{online['id']}/").content.decode()
    assert "phone not verified" in panel
    assert "phone not verified" not in desk_client(staff["host"]).get(
        f"/desk/samna/r/{by_phone['id']}/").content.decode()

