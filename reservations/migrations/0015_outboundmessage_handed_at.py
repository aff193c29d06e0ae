from django.db import migrations, models


def handed_if_sending(apps, schema_editor):
    # A message a worker left `sending` before this field existed may have reached the provider: treat it as
    # handed over, so it is failed for staff as before rather than sent again.
    OutboundMessage = apps.get_model("reservations", "OutboundMessage")
    OutboundMessage.objects.filter(status="sending").update(handed_at=models.F("claimed_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("reservations", "0014_restaurant_country_and_plain_help"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundmessage",
            name="handed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(handed_if_sending, migrations.RunPython.noop),
    ]
