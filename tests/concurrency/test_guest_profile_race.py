"""Two bookings for one phone at the same moment both keep what they add to the guest's profile.

The interleaving is forced, not hoped for: the first booking's transaction has merged its expectations and
waits, uncommitted, while the second one merges. With the profile row locked the second waits and merges on
top of the first; the control run does the same with an unlocked read-merge-write (what guest_resolve did
before) and loses the first booking's expectations, so the check can fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from phonenumber_field.phonenumber import PhoneNumber

from reservations.models import Guest
from reservations.services.guests import GuestDetails, guest_resolve, merge_unique
from tests.factories import RestaurantGroupFactory

pytestmark = pytest.mark.postgres

PHONE = PhoneNumber.from_string("+380671234567")


def unlocked_resolve(*, group, details: GuestDetails, expectations) -> Guest:
    """The old way, for the control run: read, merge, save, with nothing held in between."""
    guest = Guest.objects.get(group=group, phone=details.phone)
    guest.expectations = merge_unique(guest.expectations, expectations)
    guest.save(update_fields=["expectations"])
    return guest


def race(resolve: Callable[..., Guest], group) -> list[str]:
    first_merged, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                resolve(group=group, details=GuestDetails("Olena", PHONE), expectations=["kids_menu"])
                first_merged.set()
                release.wait(10)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            assert first_merged.wait(10)
            with transaction.atomic():
                resolve(group=group, details=GuestDetails("Olena", PHONE), expectations=["high_chair"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_merged.wait(10)
    time.sleep(0.5)  # the second is now either waiting for the row or has read it stale
    release.set()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    return sorted(Guest.objects.get(group=group, phone=PHONE).expectations)


@pytest.fixture
def group(transactional_db):
    group = RestaurantGroupFactory()
    Guest.objects.create(group=group, name="Olena", phone=PHONE, expectations=["window_seat"])
    return group


def test_simultaneous_bookings_for_one_phone_both_keep_their_expectations(group):
    assert race(guest_resolve, group) == ["high_chair", "kids_menu", "window_seat"]


def test_control_an_unlocked_merge_loses_the_first_bookings_expectations(group):
    assert race(unlocked_resolve, group) == ["high_chair", "window_seat"]
