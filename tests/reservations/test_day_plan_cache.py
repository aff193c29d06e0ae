"""The day-plan cache is invisible: whatever writes the book, and however, the next answer is the one a fresh
read of the database gives.

Each process keeps the day plans it has read, keyed by the book's versions, which database triggers bump on
every write (`reservations.dbtriggers`). These tests write through the services and around them (queryset
updates and deletes, raw SQL, a recovery offer's hold), then compare what availability says with a read that
forgets every cached plan first. Each comes with a control that removes the safeguard it relies on — the
triggers, or keeping a plan only after its transaction commits — and shows the same steps then go wrong.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.models import RecoveryOffer
from reservations import dbtriggers, engine, selectors
from reservations.models import Reservation, ReservationTable, Table
from reservations.services.booking import reservation_transition
from tests.conftest import kyiv
from tests.recovery.test_offers import BOOKABLE_FOR_TWO, book_online, outbox, refuse  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # plans are kept once their transaction commits

WATCHED = (dbtriggers.RESERVATIONS, dbtriggers.RESERVATION_TABLES, dbtriggers.OFFERS, dbtriggers.OFFER_TABLES)


@pytest.fixture(autouse=True)
def _no_plans_carried_over():
    selectors.forget_day_plans()
    yield
    selectors.forget_day_plans()


@contextmanager
def triggers_dropped() -> Iterator[None]:
    """The control's broken world: the book's writes no longer bump its versions."""
    with connection.schema_editor() as editor:
        for watched in WATCHED:
            dbtriggers.drop(editor, watched)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            for watched in WATCHED:
                dbtriggers.create(editor, watched)


def slots(samna, day) -> list[tuple]:
    """The day's answers for an online party of two, as the availability endpoint decides them."""
    plan = selectors.day_plan(samna, day)
    return [(d.start, d.available, d.reasons)
            for d in engine.availability(plan, party_size=2, channel="online", now=timezone.now())]


def fresh_slots(samna, day) -> list[tuple]:
    selectors.forget_day_plans()
    return slots(samna, day)


def free_at_eight(answers: list[tuple], day) -> bool:
    return next(available for start, available, _ in answers if start == kyiv(day, "20:00"))


def write_steps(samna, day) -> list[tuple[str, Callable[[], None], bool]]:
    """Writes to the book, each with whether an online party of two may then have 20:00."""
    booked = [book_online(samna, day, n) for n in range(len(BOOKABLE_FOR_TWO))]
    refuse(samna, day, "Olena", "+380671110001")
    freed = booked[3]
    [table] = freed.tables.all()

    def raw_sql_move_back() -> None:
        with connection.cursor() as cursor:
            cursor.execute('UPDATE reservations_reservation SET start = %s, "end" = %s WHERE id = %s',
                           [kyiv(day, "20:00"), kyiv(day, "22:00"), freed.pk])

    return [
        # Cancelled through the service: the table is offered to Olena and held for her (still no table).
        ("cancelled; offered to a refused guest", lambda: reservation_transition(reservation=freed, action="cancel"),
         False),
        ("the offer lapses (a queryset update)",
         lambda: RecoveryOffer.objects.filter(status="pending").update(status="expired"), True),
        ("the booking back (a queryset update)",
         lambda: Reservation.objects.filter(pk=freed.pk).update(status="booked"), False),
        ("its table taken off it", lambda: ReservationTable.objects.filter(reservation=freed).delete(), True),
        ("its table given back",
         lambda: ReservationTable.objects.create(reservation=freed, table=table, start=freed.start, end=freed.end),
         False),
        ("moved to 23:00 (a queryset update)",
         lambda: Reservation.objects.filter(pk=freed.pk).update(start=kyiv(day, "23:00"), end=kyiv(day, "23:59")),
         True),
        ("moved back (raw SQL)", raw_sql_move_back, False),
        ("deleted", lambda: Reservation.objects.filter(pk=freed.pk).delete(), True),
        ("booked online", lambda: book_online(samna, day, 99), False),
    ]


def stale_answers(samna, day, steps, *, control: bool = False) -> list[str]:
    """Run the steps, reading availability before and after each; the steps whose cached answer was not the
    fresh one. Asserts each step did what it says (so a step that changes nothing cannot pass unnoticed) —
    but in the control, where the services themselves decide from stale plans."""
    assert free_at_eight(slots(samna, day), day) is False  # read once: the plan is now cached
    stale = []
    for name, write, free_after in steps:
        write()
        cached = slots(samna, day)
        fresh = fresh_slots(samna, day)
        assert control or free_at_eight(fresh, day) is free_after, name
        if cached != fresh:
            stale.append(name)
    return stale


def test_every_kind_of_write_is_seen_by_the_next_availability_answer(samna, saturday, outbox):  # noqa: F811
    assert stale_answers(samna, saturday, write_steps(samna, saturday)) == []


