"""A pending offer's tables are held in every day plan: writes to offers bump the book versions too."""

from django.db import migrations

from reservations import dbtriggers


def create_triggers(apps, schema_editor):
    dbtriggers.create(schema_editor, dbtriggers.OFFERS)
    dbtriggers.create(schema_editor, dbtriggers.OFFER_TABLES)


def drop_triggers(apps, schema_editor):
    dbtriggers.drop(schema_editor, dbtriggers.OFFER_TABLES)
    dbtriggers.drop(schema_editor, dbtriggers.OFFERS)


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0005_told_gone"),
        ("reservations", "0019_book_versions"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
