"""Phones as a host types them: a local number is read in the restaurant's country and kept in E.164."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from reservations.models import Guest, Reservation, Restaurant
from reservations.services.guests import phone_read

from ..conftest import at
from .test_walk_ins import set_local_hour

RESERVATIONS = "/api/v1/restaurants/samna/reservations/"
WALK_INS = "/api/v1/restaurants/samna/walk-ins/"

# (typed, the restaurant's country, E.164 by hand: drop the trunk 0, add the country code)
READ = [
    ("067 123 45 67", "UA", "+380671234567"),
    ("(067) 123-45-67", "UA", "+380671234567"),
    ("0671234567", "UA", "+380671234567"),
    ("+380 67 123 45 67", "UA", "+380671234567"),
    ("+44 20 7946 0958", "UA", "+442079460958"),  # an international number keeps its own country
    ("00 44 20 7946 0958", "UA", "+442079460958"),  # Ukraine's international prefix
    ("020 7946 0958", "GB", "+442079460958"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("+380671234567", "DE", "+380671234567"),
]


@pytest.fixture
def open_now(samna):
    set_local_hour(samna, 14)  # inside Samna's 12:00–22:00 seating hours
    return samna


@pytest.mark.parametrize(("typed", "country", "e164"), READ, ids=[f"{c}:{t}" for t, c, _ in READ])
def test_a_typed_phone_is_read_in_the_restaurants_country(typed, country, e164):
    assert phone_read(typed, Restaurant(country=country)) == e164


GARBAGE = ["12345", "call me", "1-800-FLOWERS", "", "   ", "+380 12", "067 123 45 67 89 00", "+999 123 456 789"]


@pytest.mark.parametrize("typed", GARBAGE)
def test_what_is_not_a_phone_is_refused_saying_what_to_type(typed):
    with pytest.raises(ValidationError) as refused:
        phone_read(typed, Restaurant(country="UA"))

    assert refused.value.code == "invalid_phone"
    [message] = refused.value.messages
    assert "050 123 4567" in message and "+380 50 123 4567" in message  # Ukraine's own example


def test_a_local_number_means_different_countries_in_different_restaurants():
    # The same digits: a Kyiv mobile at a Ukrainian restaurant, a London number at a British one.
    assert phone_read("020 7946 0958", Restaurant(country="GB")) == "+442079460958"
    with pytest.raises(ValidationError):
        phone_read("020 7946 0958", Restaurant(country="UA"))


def test_without_a_restaurant_only_international_numbers_are_read():
    assert phone_read("+380671234567", None) == "+380671234567"
    with pytest.raises(ValidationError):
        phone_read("067 123 45 67", None)


def test_the_country_must_be_one_we_can_read_numbers_of(samna):
    samna.country = "XX"
    with pytest.raises(ValidationError) as refused:
        samna.full_clean()
    assert "country" in refused.value.message_dict


# --- through the API ----------------------------------------------------------------------------------------


def test_a_booking_with_a_local_phone_stores_and_answers_e164(samna, host_api, tuesday):
    response = host_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena K.", "phone": "067 123 45 67"},
    }, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["guest"]["phone"] == "+380671234567"
    guest = Reservation.objects.get(pk=response.json()["id"]).guest
    assert str(guest.phone) == "+380671234567"

    again = host_api.post(RESERVATIONS, {
        "start": at(tuesday, "13:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena K.", "phone": "+380671234567"},
    }, format="json")
    assert again.status_code == 201, again.json()
    assert again.json()["guest"]["id"] == guest.pk  # one guest, however the number was typed


def test_an_online_booking_reads_a_local_phone_too(samna, anon_api, tuesday):
    response = anon_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "online",
        "guest": {"name": "Olena K.", "phone": "067 123 45 67"},
    }, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["guest"]["phone"] == "+380671234567"


@pytest.mark.parametrize("typed", ["12345", "call me", "+380 12"])
def test_a_garbage_phone_is_a_400_naming_the_field_and_books_nothing(samna, host_api, tuesday, typed):
    response = host_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena K.", "phone": typed},
    }, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] and "guest.phone" in body["fields"], body
    assert "050 123 4567" in body["fields"]["guest.phone"][0]
    assert not Reservation.objects.exists() and not Guest.objects.filter(name="Olena K.").exists()


def test_a_walk_in_with_a_local_phone(open_now, host_api):
    response = host_api.post(WALK_INS, {"party_size": 2, "guest": {"name": "Taras", "phone": "050 111 22 33"}},
                              format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["reservation"]["guest"]["phone"] == "+380501112233"
    assert Guest.objects.filter(phone="+380501112233", name="Taras").exists()

    bad = host_api.post(WALK_INS, {"party_size": 2, "guest": {"name": "Taras", "phone": "no phone"}}, format="json")
    assert bad.status_code == 400 and "guest.phone" in bad.json()["fields"]


def test_correcting_a_guests_phone_reads_it_in_the_restaurants_country(samna, steakhouse, manager_api,
                                                                          steak_manager_api, tuesday):
    booked = manager_api.post(RESERVATIONS, {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena K.", "phone": "+380671234567"},
    }, format="json").json()
    guest_id = booked["guest"]["id"]

    changed = manager_api.patch(f"/api/v1/guests/{guest_id}/", {"phone": "093 765 43 21"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["phone"] == "+380937654321"
    assert str(Guest.objects.get(pk=guest_id).phone) == "+380937654321"

    refused = manager_api.patch(f"/api/v1/guests/{guest_id}/", {"phone": "93 765"}, format="json")
    assert refused.status_code == 400 and "phone" in refused.json()["fields"]
    assert str(Guest.objects.get(pk=guest_id).phone) == "+380937654321"


def test_a_british_restaurant_reads_a_british_local_number(steakhouse, steak_host_api, tuesday):
    steakhouse.country = "GB"
    steakhouse.save()

    response = steak_host_api.post(f"/api/v1/restaurants/{steakhouse.slug}/reservations/", {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Alice", "phone": "020 7946 0958"},
    }, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["guest"]["phone"] == "+442079460958"
