"""A set-up changed outside the ORM is seen by the next answer (issue 16).

Each process keeps the restaurants' set-ups (hours, tables, holds, closures, …) and the day plans built on them.
They used to be renewed only by Django signals: a closure inserted with SQL, a migration or a queryset update
was never seen, and a process that had read the set-up before kept offering every slot. Now database triggers
bump a set-up version (`SetupVersion`) that is read with the day's book versions. Each test reads availability
first (the process now holds the set-up), writes around the ORM's signals, and compares the next answer with
the rule — a closed day offers nothing; a last seating at 19:00 offers no 20:00 — and with a cold read. The
control drops the triggers and shows the same steps answered from the old set-up. Runs on SQLite and, with
DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import time

import pytest
from django.db import connection
from django.utils import timezone

from reservations import dbtriggers, engine, selectors
from reservations.models import HoldBackRule, ServiceHours, Table
from tests.conftest import kyiv

pytestmark = pytest.mark.django_db(transaction=True)  # set-ups and plans are kept once their transaction commits


@pytest.fixture(autouse=True)
def _cold_process():
    selectors.clear_config_cache()
    yield
    selectors.clear_config_cache()


@contextmanager
def setup_triggers_dropped() -> Iterator[None]:
    """The control's broken world: set-up writes no longer bump the set-up's version."""
    with connection.schema_editor() as editor:
        for watched in dbtriggers.SETUP:
            dbtriggers.drop(editor, watched)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            for watched in dbtriggers.SETUP:
                dbtriggers.create_setup(editor, watched)


def open_slots(samna, day) -> set[str]:
    """The day's bookable starts for a phone party of two (local HH:MM), as the availability endpoint says."""
    plan = selectors.day_plan(samna, day)
    return {d.start.astimezone(samna.tz).strftime("%H:%M")
            for d in engine.availability(plan, party_size=2, channel="phone", now=timezone.now()) if d.available}


def close_with_sql(samna, day) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO reservations_closure (restaurant_id, date, reason) VALUES (%s, %s, %s)",
                       [samna.pk, day, "private event"])


def last_seating_at_seven_by_update(samna, day) -> None:
    assert ServiceHours.objects.filter(restaurant=samna, weekday=day.weekday()).update(last_seating=time(19)) == 1


def tables_off_by_update(samna, day) -> None:
    Table.objects.filter(restaurant=samna).update(is_active=False)


def holds_off_with_sql(samna, day) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reservations_holdbackrule SET is_active = %s WHERE restaurant_id = %s",
                       [False, samna.pk])


# Each write, and the rule a fresh answer must then follow.
WRITES: list[tuple[str, Callable, Callable[[set[str]], bool]]] = [
    ("a closure inserted with raw SQL", close_with_sql, lambda slots: slots == set()),
    ("the last seating moved to 19:00 by queryset.update()", last_seating_at_seven_by_update,
     lambda slots: slots and max(slots) == "19:00"),
    ("every table retired by queryset.update()", tables_off_by_update, lambda slots: slots == set()),
]


@pytest.mark.parametrize("name,write,rule", WRITES, ids=[w[0] for w in WRITES])
def test_a_setup_written_around_the_orm_is_seen_by_the_next_answer(samna, saturday, name, write, rule):
    before = open_slots(samna, saturday)  # the process now holds the set-up and the day's plan
    assert "20:00" in before

    write(samna, saturday)

    assert rule(open_slots(samna, saturday)), name
    selectors.clear_config_cache()
    assert rule(open_slots(samna, saturday)), f"{name}: the rule itself, from a cold read"


def test_a_hold_back_rule_switched_off_with_sql_is_seen(samna, saturday):
    # T3 and T4 are kept for walk-ins on Saturdays from 19:00: an online party of two is never put there.
    def online_tables(day) -> set[str]:
        plan = selectors.day_plan(samna, day)
        decision = engine.decide_booking(plan, party_size=2, channel="online", start=kyiv(day, "20:00"),
                                         now=timezone.now())
        return set(decision.seating.names) if decision.available else set()

    held = {"T3", "T4"}
    assert HoldBackRule.objects.filter(restaurant=samna, is_active=True).exists()
    assert not online_tables(saturday) & held

    holds_off_with_sql(samna, saturday)
    plan = selectors.day_plan(samna, saturday)

    assert plan.holds == ()


def test_control_without_the_triggers_a_warm_process_answers_from_the_old_setup(samna, saturday):
    stale = []
    with setup_triggers_dropped():
        for name, write, rule in WRITES:
            selectors.clear_config_cache()
            open_slots(samna, saturday)  # warm
            write(samna, saturday)
            if not rule(open_slots(samna, saturday)):
                stale.append(name)
            _undo_setup(samna)
    assert len(stale) == len(WRITES), stale


def _undo_setup(samna) -> None:
    from reservations.models import Closure

    Closure.objects.filter(restaurant=samna).delete()
    ServiceHours.objects.filter(restaurant=samna).update(last_seating=time(22))
    Table.objects.filter(restaurant=samna).update(is_active=True)
