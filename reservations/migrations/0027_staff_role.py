"""A role belongs to a membership: `StaffMembership.role`, host or manager, at that restaurant only.

Until now `host` and `manager` were Django groups, so a manager at one restaurant was a manager wherever they
were staff. Each existing membership becomes `manager` if its user was in the `manager` group, else `host`.
Nothing reads the two groups afterwards (the admin's model permissions come from the membership's role,
`reservations.backends`), so they are deleted: left in place, the `manager` group's permissions would keep
opening the admin to someone demoted to host everywhere. Going back recreates them from the roles.
"""

from django.db import migrations, models

ROLE_GROUPS = ("host", "manager")
# The manager group's permissions as they were, for going back (roles.MANAGER_MODELS at this migration).
MANAGER_MODELS = {
    "reservations": ["restaurant", "area", "table", "tablecombination", "servicehours", "closure", "turntime",
                     "holdbackrule", "overbookingpolicy", "reservation", "refusal", "guest", "waitlistentry",
                     "gesture", "staffnote", "outboundmessage", "inboundmessage", "reservationtable"],
    "recovery": ["recoverycase", "caseaction", "recoveryoffer"],
}


def roles_from_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    StaffMembership = apps.get_model("reservations", "StaffMembership")
    managers = Group.objects.filter(name="manager").values_list("user", flat=True)
    StaffMembership.objects.filter(user__in=managers).update(role="manager")
    StaffMembership.objects.exclude(user__in=managers).update(role="host")
    Group.objects.filter(name__in=ROLE_GROUPS).delete()


def groups_from_roles(apps, schema_editor):
    """Back to global groups: a manager anywhere is in `manager`, any other member in `host`."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    StaffMembership = apps.get_model("reservations", "StaffMembership")
    host, _ = Group.objects.get_or_create(name="host")
    manager, _ = Group.objects.get_or_create(name="manager")
    for app_label, model_names in MANAGER_MODELS.items():
        manager.permissions.add(*Permission.objects.filter(content_type__app_label=app_label,
                                                           content_type__model__in=model_names))
    managers = set(StaffMembership.objects.filter(role="manager").values_list("user_id", flat=True))
    members = set(StaffMembership.objects.values_list("user_id", flat=True))
    manager.user_set.add(*managers)
    host.user_set.add(*(members - managers))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("reservations", "0026_sms_senders"),
    ]

    operations = [
        migrations.AddField(
            model_name="staffmembership",
            name="role",
            field=models.CharField(choices=[("host", "host"), ("manager", "manager")], default="host", max_length=16),
        ),
        migrations.RunPython(roles_from_groups, groups_from_roles),
    ]
