"""DRF's authtoken app is gone (API tokens are django-rest-knox's now, hashed and expiring): drop its table, and
with it every old never-expiring token, kept in the clear."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0017_reservation_restaurant_day_index_only"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
    ]