def test_control_without_the_triggers_the_cache_answers_from_a_stale_book(samna, saturday, outbox):  # noqa: F811
    steps = write_steps(samna, saturday)  # the evening filled while the triggers still work
    with triggers_dropped():
        stale = stale_answers(samna, saturday, steps, control=True)

    assert len(stale) >= 5, stale


def test_a_warm_answer_reads_the_versions_not_the_book(samna, saturday, anon_api):
    url = f"/api/v1/restaurants/samna/availability/?date={saturday.isoformat()}&party_size=2"
    assert anon_api.get(url).status_code == 200

    with CaptureQueriesContext(connection) as warm:
        assert anon_api.get(url).status_code == 200

    tables = " ".join(q["sql"] for q in warm.captured_queries)
    assert len(warm) == 2  # the restaurant, the day's book versions
    assert "reservations_bookversion" in tables
    assert "reservations_reservation" not in tables and "recovery_recoveryoffer" not in tables


# --- a plan read inside a transaction that rolls back ------------------------------------------------------


def _book_table(samna, day, table_name: str) -> Reservation:
    table = Table.objects.get(restaurant=samna, name=table_name)
    start, end = kyiv(day, "20:00"), kyiv(day, "22:00")
    reservation = Reservation.objects.create(restaurant=samna, party_size=2, start=start, end=end, channel="phone")
    ReservationTable.objects.create(reservation=reservation, table=table, start=start, end=end)
    return reservation


def _booked(plan: engine.DayPlan) -> set[tuple]:
    return {(b.id, b.tables) for b in plan.bookings}


def _plan_after_a_rolled_back_read(samna, day) -> tuple[set[tuple], set[tuple]]:
    """Read the day inside a transaction that booked T1 and then rolled back; commit a booking of T2 (the same
    writes, so the same version numbers); return the bookings (id, tables) the plan has, and the database's."""
    selectors.day_plan(samna, day)

    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        _book_table(samna, day, "T1")
        selectors.day_plan(samna, day)  # sees its own, uncommitted booking
        raise Undone

    kept = _book_table(samna, day, "T2")
    plan = _booked(selectors.day_plan(samna, day))
    selectors.forget_day_plans()
    fresh = _booked(selectors.day_plan(samna, day))
    assert fresh == {(kept.pk, (Table.objects.get(restaurant=samna, name="T2").pk,))}
    return plan, fresh


def test_a_plan_read_in_a_transaction_that_rolls_back_is_never_served(samna, saturday):
    plan, fresh = _plan_after_a_rolled_back_read(samna, saturday)

    assert plan == fresh


def test_control_keeping_plans_before_their_transaction_commits_serves_a_rolled_back_booking(
        samna, saturday, monkeypatch):
    monkeypatch.setattr(selectors.transaction, "on_commit", lambda keep, **kwargs: keep())

    plan, fresh = _plan_after_a_rolled_back_read(samna, saturday)

    assert plan != fresh  # the rolled-back booking of T1 served, the real one of T2 missing


# --- PostgreSQL: bookings committing while other threads read --------------------------------------------


def _reads_during_bookings(samna, day) -> list[str]:
    """Two threads book (each booking committed, then noted), two read the day over and over; every read must
    hold every booking noted before it began. Returns the misses."""
    tables = list(Table.objects.filter(restaurant=samna).order_by("name"))
    # One 90-minute booking per table and hour from noon: no two overlap on a table.
    wanted = [(t, kyiv(day, f"{h:02d}:00")) for t in tables for h in range(12, 22, 2)]
    random.Random(9).shuffle(wanted)
    committed: list[int] = []
    guard = threading.Lock()
    done = threading.Event()
    misses: list[str] = []

    def book(share: list) -> None:
        try:
            for table, start in share:
                with transaction.atomic():
                    r = Reservation.objects.create(restaurant=samna, party_size=2, start=start,
                                                   end=start + timedelta(minutes=90), channel="phone")
                    ReservationTable.objects.create(reservation=r, table=table, start=r.start, end=r.end)
                with guard:
                    committed.append(r.pk)
        finally:
            connection.close()

    def read() -> None:
        try:
            while not done.is_set():
                with guard:
                    before = set(committed)
                seen = {b.id for b in selectors.day_plan(samna, day).bookings}
                if not before <= seen:
                    misses.append(f"{len(before - seen)} committed bookings missing")
        finally:
            connection.close()

    bookers = [threading.Thread(target=book, args=(wanted[i::2],)) for i in range(2)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers + bookers:
        thread.start()
    for thread in bookers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert len(committed) == len(wanted)
    return misses


@pytest.mark.postgres
def test_a_read_always_holds_every_booking_committed_before_it_began(samna, saturday):
    assert _reads_during_bookings(samna, saturday) == []


@pytest.mark.postgres
def test_control_without_the_triggers_reads_miss_committed_bookings(samna, saturday):
    with triggers_dropped():
        misses = _reads_during_bookings(samna, saturday)

    assert misses
