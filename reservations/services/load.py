"""`big`: a 200-table restaurant at full stretch, built in bulk for the chain-scale benchmarks (issue 9); and
a chain of smaller sites in one restaurant group on one database, for availability across many restaurants.

Every booking is planned in Python first, table by table, as a chain of turns that never overlap, so the
book is consistent with every constraint (the PostgreSQL exclusion constraint included) before a row is
written. PostgreSQL gets the rows through COPY (seconds for a year); other databases through bulk_create.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models.deletion import SET_NULL
from django.utils import timezone

from ..models import (
    Area,
    Guest,
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    ReservationTable,
    Restaurant,
    RestaurantGroup,
    ServiceHours,
    Table,
    TableCombination,
    TurnTime,
)

BIG_SLUG = "big"
BIG_NAME = "Big Brasserie"
AREAS = ["main hall", "terrace", "winter garden", "bar", "mezzanine", "private rooms"]
# seats: how many such tables (200 in all), and the fewest guests each is given.
TABLE_MIX = [(2, 60, 1), (4, 70, 2), (6, 40, 4), (8, 30, 6)]
TURN_TIMES = [(1, 2, 90), (3, 4, 120), (5, 6, 150), (7, 8, 180), (9, 16, 210)]
OPENS, LAST_SEATING, CLOSES = time(11), time(22, 30), time(23, 30)
PEAK = time(19, 30)  # bookings gather around it, as a real evening's do
COMBINATIONS = 20
GUESTS = 5000
BATCH = 5000


@dataclass(frozen=True)
class LoadSummary:
    restaurant: Restaurant
    tables: int
    combinations: int
    future_bookings: int
    history_bookings: int


def _turn_minutes(party: int) -> int:
    return next(minutes for low, high, minutes in TURN_TIMES if low <= party <= high)


def _restaurant_wipe(slug: str) -> None:
    """Remove an earlier `big` and its whole book, quickly: a year's book is too big for the ORM's collector."""
    old = Restaurant.objects.filter(slug=slug).first()
    if old is None:
        return
    # What hangs off its bookings (gestures, messages, notes…) is small: the ORM deletes it with its cascades.
    for relation in Reservation._meta.related_objects:
        if relation.related_model is ReservationTable:
            continue
        rows = relation.related_model._base_manager.filter(**{f"{relation.field.name}__restaurant": old})
        if relation.on_delete is SET_NULL:
            rows.update(**{relation.field.name: None})
        else:
            rows.delete()
    ReservationTable.objects.filter(reservation__restaurant=old)._raw_delete(connection.alias)
    Reservation.objects.filter(restaurant=old)._raw_delete(connection.alias)
    old.delete()


def _floor(restaurant: Restaurant, *, area_names: list[str] = AREAS, table_mix: list[tuple[int, int, int]] = TABLE_MIX,
           combinations: int = COMBINATIONS, prefix: str = "B") -> tuple[list[Table], int]:
    areas = Area.objects.bulk_create(Area(restaurant=restaurant, name=name) for name in area_names)
    tables = []
    for seats, count, fewest in table_mix:
        for _ in range(count):
            number = len(tables) + 1
            tables.append(Table(restaurant=restaurant, area=areas[number % len(areas)], name=f"{prefix}{number}",
                                min_covers=fewest, max_covers=seats))
    tables = Table.objects.bulk_create(tables)
    # Neighbouring tables of the same size and area pushed together: 6+6 and 8+8 for the large parties.
    by_area_and_size: dict[tuple[int, int], list[Table]] = {}
    for table in tables:
        if table.max_covers >= 6:
            by_area_and_size.setdefault((table.area_id, table.max_covers), []).append(table)
    pairs = [(a, b) for group in by_area_and_size.values() for a, b in zip(group[::2], group[1::2], strict=False)]
    pairs = pairs[:combinations]
    combinations = TableCombination.objects.bulk_create(
        TableCombination(restaurant=restaurant, min_covers=a.max_covers + 1, max_covers=a.max_covers + b.max_covers)
        for a, b in pairs
    )
    Through = TableCombination.tables.through
    Through.objects.bulk_create(
        Through(tablecombination_id=c.pk, table_id=t.pk) for c, pair in zip(combinations, pairs, strict=True)
        for t in pair
    )
    return tables, len(combinations)


def _rules(restaurant: Restaurant, tables: list[Table], *, held: int = 10, overbooked_covers: int = 40) -> None:
    ServiceHours.objects.bulk_create(
        ServiceHours(restaurant=restaurant, weekday=day, name="all day", opens=OPENS, last_seating=LAST_SEATING,
                     closes=CLOSES)
        for day in range(7)
    )
    TurnTime.objects.bulk_create(
        TurnTime(restaurant=restaurant, min_party=low, max_party=high, minutes=minutes)
        for low, high, minutes in TURN_TIMES
    )
    hold = HoldBackRule.objects.create(restaurant=restaurant, name="Walk-ins at peak", weekdays=[4, 5],
                                       starts=time(19), ends=time(22), release_minutes_before=60)
    hold.tables.set([t for t in tables if t.max_covers == 2][:held])
    OverbookingPolicy.objects.create(restaurant=restaurant, max_overbooked_covers=overbooked_covers, max_party_size=4,
                                     channels=["phone", "host"])


def _day_template(tables: list[Table], per_day: int) -> list[tuple[int, int, int, int]]:
    """(table index, minutes after opening, party, turn minutes) for one day: each table's turns back to back,
    the `per_day` nearest the peak kept. Turns on one table never overlap, whatever is kept."""
    last = (LAST_SEATING.hour - OPENS.hour) * 60 + LAST_SEATING.minute - OPENS.minute
    peak = (PEAK.hour - OPENS.hour) * 60 + PEAK.minute - OPENS.minute
    candidates = []
    for index, table in enumerate(tables):
        party = table.max_covers if index % 3 else max(table.min_covers, table.max_covers - 1)
        turn = _turn_minutes(party)
        offset = (index % 4) * 15  # not every table turns on the same quarter
        at = offset
        while at <= last:
            candidates.append((index, at, party, turn))
            at += turn
    if per_day > len(candidates):
        raise ValueError(f"{len(tables)} tables hold at most {len(candidates)} bookings a day, not {per_day}.")
    candidates.sort(key=lambda c: (abs(c[1] + c[3] // 2 - peak), c[0]))
    return sorted(candidates[:per_day], key=lambda c: (c[1], c[0]))


def _guests(group: RestaurantGroup) -> list[int]:
    Guest.objects.bulk_create(
        (Guest(group=group, name=f"Guest {n}", phone=f"+38067{n:07d}") for n in range(1, GUESTS + 1)),
        ignore_conflicts=True, batch_size=BATCH,
    )
    return list(Guest.objects.filter(group=group).order_by("id").values_list("id", flat=True))


def _rows(restaurant: Restaurant, tables: list[Table], guests: list[int], template, days: list[date], now: datetime):
    """Each booking as (reservation fields, table id, released): statuses follow the clock."""
    tz = restaurant.tz
    n = 0
    for day in days:
        opening = datetime.combine(day, OPENS, tzinfo=tz)
        for index, minutes, party, turn in template:
            n += 1
            start = opening + timedelta(minutes=minutes)
            end = start + timedelta(minutes=turn)
            made = start - timedelta(days=3 + n % 20)
            fields = {"start": start, "end": end, "party_size": party, "guest_id": guests[n % len(guests)],
                      "channel": ("phone", "online", "host")[n % 3], "created_at": min(made, now),
                      "confirmed_at": None, "arrived_at": None, "seated_at": None, "completed_at": None}
            if end <= now:  # over: the party came, sat and left; its table is free again
                fields.update(status="completed", confirmed_at=start - timedelta(hours=4), arrived_at=start,
                              seated_at=start, completed_at=end)
                released = True
            elif start <= now:
                fields.update(status="seated", confirmed_at=start - timedelta(hours=4), arrived_at=start,
                              seated_at=start)
                released = False
            elif n % 2:
                fields.update(status="confirmed", confirmed_at=min(made + timedelta(days=1), now))
                released = False
            else:
                fields.update(status="booked")
                released = False
            # Marked prepared, so the beat's sweep does not set about a year of gestures and notes.
            fields["prepared_at"] = fields["created_at"]
            fields["updated_at"] = max(v for k, v in fields.items() if k.endswith("_at") and v is not None)
            yield fields, tables[index].pk, released


def _write_orm(restaurant: Restaurant, rows) -> int:
    count = 0
    chunk: list[tuple[dict, int, bool]] = []

    def flush():
        made = Reservation.objects.bulk_create(
            [Reservation(restaurant=restaurant, **fields) for fields, _, _ in chunk])
        ReservationTable.objects.bulk_create(
            ReservationTable(reservation=r, table_id=table_id, start=r.start, end=r.end, released=released)
            for r, (_, table_id, released) in zip(made, chunk, strict=True))
        chunk.clear()

    for row in rows:
        chunk.append(row)
        count += 1
        if len(chunk) >= BATCH:
            flush()
    if chunk:
        flush()
    return count


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


RESERVATION_COLUMNS = [
    "id", "restaurant_id", "guest_id", "party_size", "start", "end", "status", "channel", "overbooked",
    "expectations", "notes", "created_at", "updated_at", "confirmed_at", "arrived_at", "seated_at",
    "completed_at", "cancelled_at", "override_reason", "override_bypassed", "prepared_at", "guest_token",
]


def _write_copy(restaurant: Restaurant, rows, *, analyse: bool = True) -> int:
    """PostgreSQL: ids taken from the sequence in one step, then both tables streamed through COPY."""
    rows = list(rows)
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('reservations_reservation', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute("LOCK TABLE reservations_reservation IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + len(rows) - 1])
        reservations, assignments = io.StringIO(), io.StringIO()
        stamps: dict[datetime, str] = {}  # a day's turns share their times: each is formatted once

        def text(value) -> str:
            if isinstance(value, datetime):
                found = stamps.get(value)
                if found is None:
                    found = stamps[value] = value.isoformat()
                return found
            return _copy_value(value)

        for offset, (fields, table_id, released) in enumerate(rows):
            pk = first + offset
            start, end = text(fields["start"]), text(fields["end"])
            values = [pk, restaurant.pk, fields["guest_id"], fields["party_size"], start, end,
                      fields["status"], fields["channel"], "f", "[]", "", fields["created_at"],
                      fields["updated_at"], fields["confirmed_at"], fields["arrived_at"], fields["seated_at"],
                      fields["completed_at"], None, "", "", fields["prepared_at"], secrets.token_urlsafe(9)]
            reservations.write("\t".join(map(text, values)) + "\n")
            assignments.write(f"{pk}\t{table_id}\t{start}\t{end}\t{'t' if released else 'f'}\n")
        columns = ", ".join(f'"{c}"' for c in RESERVATION_COLUMNS)
        with cursor.cursor.copy(f"COPY reservations_reservation ({columns}) FROM STDIN") as copy:
            copy.write(reservations.getvalue())
        with cursor.cursor.copy('COPY reservations_reservationtable (reservation_id, table_id, start, "end", '
                                "released) FROM STDIN") as copy:
            copy.write(assignments.getvalue())
        if analyse:
            _analyse(cursor)
    return len(rows)


def _analyse(cursor) -> None:
    cursor.execute("ANALYZE reservations_reservation")
    cursor.execute("ANALYZE reservations_reservationtable")


def _keys_drop() -> list[tuple[str, str, str]]:
    """PostgreSQL: drop the foreign keys from and to the two big tables for the load, to be added back by
    `_keys_restore` exactly as they were. Adding a key checks every row in one join, where a kept key checks
    each of half a million rows one by one (deleted and inserted alike). Nothing is left unchecked: a row that
    broke a key fails the whole load."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND (conrelid IN ('reservations_reservation'::regclass, "
            "'reservations_reservationtable'::regclass) OR confrelid IN ('reservations_reservation'::regclass, "
            "'reservations_reservationtable'::regclass))"
        )
        keys = cursor.fetchall()
        # A table with checks still queued in this transaction cannot be altered: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _ in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


