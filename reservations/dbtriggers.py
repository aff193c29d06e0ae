"""The database triggers that keep `BookVersion` and `SetupVersion` true: every write to the book bumps the
version of the (restaurant, UTC date) its rows start on, in the writing transaction, whatever made the write.

Used by migrations (reservations 0019 and 0023, recovery 0006); change them only with a new migration.

The set-up's tables (a restaurant's own row, tables, combinations, hours, closures, turn times, hold-back rules,
the overbooking policy) bump one counter per restaurant, `SetupVersion`, the same way (`SETUP`).

PostgreSQL: one statement-level trigger per table and event, reading the statement's transition tables, so a
bulk write (seed_load's COPY of a year, a queryset update) bumps each date once per statement, not per row.
SQLite has row-level triggers only: one upsert per row changed.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSIONS = "reservations_bookversion"
_EVENTS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Watched:
    """A table whose rows are part of some day's plan, and how to find each row's restaurant and start.

    `rows` is SQL selecting (restaurant_id, start) for the rows of a relation named by `{rows}` — a
    transition table on PostgreSQL. `row` is the same for SQLite's one row (`{row}` is NEW or OLD)."""

    name: str
    table: str
    rows: str
    row: str


def _changed_rows(rows: str, event: str) -> str:
    """The rows a statement changed, from PostgreSQL's transition tables: both sides of an UPDATE (a row moved to
    another day or restaurant changes both)."""
    if event == "UPDATE":
        return f"{rows.format(rows='old_rows')} UNION ALL {rows.format(rows='new_rows')}"
    return rows.format(rows="new_rows" if event == "INSERT" else "old_rows")


def _pg_function(watched: Watched, event: str) -> str:
    changed = _changed_rows(watched.rows, event)
    # Dates in order, so two statements bumping the same dates lock their rows in the same order.
    return f"""
CREATE OR REPLACE FUNCTION {watched.name}_{event.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {VERSIONS} (restaurant_id, day, version)
    SELECT restaurant_id, (start AT TIME ZONE 'UTC')::date, 1 FROM ({changed}) AS changed
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (restaurant_id, day) DO UPDATE SET version = {VERSIONS}.version + 1;
    RETURN NULL;
END $$"""


