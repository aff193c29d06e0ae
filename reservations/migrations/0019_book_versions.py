"""Book versions: a (restaurant, UTC date) counter that database triggers bump on every write to reservations
and their tables, so the day-plan cache knows exactly when a day's plan is stale (see `dbtriggers`)."""

import django.db.models.deletion
from django.db import migrations, models

from reservations import dbtriggers


def create_triggers(apps, schema_editor):
    dbtriggers.create(schema_editor, dbtriggers.RESERVATIONS)
    dbtriggers.create(schema_editor, dbtriggers.RESERVATION_TABLES)


def drop_triggers(apps, schema_editor):
    dbtriggers.drop(schema_editor, dbtriggers.RESERVATION_TABLES)
    dbtriggers.drop(schema_editor, dbtriggers.RESERVATIONS)


class Migration(migrations.Migration):

    dependencies = [
        ('reservations', '0018_drop_drf_authtoken'),
    ]

    operations = [
        migrations.CreateModel(
            name='BookVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('version', models.BigIntegerField(default=0)),
                ('restaurant', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='reservations.restaurant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('restaurant', 'day'), name='bookversion_unique')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
