"""A message of unknown fate: handed to the provider by a worker that died before hearing back.

Messages the old sweep failed on a guess ("not sent again in case it went out") without the provider's id are
unknown now, so beat asks the provider about them: delivered ones are marked sent, lost ones go out once.
"""

from django.db import migrations, models

GUESSED = "The worker stopped while sending; not sent again in case it went out."


def unknown_if_guessed(apps, schema_editor):
    OutboundMessage = apps.get_model("reservations", "OutboundMessage")
    OutboundMessage.objects.filter(status="failed", provider_id="", handed_at__isnull=False,
                                   last_error=GUESSED).update(status="unknown", fate="asking", failed_at=None)


def failed_if_unknown(apps, schema_editor):
    OutboundMessage = apps.get_model("reservations", "OutboundMessage")
    OutboundMessage.objects.filter(status="unknown").update(status="failed", fate="", failed_at=models.F("handed_at"),
                                                            last_error=GUESSED)


class Migration(migrations.Migration):

    dependencies = [
        ('reservations', '0021_table_releases_and_refusal_near_idx'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundmessage',
            name='fate',
            field=models.CharField(blank=True, choices=[('asking', 'the worker stopped mid-send: asking the provider'), ('unreachable', 'the provider could not be asked: asking again'), ('found', 'the provider had it: marked sent'), ('resent', 'the provider never got it: sent again'), ('cannot_ask', 'this SMS backend cannot be asked: check with the guest')], max_length=16, verbose_name='fate'),
        ),
        migrations.AddField(
            model_name='outboundmessage',
            name='fate_checked_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='outboundmessage',
            name='status',
            field=models.CharField(choices=[('pending', 'pending'), ('sending', 'sending'), ('sent', 'sent'), ('failed', 'failed'), ('withheld', 'withheld (the guest opted out)'), ('unknown', 'unknown fate')], default='pending', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='outboundmessage',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'unknown'), _negated=True), models.Q(('fate__gt', ''), ('handed_at__isnull', False)), _connector='OR'), name='message_unknown_was_handed_over'),
        ),
        migrations.RunPython(unknown_if_guessed, failed_if_unknown),
    ]