def _keys_restore(keys: list[tuple[str, str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's keys are all initially deferred


@transaction.atomic
def big_restaurant_reset(*, days: int = 30, per_day: int = 1200, history_days: int = 365,
                         now: datetime | None = None) -> LoadSummary:
    """Build (or rebuild) `big`: 200 tables in 6 areas, 20 combinations, a hold-back rule, a 40-cover
    overbooking policy, `per_day` bookings on each of today and the next `days - 1` days and on each of the
    `history_days` before today (those completed)."""
    now = now or timezone.now()
    bulk = connection.vendor == "postgresql"
    keys = _keys_drop() if bulk else []
    _restaurant_wipe(BIG_SLUG)
    group, _ = RestaurantGroup.objects.get_or_create(name=BIG_NAME)
    restaurant = Restaurant.objects.create(group=group, slug=BIG_SLUG, name=BIG_NAME, time_zone="Europe/Kyiv",
                                           slot_minutes=15, booking_horizon_days=180, language="en")
    tables, combinations = _floor(restaurant)
    _rules(restaurant, tables)
    template = _day_template(tables, per_day)
    guests = _guests(group)
    today = timezone.localdate(now, timezone=restaurant.tz)
    history = [today - timedelta(days=n) for n in range(history_days, 0, -1)]
    future = [today + timedelta(days=n) for n in range(days)]
    write = _write_copy if bulk else _write_orm
    written_history = write(restaurant, _rows(restaurant, tables, guests, template, history, now))
    written_future = write(restaurant, _rows(restaurant, tables, guests, template, future, now))
    if bulk:
        _keys_restore(keys)
    restaurant.save()  # a new configuration token: no cached day plan of an earlier `big` survives
    return LoadSummary(restaurant=restaurant, tables=len(tables), combinations=combinations,
                       future_bookings=written_future, history_bookings=written_history)


# A chain's sites: each a mid-sized restaurant of 36 tables in 3 areas (4 combinations of 6s and 8s), with its
# own hold-back rule and overbooking policy, all in one restaurant group sharing its guests.
SITE_SLUG = "site-{:02d}"
SITES_GROUP = "Chain Sites"
SITE_AREAS = ["hall", "terrace", "bar"]
SITE_TABLE_MIX = [(2, 12, 1), (4, 14, 2), (6, 6, 4), (8, 4, 6)]
SITE_COMBINATIONS = 4


@transaction.atomic
def chain_sites_reset(*, sites: int = 20, days: int = 7, per_day: int = 180, history_days: int = 7,
                      now: datetime | None = None) -> list[LoadSummary]:
    """Build (or rebuild) `sites` restaurants `site-01`, `site-02`… in one group: 36 tables each, `per_day`
    bookings on each of today and the next `days - 1` days and on each of the `history_days` before today.
    Sites of an earlier, larger chain are removed; `big` and every other restaurant are left alone."""
    now = now or timezone.now()
    bulk = connection.vendor == "postgresql"
    keys = _keys_drop() if bulk else []
    group, _ = RestaurantGroup.objects.get_or_create(name=SITES_GROUP)
    wanted = [SITE_SLUG.format(n) for n in range(1, sites + 1)]
    for slug in Restaurant.objects.filter(group=group).values_list("slug", flat=True):
        if slug.startswith("site-"):
            _restaurant_wipe(slug)
    guests = _guests(group)
    # The planner's statistics once for the whole chain (after the last site), not after each site's load.
    write = partial(_write_copy, analyse=False) if bulk else _write_orm
    summaries = []
    for number, slug in enumerate(wanted, start=1):
        restaurant = Restaurant.objects.create(group=group, slug=slug, name=f"Site {number:02d}",
                                               time_zone="Europe/Kyiv", slot_minutes=15, booking_horizon_days=180,
                                               language="en")
        tables, combinations = _floor(restaurant, area_names=SITE_AREAS, table_mix=SITE_TABLE_MIX,
                                      combinations=SITE_COMBINATIONS, prefix="T")
        _rules(restaurant, tables, held=4, overbooked_covers=8)
        template = _day_template(tables, per_day)
        today = timezone.localdate(now, timezone=restaurant.tz)
        history = [today - timedelta(days=n) for n in range(history_days, 0, -1)]
        future = [today + timedelta(days=n) for n in range(days)]
        written_history = write(restaurant, _rows(restaurant, tables, guests, template, history, now))
        written_future = write(restaurant, _rows(restaurant, tables, guests, template, future, now))
        summaries.append(LoadSummary(restaurant=restaurant, tables=len(tables), combinations=combinations,
                                     future_bookings=written_future, history_bookings=written_history))
    if bulk:
        _keys_restore(keys)
        with connection.cursor() as cursor:
            _analyse(cursor)
    for summary in summaries:
        summary.restaurant.save()  # a new configuration token: no cached set-up of an earlier site survives
    return summaries
