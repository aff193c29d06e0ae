"""Migration 0027: the global `host` / `manager` groups become each membership's role, and the groups go."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("reservations", "0026_sms_senders")]
AFTER = [("reservations", "0027_staff_role")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_members_keep_their_role_at_each_of_their_restaurants():
    apps = _migrate(BEFORE)
    User, Group = apps.get_model("auth", "User"), apps.get_model("auth", "Group")
    RestaurantGroup = apps.get_model("reservations", "RestaurantGroup")
    Restaurant, StaffMembership = apps.get_model("reservations", "Restaurant"), apps.get_model(
        "reservations", "StaffMembership")
    chain = RestaurantGroup.objects.create(name="Chain")
    one, two = (Restaurant.objects.create(group=chain, slug=slug, name=slug) for slug in ("one", "two"))
    hosts, managers = (Group.objects.get_or_create(name=name)[0] for name in ("host", "manager"))
    other = Group.objects.create(name="accounts")  # somebody else's group: left alone
    boss, greeter, neither = (User.objects.create(username=name) for name in ("boss", "greeter", "neither"))
    boss.groups.add(managers, other)
    greeter.groups.add(hosts)
    for user in (boss, greeter, neither):
        StaffMembership.objects.create(user=user, restaurant=one)
    StaffMembership.objects.create(user=boss, restaurant=two)

    apps = _migrate(AFTER)

    StaffMembership = apps.get_model("reservations", "StaffMembership")
    roles = {(m.user.username, m.restaurant.slug, m.role) for m in StaffMembership.objects.select_related(
        "user", "restaurant")}
    assert roles == {("boss", "one", "manager"), ("boss", "two", "manager"), ("greeter", "one", "host"),
                     ("neither", "one", "host")}
    Group = apps.get_model("auth", "Group")
    assert list(Group.objects.values_list("name", flat=True)) == ["accounts"]
    assert list(apps.get_model("auth", "User").objects.get(username="boss").groups.values_list(
        "name", flat=True)) == ["accounts"]
