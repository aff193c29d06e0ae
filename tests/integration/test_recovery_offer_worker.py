"""Turned-away recovery through a real Celery worker on Redis: a cancellation's offer reaches the refused
guest's phone within seconds, and their YES brings the confirmation and the won-back dessert; the guest refused
after her is told, once, that the table has gone."""

from __future__ import annotations

import os
import time

import pytest

from recovery.models import RecoveryOffer
from reservations.errors import NoTables
from reservations.models import Gesture, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.inbound_sms import sms_receive
from tests.conftest import kyiv

from .conftest import celery_worker, publishing_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OLENA, TARAS = "+380671110001", "+380671110002"


def wait_until(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return check()


def test_a_cancellation_texts_the_refused_guest_within_seconds_and_her_yes_books_it(samna, saturday,
                                                                                     machine_redis, tmp_path):
    # Filled and refused in-process (eager), before the worker starts: only the recovery goes through Redis.
    booked = [reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                                 guest=GuestDetails(name=f"Booked {n}", phone=f"+38050200{n:04d}")) for n in range(8)]
    for name, phone in (("Olena", OLENA), ("Taras", TARAS)):
        with pytest.raises(NoTables):
            reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                               guest=GuestDetails(name=name, phone=phone, phone_verified=True))
    outbox = tmp_path / "sms.jsonl"
    with celery_worker(machine_redis, outbox) as worker, publishing_to(machine_redis):
        cancelled = time.monotonic()
        reservation_transition(reservation=booked[0], action="cancel")
        offer_lines = wait_until(lambda: [m for m in worker.lines() if m["kind"] == "recovery_offer"], 15)
        latency = time.monotonic() - cancelled
        assert offer_lines, f"no offer within 15 s:\n{worker.log_tail()}"
        assert latency < 5.0, f"the offer took {latency:.2f} s"
        assert offer_lines[0]["to"] == OLENA and "20:00" in offer_lines[0]["body"]

        inbound = sms_receive(from_number=OLENA, body="YES", provider_id=f"SM-{os.getpid()}")
        assert inbound.action == "offer_taken"
        confirmation = wait_until(lambda: [m for m in worker.lines() if m["kind"] == "confirmation"], 15)
        dessert = wait_until(lambda: Gesture.objects.filter(occasion="won_back").first(), 15)
        gone = wait_until(lambda: [m for m in worker.lines() if m["kind"] == "recovery_gone"], 15)

    won = Reservation.objects.get(guest__phone=OLENA)
    assert confirmation == [{"to": OLENA, "body": confirmation[0]["body"], "kind": "confirmation",
                             "reservation": won.pk}]
    assert dessert is not None and dessert.reservation_id == won.pk, worker.log_tail()
    assert RecoveryOffer.objects.get().status == "taken"
    assert [m["kind"] for m in worker.lines()].count("recovery_offer") == 1
    assert [(m["to"], "20:00" in m["body"]) for m in gone] == [(TARAS, True)], worker.log_tail()
    assert [m["to"] for m in worker.lines() if m["kind"] == "recovery_gone"] == [TARAS]
