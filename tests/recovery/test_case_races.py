"""Sweeps and cancellations at the same moment still open one case per cause (PostgreSQL, real connections).

Celery beat may start a sweep while the last one still runs, and two workers may take one task. Here several
sweeps run at once in threads, each on its own connection, with the gap between "a case for this already?"
and opening one widened so that every copy finds none: the database's unique constraints keep one case per
party, and every copy gets that case back rather than an error.
"""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from recovery.models import CaseAction, RecoveryCase
from recovery.services.long_waits import long_waits_open
from reservations.models import WaitlistEntry
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.postgres

COPIES = 4


def run_at_once(work, copies: int = COPIES) -> list:
    start = threading.Barrier(copies)
    results, errors = [], []

    def copy() -> None:
        try:
            start.wait(10)
            results.append(work())
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=copy) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.fixture
def evening(transactional_db, samna, tuesday, settings):
    settings.CXHOST_CASE_RACE_DELAY_MS = 300
    kept = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                        created_at=kyiv(tuesday, "20:00"))
    booked = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:30"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Olena K.", phone="+380671234567"))
    reservation_transition(reservation=booked, action="arrive", now=kyiv(tuesday, "19:30"))
    return kept, booked


def test_sweeps_at_once_open_one_case_per_party(evening, tuesday):
    kept, booked = evening

    results = run_at_once(lambda: [c.pk for c in long_waits_open(now=kyiv(tuesday, "20:20"))])

    cases = RecoveryCase.objects.filter(kind="long_wait")
    assert {(c.waitlist_entry_id, c.reservation_id) for c in cases} == {(kept.pk, None), (None, booked.pk)}
    assert cases.count() == 2
    assert all(sorted(found) == sorted(c.pk for c in cases) for found in results), "each copy got the same two"
    # One `opened` step each (the losers' writes were rolled back), and the booked party's amends once.
    steps = sorted((a.case.reservation_id is not None, a.kind) for a in CaseAction.objects.select_related("case"))
    assert steps == [(False, "opened"), (True, "gesture"), (True, "opened")]


def test_the_database_refuses_a_second_case_for_one_cause(evening, samna, tuesday):
    kept, booked = evening
    long_waits_open(now=kyiv(tuesday, "20:20"))

    for cause in ({"waitlist_entry": kept}, {"reservation": booked}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RecoveryCase.objects.create(restaurant=samna, kind="long_wait", summary="again", opened_at=kyiv(
                tuesday, "20:21"), respond_by=kyiv(tuesday, "20:26"), **cause)


def test_a_refusal_and_its_case_are_committed_together(transactional_db, samna, host_api, tuesday):
    reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=8, channel="phone",
                       guest=GuestDetails(name="Big table", phone="+380501110000"))

    response = host_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": f"{tuesday.isoformat()}T20:00", "party_size": 8, "channel": "phone",
        "guest": {"name": "Olena K.", "phone": "+380671234567"}}, format="json")

    assert response.status_code == 409
    case = RecoveryCase.objects.select_related("refusal").get()
    assert case.kind == "turned_away" and case.refusal.guest_name == "Olena K."
