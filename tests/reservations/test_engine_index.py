"""Property test of the engine's free-time index against a naive model of "is table T free in [a, b)".

The index merges each table's bookings into sorted, disjoint stretches of epoch seconds and answers with a
binary search; the model here scans every booking and compares aware datetimes in real time. Bookings may
overlap on a table (a recovery offer's hold over a booking), touch end to start, or sit in another zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reservations.engine import Booking, RestaurantConfig, Seating, ServiceRule, plan_day

UTC = ZoneInfo("UTC")
KYIV = ZoneInfo("Europe/Kyiv")
BASE = datetime(2026, 10, 24, 18, 0, tzinfo=UTC)  # the night before Kyiv's clocks go back
TABLES = (1, 2, 3)

CONFIG = RestaurantConfig(
    tz=KYIV, slot_minutes=15, horizon_days=60,
    seatings=tuple(Seating((t,), (f"T{t}",), 1, 4) for t in TABLES) + (Seating((1, 2), ("T1", "T2"), 3, 8),),
    services=tuple(ServiceRule(w, time(12), time(22), time(23)) for w in range(7)),
)

# Moments on a coarse grid (touching ends are common) plus odd microseconds (a walk-in seated "now").
moments = st.builds(
    lambda minutes, micro: BASE + timedelta(minutes=minutes * 15, microseconds=micro),
    st.integers(0, 40), st.sampled_from([0, 0, 0, 1, 999_999, 123_456]),
)


@st.composite
def spans(draw):
    start = draw(moments)
    length = draw(st.integers(1, 12)) * timedelta(minutes=15) + timedelta(microseconds=draw(st.sampled_from([0, 1])))
    zone = draw(st.sampled_from([UTC, KYIV]))
    return start.astimezone(zone), (start + length).astimezone(zone)


@st.composite
def bookings(draw):
    start, end = draw(spans())
    tables = draw(st.sets(st.sampled_from(TABLES), max_size=2))
    return Booking(start, end, 2, tuple(sorted(tables)), overbooked=not tables)


def naive_free(books: list[Booking], table: int, start: datetime, end: datetime) -> bool:
    return not any(table in b.tables and b.start.astimezone(UTC) < end.astimezone(UTC)
                   and start.astimezone(UTC) < b.end.astimezone(UTC) for b in books)


@settings(max_examples=300, deadline=None)
@given(st.lists(bookings(), max_size=25), st.lists(spans(), min_size=1, max_size=10))
def test_the_index_answers_like_a_scan_of_every_booking(books, queries):
    plan = plan_day(CONFIG, date(2026, 10, 24), books)
    for start, end in queries:
        for table in (*TABLES, 99):
            assert plan.table_free(table, start, end) == naive_free(books, table, start, end), (table, start, end)
        for seating in CONFIG.seatings:
            expected = all(naive_free(books, t, start, end) for t in seating.tables)
            assert plan.seating_free(seating, start, end) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(bookings(), max_size=25), spans())
def test_a_plan_with_other_bookings_answers_for_those(books, query):
    plan = plan_day(CONFIG, date(2026, 10, 24), books)
    fewer = plan.with_bookings(books[::2])
    start, end = query
    for table in TABLES:
        assert fewer.table_free(table, start, end) == naive_free(books[::2], table, start, end)