def _pg_trigger(watched: Watched, event: str) -> str:
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }[event]
    name = f"{watched.name}_{event.lower()}"
    return (f"CREATE TRIGGER {name} AFTER {event} ON {watched.table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def _sqlite_bump(watched: Watched, row: str) -> str:
    # `WHERE true`: SQLite's grammar needs a WHERE before ON CONFLICT in an INSERT … SELECT.
    return (f"INSERT INTO {VERSIONS} (restaurant_id, day, version) "
            f"SELECT restaurant_id, substr(start, 1, 10), 1 FROM ({watched.row.format(row=row)}) WHERE true "
            f"ON CONFLICT (restaurant_id, day) DO UPDATE SET version = version + 1;")


def _sqlite_trigger(watched: Watched, event: str) -> str:
    rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[event]
    body = " ".join(_sqlite_bump(watched, row) for row in rows)
    name = f"{watched.name}_{event.lower()}"
    return f"CREATE TRIGGER {name} AFTER {event} ON {watched.table} FOR EACH ROW BEGIN {body} END"


def create(schema_editor, watched: Watched) -> None:
    vendor = schema_editor.connection.vendor
    for event in _EVENTS:
        if vendor == "postgresql":
            schema_editor.execute(_pg_function(watched, event))
            schema_editor.execute(_pg_trigger(watched, event))
        elif vendor == "sqlite":
            schema_editor.execute(_sqlite_trigger(watched, event))
        else:
            raise NotImplementedError(f"book version triggers for {vendor}")


def drop(schema_editor, watched: Watched) -> None:
    vendor = schema_editor.connection.vendor
    for event in _EVENTS:
        name = f"{watched.name}_{event.lower()}"
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {watched.table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


RESERVATIONS = Watched(
    name="cxhost_book_reservation",
    table="reservations_reservation",
    rows="SELECT restaurant_id, start FROM {rows}",
    row="SELECT {row}.restaurant_id AS restaurant_id, {row}.start AS start",
)
RESERVATION_TABLES = Watched(
    name="cxhost_book_reservationtable",
    table="reservations_reservationtable",
    rows="SELECT r.restaurant_id, r.start FROM {rows} JOIN reservations_reservation r ON r.id = {rows}.reservation_id",
    row="SELECT restaurant_id, start FROM reservations_reservation WHERE id = {row}.reservation_id",
)
OFFERS = Watched(
    name="cxhost_book_offer",
    table="recovery_recoveryoffer",
    rows="SELECT restaurant_id, start FROM {rows}",
    row="SELECT {row}.restaurant_id AS restaurant_id, {row}.start AS start",
)
OFFER_TABLES = Watched(
    name="cxhost_book_offertable",
    table="recovery_recoveryoffer_tables",
    rows="SELECT o.restaurant_id, o.start FROM {rows} JOIN recovery_recoveryoffer o ON o.id = {rows}.recoveryoffer_id",
    row="SELECT restaurant_id, start FROM recovery_recoveryoffer WHERE id = {row}.recoveryoffer_id",
)


# --- the restaurant's set-up --------------------------------------------------------------------------------

SETUP_VERSIONS = "reservations_setupversion"


@dataclass(frozen=True)
class SetupWatched:
    """A set-up table: `rows` selects restaurant_id from the relation `{rows}` (PostgreSQL's transition
    table), `row` the same for SQLite's one row (`{row}` is NEW or OLD)."""

    name: str
    table: str
    rows: str
    row: str


def _setup_pg_function(watched: SetupWatched, event: str) -> str:
    changed = _changed_rows(watched.rows, event)
    return f"""
CREATE OR REPLACE FUNCTION {watched.name}_{event.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {SETUP_VERSIONS} (restaurant_id, version)
    SELECT restaurant_id, 1 FROM ({changed}) AS changed WHERE restaurant_id IS NOT NULL GROUP BY 1 ORDER BY 1
    ON CONFLICT (restaurant_id) DO UPDATE SET version = {SETUP_VERSIONS}.version + 1;
    RETURN NULL;
END $$"""


def _setup_sqlite_trigger(watched: SetupWatched, event: str) -> str:
    rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[event]
    body = " ".join(
        f"INSERT INTO {SETUP_VERSIONS} (restaurant_id, version) "
        f"SELECT restaurant_id, 1 FROM ({watched.row.format(row=row)}) WHERE restaurant_id IS NOT NULL "
        f"ON CONFLICT (restaurant_id) DO UPDATE SET version = version + 1;" for row in rows)
    name = f"{watched.name}_{event.lower()}"
    return f"CREATE TRIGGER {name} AFTER {event} ON {watched.table} FOR EACH ROW BEGIN {body} END"


def create_setup(schema_editor, watched: SetupWatched) -> None:
    vendor = schema_editor.connection.vendor
    for event in _EVENTS:
        if vendor == "postgresql":
            schema_editor.execute(_setup_pg_function(watched, event))
            schema_editor.execute(_pg_trigger(watched, event))  # the same trigger shape as the book's
        elif vendor == "sqlite":
            schema_editor.execute(_setup_sqlite_trigger(watched, event))
        else:
            raise NotImplementedError(f"set-up version triggers for {vendor}")


def _own(name: str, table: str) -> SetupWatched:
    return SetupWatched(name=f"cxhost_setup_{name}", table=table, rows="SELECT restaurant_id FROM {rows}",
                        row="SELECT {row}.restaurant_id AS restaurant_id")


def _through(name: str, table: str, owner: str, column: str) -> SetupWatched:
    return SetupWatched(
        name=f"cxhost_setup_{name}", table=table,
        rows=f"SELECT o.restaurant_id FROM {{rows}} JOIN {owner} o ON o.id = {{rows}}.{column}",
        row=f"SELECT restaurant_id FROM {owner} WHERE id = {{row}}.{column}")


SETUP = (
    SetupWatched(name="cxhost_setup_restaurant", table="reservations_restaurant",
                 rows="SELECT id AS restaurant_id FROM {rows}", row="SELECT {row}.id AS restaurant_id"),
    _own("table", "reservations_table"),
    _own("combination", "reservations_tablecombination"),
    _through("combination_tables", "reservations_tablecombination_tables", "reservations_tablecombination",
             "tablecombination_id"),
    _own("hours", "reservations_servicehours"),
    _own("closure", "reservations_closure"),
    _own("turn", "reservations_turntime"),
    _own("holdback", "reservations_holdbackrule"),
    _through("holdback_tables", "reservations_holdbackrule_tables", "reservations_holdbackrule", "holdbackrule_id"),
    _own("policy", "reservations_overbookingpolicy"),
)
