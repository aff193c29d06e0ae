"""The Idempotency-Key as the service keeps it: settled with the booking, in the booking's transaction."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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


def test_a_key_past_its_lifetime_is_claimed_afresh_by_a_new_booking(host_api, samna, tuesday, settings):
    first = post(host_api, booking(tuesday, "20:00", channel="phone"), **{"Idempotency-Key": "old-1"})
    # A day later than the key's lifetime: the first answer is forgotten, and the key may be used again.
    IdempotencyKey.objects.filter(key="old-1").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 24))

    other = post(host_api, booking(tuesday, "20:15", channel="phone"), **{"Idempotency-Key": "old-1"})
    again = post(host_api, booking(tuesday, "20:15", channel="phone"), **{"Idempotency-Key": "old-1"})

    assert first.status_code == other.status_code == again.status_code == 201, other.content
    assert other.json()["id"] != first.json()["id"]
    assert again.json() == other.json() and again["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 2
    kept = IdempotencyKey.objects.get(key="old-1")
    assert (kept.reservation_id, kept.response_body) == (other.json()["id"], other.json())


def test_a_refusal_settled_by_the_service_is_not_written_again(anon_api, samna, tuesday):
    body = booking(tuesday, "20:00", party_size=8)
    assert post(anon_api, body, **{"Idempotency-Key": "eight-1"}).status_code == 201  # the only place for eight
    with CaptureQueriesContext(connection) as queries:
        refused = post(anon_api, booking(tuesday, "20:00", party_size=8, n=99),
                       **{"Idempotency-Key": "eight-2"})

    assert refused.status_code == 409
    kept = IdempotencyKey.objects.get(key="eight-2")
    assert (kept.response_status, kept.response_body) == (409, refused.json())
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "idempotencykey" in q["sql"]]
    assert len(writes) == 1, writes
