"""Example-based tests of the pure availability engine, on the contract's demo restaurant "Samna".

No database: the engine works on plain dataclasses, so these run with `-p no:django` too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reservations import engine
from reservations.engine import (
    Booking,
    HoldRule,
    Policy,
    RestaurantConfig,
    Seating,
    ServiceRule,
    TurnRule,
    alternatives,
    availability,
    decide,
    earliest_table,
    plan_day,
    quote_wait,
)

KYIV = ZoneInfo("Europe/Kyiv")

WED = date(2026, 12, 2)
THU = date(2026, 12, 3)
FRI = date(2026, 12, 4)
SAT = date(2026, 12, 5)
SUN = date(2026, 12, 6)
# Well before any of the days above, so nothing is in the past and every hold is unreleased.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KYIV)

T = {f"T{i}": i for i in range(1, 13)}
TWO_TOPS = {1, 2, 3, 4, 11, 12}  # 1–2 covers
FOUR_TOPS = {5, 6, 7, 8}  # 2–4 covers
SIX_TOPS = {9, 10}  # 4–6 covers
HELD = {3, 4}
# Every table a party of 2 can sit at (T11+T12 seats 3–4, T9/T10 4–6: they don't fit).
FITS_TWO = TWO_TOPS | FOUR_TOPS


def samna(**changes) -> RestaurantConfig:
    """The contract's demo restaurant, with optional field overrides."""
    tables = [(f"T{i}", i, 1, 2) for i in (1, 2, 3, 4)]
    tables += [(f"T{i}", i, 2, 4) for i in (5, 6, 7, 8)]
    tables += [(f"T{i}", i, 4, 6) for i in (9, 10)]
    tables += [(f"T{i}", i, 1, 2) for i in (11, 12)]
    seatings = [Seating((pk,), (name,), lo, hi) for name, pk, lo, hi in tables]
    seatings += [
        Seating((11, 12), ("T11", "T12"), 3, 4),
        Seating((9, 10), ("T9", "T10"), 7, 10),
    ]
    fields = dict(
        tz=KYIV,
        slot_minutes=15,
        horizon_days=180,
        seatings=tuple(seatings),
        services=tuple(ServiceRule(wd, time(12), time(22), time(23)) for wd in range(7)),
        holds=(HoldRule(frozenset({4, 5}), time(19), time(22), frozenset({3, 4}), 60),),
        policy=Policy(4, 4, frozenset({"phone", "host"})),
        turn_times=(TurnRule(1, 2, 90), TurnRule(3, 4, 120), TurnRule(5, 6, 150), TurnRule(7, 10, 180)),
        closures=frozenset(),
    )
    fields.update(changes)
    return RestaurantConfig(**fields)


SAMNA = samna()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=KYIV)


def booked(start: datetime, minutes: int, covers: int, *tables: int, overbooked: bool = False) -> Booking:
    return Booking(start, start + timedelta(minutes=minutes), covers, tuple(tables), overbooked)


def occupy(day: date, tables, start=(17, 0), end=(23, 0)) -> list[Booking]:
    """One long booking per table covering the whole evening (fills them for any evening slot)."""
    s, e = at(day, *start), at(day, *end)
    return [Booking(s, e, 2, (t,)) for t in sorted(tables)]


def ask(plan, hour, minute=0, *, party=2, channel="online", now=NOW, **kw):
    return decide(plan, party_size=party, channel=channel, start=at(plan.date, hour, minute), now=now, **kw)


