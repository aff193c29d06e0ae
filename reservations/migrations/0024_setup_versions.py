"""Set-up versions: a per-restaurant counter that database triggers bump on every write to the restaurant's
set-up, so the set-up and day-plan caches see writes made outside the ORM's signals (see `dbtriggers`)."""

import django.db.models.deletion
from django.db import migrations, models

from reservations import dbtriggers


def create_triggers(apps, schema_editor):
    for watched in dbtriggers.SETUP:
        dbtriggers.create_setup(schema_editor, watched)


def drop_triggers(apps, schema_editor):
    for watched in reversed(dbtriggers.SETUP):
        dbtriggers.drop(schema_editor, watched)


class Migration(migrations.Migration):

    dependencies = [
        ('reservations', '0023_bounded_words'),
    ]

    operations = [
        migrations.CreateModel(
            name='SetupVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.BigIntegerField(default=0)),
                ('restaurant', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='reservations.restaurant')),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
