"""Database functions the ORM lacks, for the read side's hot queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import BigIntegerField, Func

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EpochMicroseconds(Func):
    """A timestamp as whole microseconds since the epoch, computed by the database.

    A day's availability at a large restaurant reads a few thousand timestamps; turning each into an aware
    datetime in Python (Django's time-zone loader for psycopg 3) cost more than the query itself, while an
    integer is parsed in C. Exact on both databases: PostgreSQL's EXTRACT(EPOCH …) is a numeric, and SQLite
    keeps the text Django wrote ("YYYY-MM-DD HH:MM:SS[.ffffff]", UTC), read as whole seconds plus its six
    fraction digits.
    """

    arity = 1
    output_field = BigIntegerField()

    @property
    def convert_value(self):
        # Both databases already hand back an int: skip Django's per-value int() (two per row, thousands a day).
        return self._convert_value_noop

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # '%%%%s' is strftime's '%s' once through the template and the driver's parameter style.
        return self.as_sql(
            compiler, connection,
            template="(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) * 1000000"
                     " + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))",
            **extra,
        )


def moment_of(microseconds: int) -> datetime:
    """The aware (UTC) moment `EpochMicroseconds` stands for, exactly."""
    return EPOCH + timedelta(microseconds=microseconds)
