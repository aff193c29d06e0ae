"""A daily cap on anonymous bookings holds when a volley of them arrives at once (issue 16).

Twelve requests for one phone, each on its own PostgreSQL connection, are released together through a barrier
against a cap of five: exactly five are admitted, and the day's count says five. The control run counts the way
a read-then-write would (the count read, the gap, then written back), under the same volley: the same check
catches it letting more than five through, so the check can see the race it guards against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.utils import timezone

from reservations.errors import TooManyBookings
from reservations.models import PublicBookingCount
from reservations.services.public_caps import public_booking_admit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+380671239999"
CAP = 5
VOLLEY = 12


def volley(admit: Callable[[], None]) -> int:
    """Run `admit` in VOLLEY threads released at once; how many were let through."""
    start = threading.Barrier(VOLLEY)
    admitted: list[bool] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait(10)
            admit()
            admitted.append(True)
        except TooManyBookings:
            admitted.append(False)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(VOLLEY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(admitted) == VOLLEY
    return sum(admitted)


def naive_admit() -> None:
    """The control: read the day's count, decide, write it back (what counting rows or a get-and-save does)."""
    day = timezone.now().date()
    with transaction.atomic():
        row, _ = PublicBookingCount.objects.get_or_create(day=day, key=f"phone:{PHONE}")
        if row.count >= CAP:
            raise TooManyBookings()
        time.sleep(0.2)  # the gap between deciding and writing that a volley falls into
        row.count += 1
        row.save(update_fields=["count"])


def test_a_volley_of_anonymous_bookings_for_one_phone_admits_exactly_the_cap(settings):
    settings.PUBLIC_BOOKINGS_PER_PHONE_PER_DAY = CAP

    admitted = volley(lambda: public_booking_admit(phone=PHONE, address="198.51.100.1"))

    assert admitted == CAP
    assert PublicBookingCount.objects.get(key=f"phone:{PHONE}").count == CAP


def test_control_a_read_then_write_count_lets_the_volley_through_the_cap(settings):
    PublicBookingCount.objects.create(day=timezone.now().date(), key=f"phone:{PHONE}", count=0)

    admitted = volley(naive_admit)

    assert admitted > CAP, "the control must show the race the atomic count prevents"
