"""Many YES texts to one recovery offer at the same moment make exactly one booking.

A guest mashing YES, Twilio retrying, two phones sharing a number: the texts arrive together, each handled
by its own request. Here each runs `sms_receive` in its own thread on its own PostgreSQL connection, released
together through a barrier, with every booking's decide→write gap widened. With the restaurant-day lock and
the conditional claim of the offer, the first YES books the held table and the others are answered as
already theirs. The control run skips both (and drops the table-overlap constraint, the last line of
defence): every YES passes the "still pending?" check and the table is booked several times — so the
guarded run's single booking is the guards' doing, not luck.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from recovery.models import RecoveryOffer
from reservations.errors import NoTables
from reservations.models import Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.inbound_sms import sms_receive
from tests.conftest import kyiv

from .conftest import RACE_DELAY_MS, double_booked_tables, overlap_constraint_dropped

pytestmark = pytest.mark.postgres

YESES = 6
OLENA = "+380671110001"
# Samna's tables an online party of two may have at 20:00 on a Saturday (T3, T4 are held for walk-ins).
BOOKABLE_FOR_TWO = 8


@pytest.fixture
def offered(samna, saturday, settings, tmp_path) -> RecoveryOffer:
    """Samna's Saturday 20:00 full for two, Olena refused, a cancellation: the table offered to her."""
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    booked = [reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                                 guest=GuestDetails(name=f"Booked {n}", phone=f"+38050200{n:04d}"))
              for n in range(BOOKABLE_FOR_TWO)]
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                           guest=GuestDetails(name="Olena", phone=OLENA, phone_verified=True))
    reservation_transition(reservation=booked[0], action="cancel")
    offer = RecoveryOffer.objects.get()
    assert offer.status == "pending" and offer.message.status == "sent"
    settings.CXHOST_BOOKING_RACE_DELAY_MS = RACE_DELAY_MS
    return offer


def yes_at_once(count: int) -> list[str]:
    """`count` YES texts from Olena's phone, all at once, each on its own connection: what each did."""
    barrier = threading.Barrier(count)
    actions: list[str] = []
    errors: list[BaseException] = []

    def text(n: int) -> None:
        try:
            barrier.wait(10)
            actions.append(sms_receive(from_number=OLENA, body="YES", provider_id=f"SM-yes-{n}").action)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=text, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(actions) == count
    return actions


def test_simultaneous_yes_texts_to_one_offer_make_exactly_one_booking(offered):
    actions = Counter(yes_at_once(YESES))

    won = list(Reservation.objects.filter(guest__phone=OLENA))
    assert len(won) == 1, f"one booking, not {len(won)} ({actions})"
    assert actions["offer_taken"] == 1, actions
    # Every other YES heard it is already hers (the offer, or the confirmation once that had gone out).
    assert actions["already"] + actions["confirmed"] == YESES - 1, actions
    offered.refresh_from_db()
    assert (offered.status, offered.reservation_id) == ("taken", won[0].pk)
    assert double_booked_tables() == []


def test_control_without_the_lock_and_the_conditional_claim_the_table_is_booked_twice(offered, settings):
    settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK = True

    with overlap_constraint_dropped():
        actions = Counter(yes_at_once(YESES))
        won = Reservation.objects.filter(guest__phone=OLENA).count()
        doubled = double_booked_tables()

    assert won > 1, f"the control must really race: {won} booking(s), {actions}"
    assert actions["offer_taken"] == won
    assert doubled, "several bookings on the one offered table"


TARAS = "+380671110002"


def run_at_once(*jobs) -> list:
    """Each job in its own thread on its own connection, released together: their results in job order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(10)
            results[n] = jobs[n]()
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.fixture
def two_waiting(offered, samna, saturday) -> RecoveryOffer:
    """Taras refused for 20:00 after Olena: next in line for her table."""
    with pytest.raises(NoTables):
        reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                           guest=GuestDetails(name="Taras", phone=TARAS, phone_verified=True))
    return offered


def test_the_countdown_and_the_sweep_expiring_at_once_offer_the_next_guest_once(two_waiting):
    from recovery.models import CaseAction
    from recovery.services.offers import offers_expire

    late = two_waiting.expires_at + timedelta(seconds=1)
    lapsed = run_at_once(*[lambda: offers_expire(now=late)] * 4)

    assert sorted(lapsed) == [0, 0, 0, 1]
    assert list(RecoveryOffer.objects.order_by("id").values_list("case__refusal__guest_phone", "status")) == [
        (OLENA, "expired"), (TARAS, "pending")]
    assert CaseAction.objects.filter(kind="offer_expired").count() == 1
    assert CaseAction.objects.filter(kind="offered", case__refusal__guest_phone=TARAS).count() == 1


def test_a_yes_crossing_the_expiry_either_books_it_or_hands_it_on_never_both(two_waiting):
    from recovery.services.offers import offers_expire

    deadline = two_waiting.expires_at
    answer, _ = run_at_once(
        lambda: sms_receive(from_number=OLENA, body="YES", provider_id="SM-edge",
                            now=deadline - timedelta(milliseconds=1)).action,
        lambda: offers_expire(now=deadline + timedelta(seconds=1)),
    )

    statuses = list(RecoveryOffer.objects.order_by("id").values_list("case__refusal__guest_phone", "status"))
    if answer == "offer_taken":
        assert statuses == [(OLENA, "taken")]
    else:
        assert answer == "offer_gone" and statuses == [(OLENA, "expired"), (TARAS, "pending")]
    assert Reservation.objects.filter(guest__phone__in=[OLENA, TARAS]).count() == (answer == "offer_taken")
    assert double_booked_tables() == []
