"""Every reservation gets the secret of its guest's own page; existing ones get one each."""

from django.db import migrations, models

import reservations.models


def give_each_a_token(apps, schema_editor):
    Reservation = apps.get_model("reservations", "Reservation")
    for reservation in Reservation.objects.filter(guest_token__isnull=True).only("pk").iterator():
        Reservation.objects.filter(pk=reservation.pk).update(guest_token=reservations.models.guest_token_new())


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0008_outbound_messages"),
    ]

    operations = [
        # Nullable first: a callable default is evaluated once for AddField, which a unique column cannot take.
        migrations.AddField(
            model_name="reservation",
            name="guest_token",
            field=models.CharField(editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(give_each_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reservation",
            name="guest_token",
            field=models.CharField(
                default=reservations.models.guest_token_new, editable=False, max_length=16, unique=True
            ),
        ),
    ]