def real_minutes(a: datetime, b: datetime) -> float:
    return (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 60


# --- the grid ---------------------------------------------------------------------------


def test_grid_has_41_slots_from_noon_to_ten_pm_every_15_minutes():
    plan = plan_day(SAMNA, WED, [])
    grid = plan.grid
    assert len(grid) == 41
    assert grid[0] == at(WED, 12, 0)
    assert grid[-1] == at(WED, 22, 0)
    local = [g.astimezone(KYIV) for g in grid]
    assert [(m.hour, m.minute) for m in local] == [(12 + i // 4, 15 * (i % 4)) for i in range(41)]
    assert all(real_minutes(a, b) == 15 for a, b in zip(grid, grid[1:], strict=False))
    assert not plan.closed


@pytest.mark.parametrize("day", [WED, FRI, SAT, SUN, date(2026, 6, 15)])
def test_every_day_has_the_same_grid(day):
    assert len(plan_day(SAMNA, day, []).grid) == 41


def test_availability_gives_one_decision_per_slot_in_order():
    plan = plan_day(SAMNA, WED, [])
    slots = availability(plan, party_size=2, channel="online", now=NOW)
    assert [d.start for d in slots] == list(plan.grid)
    assert all(d.available and not d.overbook and d.reasons == () and d.reason is None for d in slots)


def test_starts_off_the_grid_or_outside_hours_are_outside_service_hours():
    plan = plan_day(SAMNA, WED, [])
    for hour, minute in [(11, 45), (19, 7), (22, 15), (23, 0), (9, 0)]:
        d = ask(plan, hour, minute)
        assert not d.available
        assert d.reasons == ("outside_service_hours",)


@pytest.mark.parametrize(
    "party,minutes", [(1, 90), (2, 90), (3, 120), (4, 120), (5, 150), (6, 150), (7, 180), (10, 180)]
)
def test_turn_times_set_the_end(party, minutes):
    d = ask(plan_day(SAMNA, WED, []), 19, party=party, channel="phone")
    assert d.available
    assert real_minutes(d.start, d.end) == minutes


# --- best fit ----------------------------------------------------------------------------


@pytest.mark.parametrize("party", [1, 2])
def test_party_of_one_or_two_gets_a_two_top(party):
    d = ask(plan_day(SAMNA, WED, []), 19, party=party)
    assert d.available and not d.overbook
    assert len(d.seating.tables) == 1
    assert (d.seating.min_covers, d.seating.max_covers) == (1, 2)
    assert d.seating.tables[0] in TWO_TOPS


def test_party_of_three_gets_t5_before_the_equal_size_combination():
    d = ask(plan_day(SAMNA, WED, []), 19, party=3)
    assert d.seating.names == ("T5",)
    assert d.seating.tables == (5,)


def test_party_of_three_gets_the_combination_once_four_tops_are_taken():
    d = ask(plan_day(SAMNA, WED, occupy(WED, FOUR_TOPS)), 19, party=3)
    assert d.seating.tables == (11, 12)
    assert d.seating.name == "T11+T12"


def test_party_of_four_gets_a_four_top():
    assert ask(plan_day(SAMNA, WED, []), 19, party=4).seating.tables[0] in FOUR_TOPS


@pytest.mark.parametrize("party", [5, 6])
def test_party_of_five_or_six_gets_a_six_top(party):
    d = ask(plan_day(SAMNA, WED, []), 19, party=party)
    assert d.seating.tables[0] in SIX_TOPS and len(d.seating.tables) == 1


@pytest.mark.parametrize("party", [7, 8, 10])
def test_party_of_seven_to_ten_gets_t9_plus_t10(party):
    d = ask(plan_day(SAMNA, WED, []), 19, party=party)
    assert d.available
    assert d.seating.tables == (9, 10)
    assert d.seating.name == "T9+T10"


def test_seven_cannot_sit_when_half_of_the_combination_is_taken():
    plan = plan_day(SAMNA, WED, [booked(at(WED, 18), 150, 5, 9)])
    d = ask(plan, 19, party=7, channel="phone")
    assert not d.available
    assert d.reasons == ("fully_booked",)  # 7 > the policy's 4: no overbooking either


# --- a taken table is never offered --------------------------------------------------------


def test_a_taken_table_is_never_offered_at_overlapping_times():
    taken = booked(at(WED, 19), 90, 2, T["T1"])  # 19:00–20:30
    plan = plan_day(SAMNA, WED, [taken])
    for hour, minute in [(17, 45), (18, 0), (19, 0), (20, 15)]:  # all overlap [19:00, 20:30)
        d = ask(plan, hour, minute)
        assert d.available and T["T1"] not in d.seating.tables
    # Half-open intervals: ending at 19:00 or starting at 20:30 touches without overlapping.
    assert ask(plan, 17, 30).seating.tables == (T["T1"],)
    assert ask(plan, 20, 30).seating.tables == (T["T1"],)


def test_filling_a_slot_never_reuses_a_table_then_reports_fully_booked():
    plan = plan_day(SAMNA, WED, [])
    used = []
    while True:
        d = ask(plan, 20, party=2)
        if not d.available:
            break
        assert not set(d.seating.tables) & set(used)
        used.extend(d.seating.tables)
        plan = plan.with_booking(Booking(d.start, d.end, 2, d.seating.tables))
    assert set(used) == FITS_TWO
    assert d.reasons == ("fully_booked",)


def test_a_booked_combination_blocks_its_tables_and_a_booked_table_blocks_the_combination():
    combo = booked(at(WED, 19), 120, 4, 11, 12)
    plan = plan_day(SAMNA, WED, occupy(WED, {1, 2, 3, 4}))
    d = ask(plan.with_booking(combo), 19, party=2)
    assert not set(d.seating.tables) & {11, 12}

    plan = plan_day(SAMNA, WED, occupy(WED, FOUR_TOPS | {11}))
    d = ask(plan, 19, party=3, channel="online")
    assert not d.available and d.reasons == ("fully_booked",)


# --- hold-back ------------------------------------------------------------------------------


def only_held_free(day):
    return plan_day(SAMNA, day, occupy(day, FITS_TWO - HELD))


@pytest.mark.parametrize("day", [FRI, SAT])
def test_online_cannot_take_held_tables_on_friday_and_saturday_evenings(day):
    d = ask(only_held_free(day), 19, channel="online")
    assert not d.available
    assert d.reasons == ("fully_booked", "held_for_walk_ins")
    assert d.reason == "fully_booked"
    assert d.seating is None


@pytest.mark.parametrize("day", [FRI, SAT])
def test_phone_cannot_take_held_tables_and_is_overbooked_instead(day):
    d = ask(only_held_free(day), 19, channel="phone")
    assert d.available and d.overbook
    assert d.seating is None
    assert d.bypassed is None


@pytest.mark.parametrize("day", [FRI, SAT])
def test_walk_in_can_take_a_held_table(day):
    d = ask(only_held_free(day), 19, channel="walk_in")
    assert d.available and not d.overbook
    assert set(d.seating.tables) <= HELD
    walk_in_now = decide(only_held_free(day), party_size=2, channel="walk_in", start=at(day, 19, 7),
                         now=at(day, 19, 7), walk_in_now=True)
    assert walk_in_now.available and set(walk_in_now.seating.tables) <= HELD


def test_bookings_pass_over_held_tables_while_others_are_free():
    plan = plan_day(SAMNA, FRI, occupy(FRI, {1, 2}))
    d = ask(plan, 20)
    assert d.available and d.seating.tables[0] not in HELD
    assert d.seating.tables == (11,)


@pytest.mark.parametrize("hour,minute", [(19, 0), (20, 0), (21, 45)])
def test_whole_hold_window_is_held(hour, minute):
    d = ask(only_held_free(SAT), hour, minute)
    assert d.reasons == ("fully_booked", "held_for_walk_ins")


def test_hold_applies_only_inside_its_window_and_days():
    # Ends exactly when the hold starts: no overlap.
    assert ask(only_held_free(FRI), 17, 30).seating.tables[0] in HELD
    # Starts when the hold ends.
    assert ask(only_held_free(FRI), 22, 0).seating.tables[0] in HELD
    # Other weekdays have no hold.
    for day in (WED, THU, SUN):
        d = ask(only_held_free(day), 19)
        assert d.available and d.seating.tables[0] in HELD


def test_a_booking_touching_the_hold_is_blocked_on_held_tables():
    # 18:00 for two ends 19:30: it would sit on T3/T4 into the held window.
    d = ask(only_held_free(FRI), 18, 0)
    assert not d.available
    assert d.reasons == ("fully_booked", "held_for_walk_ins")
    assert real_minutes(d.start, d.end) == 90


def test_hold_releases_sixty_minutes_before_the_slot():
    plan = only_held_free(FRI)
    slot = at(FRI, 20, 0)
    released = decide(plan, party_size=2, channel="online", start=slot, now=slot - timedelta(minutes=60))
    assert released.available and set(released.seating.tables) <= HELD
    assert released.bypassed is None
    still_held = decide(plan, party_size=2, channel="online", start=slot, now=slot - timedelta(minutes=61))
    assert not still_held.available
    assert still_held.reasons == ("fully_booked", "held_for_walk_ins")
    # Later than the lead, too (with `now` given in UTC as the server clock would).
    later = decide(plan, party_size=2, channel="online", start=slot,
                   now=(slot - timedelta(minutes=10)).astimezone(UTC))
    assert later.available and set(later.seating.tables) <= HELD


def test_release_of_a_booking_running_into_the_hold_counts_from_the_hold_start():
    """18:00 for two would use T3/T4 from 19:00; the lead is counted from the held window's start.

    (The engine's reading of "from 60 minutes before a slot": the tables are protected for the
    19:00 walk-ins until 18:00, not released already at 17:00 because the booking starts at 18:00.)
    """
    plan = only_held_free(FRI)
    slot = at(FRI, 18)
    assert not decide(plan, party_size=2, channel="online", start=slot, now=at(FRI, 17)).available
    assert not decide(plan, party_size=2, channel="online", start=slot, now=at(FRI, 17, 59)).available
    d = decide(plan, party_size=2, channel="online", start=slot, now=at(FRI, 18))
    assert d.available and set(d.seating.tables) <= HELD


def test_availability_shows_held_slots_like_the_contract_example():
    plan = only_held_free(SAT)
    slots = {d.start.astimezone(KYIV).strftime("%H:%M"): d for d in
             availability(plan, party_size=2, channel="online", now=NOW)}
    assert slots["20:15"].reasons == ("fully_booked", "held_for_walk_ins")
    assert slots["20:15"].reason == "fully_booked"
    assert slots["17:45"].reasons == ("fully_booked", "held_for_walk_ins")  # runs into the hold
    # Before the hold window the same tables are bookable.
    assert slots["17:30"].available and set(slots["17:30"].seating.tables) <= HELD
    assert slots["12:00"].available


# --- overbooking ---------------------------------------------------------------------------------


def full_wed(*extra):
    """Wednesday (no hold) with every table a party of 2–4 fits taken all evening."""
    return plan_day(SAMNA, WED, occupy(WED, FITS_TWO) + list(extra))


@pytest.mark.parametrize("channel", ["phone", "host"])
def test_phone_and_host_parties_of_two_are_overbooked_when_every_table_is_taken(channel):
    d = ask(full_wed(), 20, channel=channel)
    assert d.available and d.overbook
    assert d.seating is None and d.bypassed is None and d.reasons == ()
    assert real_minutes(d.start, d.end) == 90


@pytest.mark.parametrize("channel", ["online", "walk_in"])
def test_online_and_walk_in_are_never_overbooked(channel):
    d = ask(full_wed(), 20, channel=channel)
    assert not d.available and not d.overbook
    assert d.reasons == ("fully_booked",)


def test_party_of_five_by_phone_is_not_overbooked():
    plan = plan_day(SAMNA, WED, occupy(WED, SIX_TOPS))
    d = ask(plan, 20, party=5, channel="phone")
    assert not d.available and not d.overbook
    assert d.reasons == ("fully_booked",)


def test_two_overbooked_parties_of_two_fill_the_cap_of_four():
    ob = [booked(at(WED, 20), 90, 2, overbooked=True) for _ in range(2)]
    d = ask(full_wed(ob[0]), 20, channel="phone")
    assert d.available and d.overbook
    d = ask(full_wed(*ob), 20, channel="phone")
    assert not d.available
    assert d.reasons == ("fully_booked", "overbooking_limit")
    assert not ask(full_wed(*ob), 20, party=1, channel="phone").available
    # Overlapping only partly still counts.
    assert not ask(full_wed(*ob), 21, 15, channel="phone").available
    assert not ask(full_wed(*ob), 18, 45, channel="phone").available


def test_cap_counts_covers_not_parties():
    three = booked(at(WED, 20), 90, 3, overbooked=True)
    assert ask(full_wed(three), 20, party=1, channel="phone").overbook
    d = ask(full_wed(three), 20, party=2, channel="phone")
    assert d.reasons == ("fully_booked", "overbooking_limit")


def test_non_overlapping_overbooked_bookings_do_not_count():
    before = [booked(at(WED, 18, 30), 90, 2, overbooked=True) for _ in range(2)]  # ends 20:00
    after = [booked(at(WED, 21, 30), 90, 2, overbooked=True) for _ in range(2)]  # starts 21:30
    plan = plan_day(SAMNA, WED, occupy(WED, FITS_TWO | SIX_TOPS) + before + after)
    d = ask(plan, 20, party=4, channel="phone")  # 20:00–22:00 overlaps the later pair
    assert not d.available and d.reasons == ("fully_booked", "overbooking_limit")
    d = ask(plan, 20, party=2, channel="phone")  # 20:00–21:30 touches both pairs, overlaps neither
    assert d.available and d.overbook


def test_the_cap_is_per_moment_not_per_window():
    a = booked(at(WED, 19), 90, 2, overbooked=True)  # 19:00–20:30
    b = booked(at(WED, 20, 30), 90, 2, overbooked=True)  # 20:30–22:00
    plan = full_wed(a, b)
    # 20:00–21:30 meets a then b, never both at once: 2 + 2 = 4 at most.
    assert ask(plan, 20, party=2, channel="phone").overbook
    d = ask(plan, 20, party=3, channel="phone")
    assert d.reasons == ("fully_booked", "overbooking_limit")


def test_a_table_is_preferred_to_overbooking():
    plan = plan_day(SAMNA, WED, occupy(WED, FITS_TWO - {7}))
    d = ask(plan, 20, channel="phone")
    assert not d.overbook and d.seating.tables == (7,)


# --- override -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["online", "phone"])
def test_override_takes_a_held_table_first(channel):
    ob = [booked(at(FRI, 19), 90, 2, overbooked=True) for _ in range(2)]  # phone's cap is full too
    plan = only_held_free(FRI)
    plan = plan_day(SAMNA, FRI, (*plan.bookings, *ob))
    assert not ask(plan, 19, channel=channel).available
    d = ask(plan, 19, channel=channel, override=True)
    assert d.available and not d.overbook
    assert set(d.seating.tables) <= HELD
    assert d.bypassed == "hold_back"
    assert d.reasons == ()


def test_override_takes_a_held_table_rather_than_overbook_within_the_policy():
    plan = only_held_free(SAT)
    assert ask(plan, 20, channel="phone").overbook  # the ordinary answer: overbooked, no table
    d = ask(plan, 20, channel="phone", override=True)
    assert d.available and not d.overbook
    assert set(d.seating.tables) <= HELD and d.bypassed == "hold_back"


def test_override_overbooks_beyond_the_limit_when_nothing_is_held():
    ob = [booked(at(WED, 20), 90, 2, overbooked=True) for _ in range(2)]
    for channel in ("phone", "online"):
        d = ask(full_wed(*ob), 20, channel=channel, override=True)
        assert d.available and d.overbook
        assert d.seating is None
        assert d.bypassed == "overbooking_limit"
        assert real_minutes(d.start, d.end) == 90


def test_override_for_a_party_beyond_the_policy_size():
    plan = plan_day(SAMNA, WED, occupy(WED, SIX_TOPS))
    d = ask(plan, 20, party=6, channel="phone", override=True)
    assert d.available and d.overbook and d.bypassed == "overbooking_limit"


def test_override_where_an_ordinary_table_is_free_bypasses_nothing():
    plan = plan_day(SAMNA, FRI, [])
    plain = ask(plan, 19)
    d = ask(plan, 19, override=True)
    assert d == plain
    assert d.bypassed is None and not d.overbook and d.seating.tables[0] not in HELD
    # Nor where the policy allows overbooking and nothing is held.
    plain = ask(full_wed(), 20, channel="phone")
    assert plain.overbook and ask(full_wed(), 20, channel="phone", override=True) == plain


def test_override_cannot_beat_in_the_past_or_closed():
    plan = plan_day(SAMNA, WED, [])
    d = decide(plan, party_size=2, channel="phone", start=at(WED, 12), now=at(WED, 13), override=True)
    assert not d.available and d.reasons == ("in_the_past",)
    closed = plan_day(samna(closures=frozenset({WED})), WED, [])
    assert ask(closed, 19, override=True).reasons == ("closed",)


# --- party too large, past, closed -------------------------------------------------------------


def test_party_of_eleven_is_too_large_for_every_slot():
    slots = availability(plan_day(SAMNA, WED, []), party_size=11, channel="phone", now=NOW)
    assert len(slots) == 41
    assert all(not d.available and d.reasons == ("party_too_large",) for d in slots)


def test_slots_before_now_are_in_the_past():
    now = at(WED, 15, 7)
    slots = availability(plan_day(SAMNA, WED, []), party_size=2, channel="online", now=now)
    for d in slots:
        if d.start < now:
            assert not d.available and d.reasons == ("in_the_past",)
        else:
            assert d.available
    assert sum(1 for d in slots if not d.available) == 13  # 12:00 … 15:00
    # A slot starting exactly now is still bookable.
    assert decide(plan_day(SAMNA, WED, []), party_size=2, channel="online", start=at(WED, 15, 15),
                  now=at(WED, 15, 15)).available


def test_a_whole_past_day_is_in_the_past():
    slots = availability(plan_day(SAMNA, WED, []), party_size=2, channel="online", now=at(THU, 9))
    assert all(d.reasons == ("in_the_past",) for d in slots)


def test_a_closure_date_is_closed():
    config = samna(closures=frozenset({SAT}))
    plan = plan_day(config, SAT, [])
    assert plan.closed
    slots = availability(plan, party_size=2, channel="phone", now=NOW)
    assert len(slots) == 41
    assert all(not d.available and d.reasons == ("closed",) for d in slots)
    assert availability(plan_day(config, FRI, []), party_size=2, channel="phone", now=NOW)[0].available


def test_a_weekday_without_service_is_closed_but_lists_the_usual_grid():
    config = samna(services=tuple(ServiceRule(wd, time(12), time(22), time(23)) for wd in range(6)))  # no Sunday
    plan = plan_day(config, SUN, [])
    assert plan.closed
    slots = availability(plan, party_size=2, channel="online", now=NOW)
    assert len(slots) == 41
    assert all(d.reasons == ("closed",) for d in slots)


def test_past_and_closed_are_both_reported_past_first():
    plan = plan_day(samna(closures=frozenset({WED})), WED, [])
    d = decide(plan, party_size=2, channel="online", start=at(WED, 12), now=at(WED, 14))
    assert d.reasons == ("in_the_past", "closed")
    assert d.reason == "in_the_past"


def test_beyond_the_180_day_horizon_is_closed():
    now = at(WED, 10)
    inside = WED + timedelta(days=179)
    beyond = WED + timedelta(days=181)
    assert all(d.available for d in availability(plan_day(SAMNA, inside, []), party_size=2,
                                                 channel="online", now=now))
    assert all(d.reasons == ("closed",) for d in availability(plan_day(SAMNA, beyond, []), party_size=2,
                                                              channel="online", now=now))
    # On the 180th day, slots up to exactly now + 180 days are open, later ones closed.
    edge = availability(plan_day(SAMNA, WED + timedelta(days=180), []), party_size=2, channel="online",
                        now=at(WED, 18))
    assert [d.available for d in edge] == [d.start <= at(WED, 18) + timedelta(days=180) for d in edge]


# --- DST ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day,offset", [
    (date(2026, 3, 28), 2), (date(2026, 3, 29), 3), (date(2026, 3, 30), 3),
    (date(2026, 10, 24), 3), (date(2026, 10, 25), 2), (date(2026, 10, 26), 2),
])
def test_dst_days_keep_41_slots_with_the_right_offset(day, offset):
    plan = plan_day(SAMNA, day, [])
    assert len(plan.grid) == 41
    assert all(g.utcoffset() == timedelta(hours=offset) for g in plan.grid)
    assert plan.grid[0].astimezone(UTC) == datetime.combine(day, time(12 - offset), tzinfo=UTC)
    assert plan.grid[-1].astimezone(UTC) == datetime.combine(day, time(22 - offset), tzinfo=UTC)
    assert plan.grid[0].isoformat() == f"{day.isoformat()}T12:00:00+0{offset}:00"
    now = datetime.combine(day - timedelta(days=10), time(9), tzinfo=KYIV)
    slots = availability(plan, party_size=2, channel="phone", now=now)
    assert len(slots) == 41
    assert all(d.available and real_minutes(d.start, d.end) == 90 for d in slots)


def late_night(turn_minutes: int) -> RestaurantConfig:
    """A bar seating until 23:45 with a long turn, so bookings run through the night's DST change."""
    return samna(
        services=tuple(ServiceRule(wd, time(18), time(23, 45), time(6)) for wd in range(7)),
        holds=(),
        turn_times=(TurnRule(1, 10, turn_minutes),),
    )


@pytest.mark.parametrize("day", [date(2026, 3, 28), date(2026, 10, 24)])
def test_a_turn_crossing_the_dst_change_lasts_its_real_minutes(day):
    config = late_night(300)
    plan = plan_day(config, day, [])
    now = datetime.combine(day - timedelta(days=10), time(9), tzinfo=KYIV)
    for d in availability(plan, party_size=2, channel="phone", now=now):
        assert d.available
        assert real_minutes(d.start, d.end) == 300, d.start


def test_dst_bookings_block_by_real_time():
    # Saturday 24 Oct 2026 23:45 +03:00 (20:45 UTC) for 300 minutes ends 01:45 UTC, i.e. 03:45 +02:00
    # on the second pass through the repeated hour, not 04:45 +02:00.
    config = late_night(300)
    day = date(2026, 10, 24)
    now = datetime(2026, 10, 1, tzinfo=KYIV)
    first = decide(plan_day(config, day, []), party_size=2, channel="phone", start=at(day, 23, 45), now=now)
    assert real_minutes(first.start, first.end) == 300
    assert first.end.astimezone(UTC) == datetime(2026, 10, 25, 1, 45, tzinfo=UTC)
    assert first.end.astimezone(KYIV).utcoffset() == timedelta(hours=2)
    # A table taken by it (stored in UTC, as the database returns it) stays taken until then.
    taken = Booking(first.start.astimezone(UTC), first.end.astimezone(UTC), 2, first.seating.tables)
    plan = plan_day(config, day, occupy(day, {t for t in range(1, 13)} - set(first.seating.tables),
                                        start=(18, 0), end=(23, 59)) + [taken])
    assert not decide(plan, party_size=2, channel="online", start=at(day, 23, 45), now=now).available


# --- alternatives -------------------------------------------------------------------------------------


def test_alternatives_are_the_nearest_three_available_starts_nearest_first():
    # Every table a party of 2 fits is taken 18:30–21:00: 17:15 … 20:45 are unavailable online.
    plan = plan_day(SAMNA, WED, occupy(WED, FITS_TWO, start=(18, 30), end=(21, 0)))
    slots = availability(plan, party_size=2, channel="online", now=NOW)
    unavailable = [d.start for d in slots if not d.available]
    assert unavailable[0] == at(WED, 17, 15) and unavailable[-1] == at(WED, 20, 45)
    alts = alternatives(slots, at(WED, 19))
    # 17:00 and 21:00 are both 2 h away (the earlier first), then 16:45 (2 h 15, before 21:15).
    assert alts == [at(WED, 17), at(WED, 21), at(WED, 16, 45)]
    assert alternatives(slots, at(WED, 20, 30)) == [at(WED, 21), at(WED, 21, 15), at(WED, 21, 30)]
    assert alternatives(slots, at(WED, 19), limit=1) == [at(WED, 17)]


def test_alternatives_exclude_the_start_and_unavailable_ones():
    plan = plan_day(SAMNA, WED, [])
    slots = availability(plan, party_size=2, channel="online", now=at(WED, 21, 20))
    # Only 21:30, 21:45 and 22:00 remain.
    assert alternatives(slots, at(WED, 21, 30)) == [at(WED, 21, 45), at(WED, 22)]
    assert alternatives(slots, at(WED, 12)) == [at(WED, 21, 30), at(WED, 21, 45), at(WED, 22)]
    none = availability(plan, party_size=11, channel="online", now=NOW)
    assert alternatives(none, at(WED, 19)) == []


# --- walk-ins: earliest table and quoted wait ----------------------------------------------------------


def wed_evening_for_walk_ins():
    """Every table a party of two fits busy until 20:30, except T5 which frees at 19:40."""
    bookings = [booked(at(WED, 18), 150, 2, t) for t in sorted(FITS_TWO - {5})]  # until 20:30
    bookings.append(booked(at(WED, 18, 10), 90, 2, 5))  # 18:10–19:40
    return plan_day(SAMNA, WED, bookings)


def test_earliest_table_now_when_one_is_free():
    plan = plan_day(SAMNA, WED, [])
    moment, seating = earliest_table(plan, party_size=2, now=at(WED, 19, 3))
    assert moment == at(WED, 19, 3)
    assert seating.tables[0] in TWO_TOPS


def test_earliest_table_is_the_first_moment_a_table_frees():
    plan = wed_evening_for_walk_ins()
    moment, seating = earliest_table(plan, party_size=2, now=at(WED, 19))
    assert moment == at(WED, 19, 40)
    assert seating.tables == (5,)
    moment, seating = earliest_table(plan, party_size=5, now=at(WED, 19))
    assert moment == at(WED, 19) and seating.tables[0] in SIX_TOPS


def test_earliest_table_skips_a_gap_too_short_for_the_turn():
    # T1 free 19:00–20:00 only (60 min < 90): the first real chance is 20:30 when others free.
    bookings = [booked(at(WED, 17), 210, 2, t) for t in sorted(FITS_TWO - {1})]  # until 20:30
    bookings.append(booked(at(WED, 17), 120, 2, 1))  # T1 until 19:00
    bookings.append(booked(at(WED, 20), 180, 2, 1))  # T1 again from 20:00
    moment, seating = earliest_table(plan_day(SAMNA, WED, bookings), party_size=2, now=at(WED, 18, 50))
    assert moment == at(WED, 20, 30)
    assert 1 not in seating.tables


def test_earliest_table_none_when_nothing_frees_before_last_seating_or_outside_hours():
    plan = plan_day(SAMNA, WED, occupy(WED, FITS_TWO, start=(17, 0), end=(23, 0)))
    assert earliest_table(plan, party_size=2, now=at(WED, 19)) is None
    assert earliest_table(plan_day(SAMNA, WED, []), party_size=2, now=at(WED, 11)) is None
    assert earliest_table(plan_day(SAMNA, WED, []), party_size=2, now=at(WED, 22, 30)) is None
    assert earliest_table(plan_day(SAMNA, WED, []), party_size=11, now=at(WED, 19)) is None


def test_earliest_table_may_use_a_held_table():
    moment, seating = earliest_table(only_held_free(FRI), party_size=2, now=at(FRI, 19, 30))
    assert moment == at(FRI, 19, 30) and set(seating.tables) <= HELD


def test_quote_wait_is_padded_and_never_less_than_the_raw_wait():
    plan = wed_evening_for_walk_ins()
    minutes, likely = quote_wait(plan, party_size=2, now=at(WED, 19))
    assert likely
    assert minutes >= 40 and minutes % 5 == 0
    assert minutes == 50  # 40 + 10 minutes' padding


def test_quote_wait_when_a_table_is_free_now():
    minutes, likely = quote_wait(plan_day(SAMNA, WED, []), party_size=2, now=at(WED, 19))
    assert likely and minutes % 5 == 0 and 0 < minutes <= 10


def test_quote_wait_accounts_for_parties_ahead():
    plan = wed_evening_for_walk_ins()
    alone, _ = quote_wait(plan, party_size=2, now=at(WED, 19))
    behind, likely = quote_wait(plan, party_size=2, now=at(WED, 19), parties_ahead=[2])
    # The party ahead takes T5 at 19:40; ours waits for 20:30 (90 raw minutes).
    assert likely
    assert behind > alone
    assert behind >= 90 and behind % 5 == 0
    assert behind == 115  # 90 + a quarter (22.5), rounded up to 5
    # A party ahead that needs a different table does not delay us.
    other, _ = quote_wait(plan, party_size=2, now=at(WED, 19), parties_ahead=[5])
    assert other == alone


@pytest.mark.parametrize("hh,mm", [(19, 0), (19, 20), (19, 39), (20, 0)])
def test_quote_wait_padding_is_a_multiple_of_five_and_covers_the_raw_wait(hh, mm):
    plan = wed_evening_for_walk_ins()
    now = at(WED, hh, mm)
    found = earliest_table(plan, party_size=2, now=now)
    raw = real_minutes(now, found[0])
    minutes, likely = quote_wait(plan, party_size=2, now=now)
    assert likely and minutes % 5 == 0 and minutes >= raw and minutes >= 5


def test_quote_wait_when_no_table_tonight():
    plan = plan_day(SAMNA, WED, occupy(WED, FITS_TWO, start=(17, 0), end=(23, 0)))
    minutes, likely = quote_wait(plan, party_size=2, now=at(WED, 19, 2))
    assert not likely
    assert minutes % 5 == 0 and minutes >= 178  # at least until the last seating at 22:00


def wed_with_two_tables_freeing_soon():
    """Every table a party of two fits busy until 20:30, except T5 (frees 19:30) and T6 (frees 19:45)."""
    bookings = [booked(at(WED, 18), 150, 2, t) for t in sorted(FITS_TWO - {5, 6})]  # until 20:30
    bookings += [booked(at(WED, 18), 90, 2, 5), booked(at(WED, 18, 15), 90, 2, 6)]
    return bookings


def test_overbooked_parties_due_before_the_walk_in_sits_lengthen_the_quote():
    """The issue's example: two overbooked parties due at 19:15, a walk-in at 19:00."""
    bookings = wed_with_two_tables_freeing_soon()
    alone, _ = quote_wait(plan_day(SAMNA, WED, bookings), party_size=2, now=at(WED, 19))
    assert alone == 40  # T5 at 19:30: 30 minutes, padded by 10

    overbooked = [booked(at(WED, 19, 15), 90, 2, overbooked=True) for _ in range(2)]
    plan = plan_day(SAMNA, WED, bookings + overbooked)
    minutes, likely = quote_wait(plan, party_size=2, now=at(WED, 19))

    # They take T5 (19:30) and T6 (19:45); the walk-in's first table frees at 20:30.
    assert likely
    assert minutes >= 90
    assert minutes == 115  # 90 + a quarter, rounded up to five
    assert engine.walk_in_seated_at(plan, party_size=2, now=at(WED, 19)) == at(WED, 20, 30)


def test_a_late_overbooked_party_still_due_counts_and_one_due_after_the_free_table_does_not():
    bookings = wed_with_two_tables_freeing_soon()
    # Due at 18:45, not yet seated: owed the first table to free, T5 at 19:30.
    late = booked(at(WED, 18, 45), 90, 2, overbooked=True)
    assert engine.walk_in_seated_at(plan_day(SAMNA, WED, [*bookings, late]), party_size=2,
                                    now=at(WED, 19)) == at(WED, 19, 45)
    # Due at 19:45, after T5 frees: the walk-in is seated at 19:30 before they are due.
    later = booked(at(WED, 19, 45), 90, 2, overbooked=True)
    assert engine.walk_in_seated_at(plan_day(SAMNA, WED, [*bookings, later]), party_size=2,
                                    now=at(WED, 19)) == at(WED, 19, 30)
    # A booking long over (never marked a no-show) is owed nothing.
    gone = booked(at(WED, 13), 90, 2, overbooked=True)
    assert engine.walk_in_seated_at(plan_day(SAMNA, WED, [*bookings, gone]), party_size=2,
                                    now=at(WED, 19)) == at(WED, 19, 30)


def test_overbooked_parties_and_the_line_come_before_the_walk_in():
    bookings = [*wed_with_two_tables_freeing_soon(), booked(at(WED, 19, 15), 90, 2, overbooked=True)]
    plan = plan_day(SAMNA, WED, bookings)
    # The overbooked party takes T5, the party already waiting T6, the walk-in waits for 20:30.
    minutes, likely = quote_wait(plan, party_size=2, now=at(WED, 19), parties_ahead=[2])
    assert likely and minutes == 115
    # An overbooked party of six needs another kind of table: it delays nobody here.
    six = [*wed_with_two_tables_freeing_soon(), booked(at(WED, 19, 15), 150, 6, overbooked=True)]
    assert quote_wait(plan_day(SAMNA, WED, six), party_size=2, now=at(WED, 19)) == (40, True)


# --- hold-back windows after midnight -----------------------------------------------------------


def night_club(**changes) -> RestaurantConfig:
    """Open 20:00–05:00 (last seating 03:00); T3 and T4 held on Fridays 01:00–03:00 of the night."""
    fields = dict(
        services=tuple(ServiceRule(wd, time(20), time(3), time(5)) for wd in range(7)),
        holds=(HoldRule(frozenset({4}), time(1), time(3), frozenset({3, 4}), 60),),
    )
    fields.update(changes)
    return samna(**fields)


def test_a_hold_after_midnight_applies_to_the_night_of_its_service_day():
    config = night_club()
    plan = plan_day(config, FRI, occupy(FRI, FITS_TWO - HELD, start=(20, 0), end=(23, 59))
                    + [Booking(at(SAT, 0), at(SAT, 4), 2, (t,)) for t in sorted(FITS_TWO - HELD)])
    assert [(h.start, h.end) for h in plan.holds] == [(at(SAT, 1), at(SAT, 3))]

    d = decide(plan, party_size=2, channel="online", start=at(SAT, 1, 30), now=NOW)
    assert not d.available and d.reasons == ("fully_booked", "held_for_walk_ins")
    assert decide(plan, party_size=2, channel="phone", start=at(SAT, 1, 30), now=NOW).overbook
    walk_in = decide(plan, party_size=2, channel="walk_in", start=at(SAT, 1, 30), now=at(SAT, 1, 30),
                     walk_in_now=True)
    assert walk_in.available and set(walk_in.seating.tables) <= HELD
    # Before the window (22:00 + 90 minutes ends 23:30) the held tables are the book's.
    assert set(decide(plan, party_size=2, channel="online", start=at(FRI, 22), now=NOW).seating.tables) <= HELD


def test_a_hold_after_midnight_does_not_leak_into_the_previous_night():
    # Friday's hold is not Thursday night's: at 01:30 on Friday (Thursday's service) T3 is the book's.
    plan = plan_day(night_club(), THU, [Booking(at(FRI, 0), at(FRI, 4), 2, (t,)) for t in sorted(FITS_TWO - HELD)])
    assert plan.holds == ()
    d = decide(plan, party_size=2, channel="online", start=at(FRI, 1, 30), now=NOW)
    assert d.available and set(d.seating.tables) <= HELD


def test_an_evening_hold_in_a_service_past_midnight_stays_on_the_evening():
    config = night_club(holds=(HoldRule(frozenset({4}), time(21), time(23), frozenset({3, 4}), 60),))
    assert [(h.start, h.end) for h in plan_day(config, FRI, []).holds] == [(at(FRI, 21), at(FRI, 23))]
    # And at Samna (no service past midnight) nothing moves.
    assert [(h.start, h.end) for h in plan_day(SAMNA, FRI, []).holds] == [(at(FRI, 19), at(FRI, 22))]


def test_a_hold_across_midnight_runs_from_the_evening_into_the_night():
    config = night_club(holds=(HoldRule(frozenset({4}), time(23), time(1), frozenset({3, 4}), 60),))
    assert [(h.start, h.end) for h in plan_day(config, FRI, []).holds] == [(at(FRI, 23), at(SAT, 1))]


# --- misc ------------------------------------------------------------------------------------------


def test_seatings_are_ordered_best_fit_first():
    names = [s.name for s in SAMNA.seatings]
    assert names.index("T5") < names.index("T11+T12")
    assert names.index("T9") < names.index("T9+T10")
    assert names[-1] == "T9+T10"
    assert SAMNA.largest_party == 10


def test_reason_codes_are_the_contracts():
    assert set(engine.REASON_ORDER) == {
        "fully_booked", "held_for_walk_ins", "overbooking_limit", "party_too_large",
        "outside_service_hours", "in_the_past", "closed",
    }


def test_bookings_in_utc_are_compared_by_real_time():
    # The book arrives from the database in UTC.
    start = at(WED, 19).astimezone(UTC)
    plan = plan_day(SAMNA, WED, [Booking(start, start + timedelta(minutes=90), 2, (1,))])
    assert 1 not in ask(plan, 20).seating.tables
    assert ask(plan, 20, 30).seating.tables == (1,)


def test_service_day_is_the_day_whose_service_a_moment_falls_in():
    assert engine.service_day(SAMNA, at(WED, 19)) == WED
    assert engine.service_day(SAMNA, at(WED, 19).astimezone(UTC)) == WED
    # A bar seating until 02:00: 01:00 on Thursday belongs to Wednesday's service.
    bar = samna(services=tuple(ServiceRule(wd, time(20), time(2), time(3)) for wd in range(7)), holds=())
    assert engine.service_day(bar, at(THU, 1)) == WED
    assert engine.service_day(bar, at(THU, 21)) == THU
    assert engine.service_day(bar, at(THU, 12)) == THU  # outside any service: the calendar day
