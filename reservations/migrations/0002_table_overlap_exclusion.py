"""Forbid one table at overlapping times in the database itself (PostgreSQL only).

An exclusion constraint over (table, [start, end)) for assignments not yet
released: whatever reaches the database, two bookings can never hold the same
table at once. SQLite has no such constraint; there every write to the book is
serialised by the booking lock and SQLite's single writer.
"""

from django.db import migrations

CONSTRAINT = "reservation_table_no_overlap"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE reservations_reservationtable ADD CONSTRAINT {CONSTRAINT} "
        "EXCLUDE USING gist (table_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) WHERE (NOT released)"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE reservations_reservationtable DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("reservations", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
