"""Tenancy: restaurant groups own guests, staff are members of restaurants.

Existing restaurants each get a group of their own; an existing guest joins the
group of the restaurant they first booked, was refused or waited at (the
oldest restaurant's group when nothing links them).
"""

import django.db.models.deletion
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models


def groups_for_existing_rows(apps, schema_editor):
    RestaurantGroup = apps.get_model("reservations", "RestaurantGroup")
    Restaurant = apps.get_model("reservations", "Restaurant")
    Guest = apps.get_model("reservations", "Guest")
    Reservation = apps.get_model("reservations", "Reservation")
    Refusal = apps.get_model("reservations", "Refusal")
    WaitlistEntry = apps.get_model("reservations", "WaitlistEntry")

    for restaurant in Restaurant.objects.order_by("pk"):
        name, n = restaurant.name, 1
        while RestaurantGroup.objects.filter(name=name).exists():
            n += 1
            name = f"{restaurant.name} ({n})"
        restaurant.group = RestaurantGroup.objects.create(name=name)
        restaurant.save(update_fields=["group"])

    fallback = None
    for guest in Guest.objects.filter(group__isnull=True):
        restaurant_id = None
        for model in (Reservation, Refusal, WaitlistEntry):
            restaurant_id = (
                model.objects.filter(guest=guest).order_by("pk").values_list("restaurant_id", flat=True).first()
            )
            if restaurant_id:
                break
        if restaurant_id:
            guest.group_id = Restaurant.objects.get(pk=restaurant_id).group_id
        else:
            if fallback is None:
                first = Restaurant.objects.order_by("pk").first()
                fallback = first.group if first else RestaurantGroup.objects.get_or_create(name="Guests")[0]
            guest.group = fallback
        guest.save(update_fields=["group"])


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0003_waitlist_likely_tonight"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RestaurantGroup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200, unique=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="restaurant",
            name="group",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="restaurants",
                to="reservations.restaurantgroup",
            ),
        ),
        migrations.AddField(
            model_name="guest",
            name="group",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="guests",
                to="reservations.restaurantgroup",
            ),
        ),
        migrations.AlterField(
            model_name="guest",
            name="phone",
            field=phonenumber_field.modelfields.PhoneNumberField(blank=True, max_length=128, null=True, region=None),
        ),
        migrations.RunPython(groups_for_existing_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="restaurant",
            name="group",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="restaurants",
                to="reservations.restaurantgroup",
            ),
        ),
        migrations.AlterField(
            model_name="guest",
            name="group",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="guests", to="reservations.restaurantgroup"
            ),
        ),
        migrations.AddConstraint(
            model_name="guest",
            constraint=models.UniqueConstraint(fields=("group", "phone"), name="guest_unique_phone_in_group"),
        ),
        migrations.CreateModel(
            name="StaffMembership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "restaurant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="memberships",
                        to="reservations.restaurant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="restaurant_memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["restaurant", "user"],
                "constraints": [models.UniqueConstraint(fields=("user", "restaurant"), name="membership_unique")],
            },
        ),
    ]
