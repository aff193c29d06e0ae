"""The Idempotency-Key as the service keeps it: settled with the booking, in the booking's transaction."""

from __future__ import annotations

from reservations.models import IdempotencyKey, Reservation

from .test_api_reservations import assert_error, booking, post
from .test_walk_ins import WALK_INS, open_now  # noqa: F401 (a fixture)


def test_a_booking_and_its_remembered_answer_are_settled_together(host_api, samna, tuesday):
    first = post(host_api, booking(tuesday, "20:00", channel="phone"), **{"Idempotency-Key": "one-1"})

    assert first.status_code == 201, first.content
    kept = IdempotencyKey.objects.get(key="one-1")
    assert (kept.response_status, kept.reservation_id) == (201, first.json()["id"])
    assert kept.response_body == first.json()


def test_a_replay_whose_body_was_never_filled_in_is_rebuilt_from_the_booking(host_api, samna, tuesday):
    body = booking(tuesday, "20:00", channel="phone")
    first = post(host_api, body, **{"Idempotency-Key": "one-2"})
    # As if the process died between the booking's commit and keeping the body it sent.
    IdempotencyKey.objects.filter(key="one-2").update(response_body=None)

    again = post(host_api, body, **{"Idempotency-Key": "one-2"})

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1


def test_a_seated_walk_in_replay_is_rebuilt_the_same_way(open_now, host_api):  # noqa: F811
    body = {"party_size": 2}
    first = host_api.post(WALK_INS, body, format="json", headers={"Idempotency-Key": "door-1"})
    IdempotencyKey.objects.filter(key="door-1").update(response_body=None)

    again = host_api.post(WALK_INS, body, format="json", headers={"Idempotency-Key": "door-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Reservation.objects.count() == 1


def test_a_final_no_is_kept_like_any_final_answer(host_api, samna, tuesday):
    body = booking(tuesday, "20:00", channel="phone", override={"reason": "friend"})

    first = post(host_api, body, **{"Idempotency-Key": "one-3"})
    again = post(host_api, body, **{"Idempotency-Key": "one-3"})
    other = post(host_api, booking(tuesday, "20:15", channel="phone"), **{"Idempotency-Key": "one-3"})

    assert_error(first, 403, "override_forbidden")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert_error(other, 422, "idempotency_key_reused")
    assert not Reservation.objects.exists()
