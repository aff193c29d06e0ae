"""The admin as a manager configures and reads the restaurant: every page walled, filtered, history read-only."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.utils import timezone

from reservations.errors import NoTables
from reservations.models import (
    Area,
    BookDay,
    BookVersion,
    Closure,
    Gesture,
    Guest,
    HoldBackRule,
    IdempotencyKey,
    InboundMessage,
    LoginFailure,
    LoginSuccess,
    OutboundMessage,
    OverbookingPolicy,
    PublicBookingCount,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    RestaurantGroup,
    ServiceHours,
    SetupVersion,
    StaffMembership,
    StaffNote,
    Table,
    TableCombination,
    TableRelease,
    TurnTime,
    WaitlistEntry,
)
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in
from tests.factories import small_restaurant

pytestmark = pytest.mark.django_db


def site(username: str) -> Client:
    client = Client()
    assert log_in(client, username)
    return client


def book(restaurant, day, hhmm: str, party_size: int = 2, channel: str = "host", **kwargs) -> Reservation:
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=party_size, channel=channel,
                              **kwargs)


# The restaurant a row belongs to, read by hand from the model (not from the admin's own lookup).
RESTAURANT_OF = {
    Restaurant: lambda row: row,
    Area: lambda row: row.restaurant,
    Table: lambda row: row.restaurant,
    TableCombination: lambda row: row.restaurant,
    ServiceHours: lambda row: row.restaurant,
    TurnTime: lambda row: row.restaurant,
    Closure: lambda row: row.restaurant,
    HoldBackRule: lambda row: row.restaurant,
    OverbookingPolicy: lambda row: row.restaurant,
    Reservation: lambda row: row.restaurant,
    ReservationTable: lambda row: row.reservation.restaurant,
    Refusal: lambda row: row.restaurant,
    WaitlistEntry: lambda row: row.restaurant,
    Gesture: lambda row: row.restaurant,
    StaffNote: lambda row: row.restaurant,
    OutboundMessage: lambda row: row.restaurant,
    InboundMessage: lambda row: row.restaurant,
    TableRelease: lambda row: row.restaurant,
}
# A guest is its group's: seen by the managers of the group's restaurants.
GROUP_OF = {Guest: lambda row: row.group}
SUPERUSER_ONLY = {StaffMembership, RestaurantGroup, BookDay, BookVersion, SetupVersion, IdempotencyKey,
                  PublicBookingCount}
# A login record names a username, not a restaurant: a manager sees those of the staff of the restaurants they manage
# (tests/security/test_login_lockout.py, test_a_manager_clears_a_lock_of_their_own_restaurants_staff_only).
STAFF_OF_MANAGED = {LoginFailure, LoginSuccess}


def test_every_model_of_the_book_has_an_admin_page():
    from django.apps import apps

    # The audit history's rows (django-simple-history) are read on their own row's History page, behind its wall
    # (test_audit_history.py), not on pages of their own.
    ours = {m for m in apps.get_app_config("reservations").get_models()
            if not m._meta.model_name.startswith("historical")}
    registered = {m for m in django_admin.site._registry if m._meta.app_label == "reservations"}

    assert ours - registered == set()
    assert set(RESTAURANT_OF) | set(GROUP_OF) | SUPERUSER_ONLY | STAFF_OF_MANAGED == ours  # each checked below


@pytest.fixture
def both_books(samna, steakhouse, staff, tuesday):
    """Rows of every kind at both restaurants: bookings, refusals, waitlists, closures, comps, texts."""
    for restaurant, phone in ((samna, "+380671234567"), (steakhouse, "+380501112233")):
        booking = book(restaurant, tuesday, "20:00", channel="phone",
                       guest=GuestDetails(name=f"Guest of {restaurant.slug}", phone=phone))
        with pytest.raises(NoTables):
            book(restaurant, tuesday, "20:00", party_size=40)
        WaitlistEntry.objects.create(restaurant=restaurant, party_size=2, quoted_wait_minutes=15,
                                     created_at=kyiv(tuesday, "20:00"))
        Closure.objects.create(restaurant=restaurant, date=tuesday + timedelta(days=7), reason="private party")
        TableCombination.objects.create(restaurant=restaurant, min_covers=5, max_covers=8).tables.set(
            Table.objects.filter(restaurant=restaurant)[:2])
        HoldBackRule.objects.get_or_create(restaurant=restaurant, defaults={"starts": time(19), "ends": time(21),
                                                                            "weekdays": [4]})
        Gesture.objects.create(restaurant=restaurant, reservation=booking, guest=booking.guest, occasion="won_back",
                               reason="turned away", prompt="On the house", cost=150, created_at=timezone.now())
        StaffNote.objects.create(restaurant=restaurant, reservation=booking, kind="first_visit", text="first visit",
                                 created_at=timezone.now())
        InboundMessage.objects.create(restaurant=restaurant, from_number=phone, body="YES",
                                      received_at=timezone.now(), action="confirmed")
        table = booking.tables.first()
        TableRelease.objects.create(restaurant=restaurant, table=table, reservation=booking, start=booking.start,
                                    end=booking.end, released_at=timezone.now())
    assert OutboundMessage.objects.filter(restaurant=samna).exists()  # the confirmations
    assert OutboundMessage.objects.filter(restaurant=steakhouse).exists()
    return samna, steakhouse


@pytest.mark.parametrize("model", [*RESTAURANT_OF, *GROUP_OF], ids=lambda m: m._meta.model_name)
def test_each_changelist_shows_a_manager_only_their_restaurants_rows(both_books, model):
    samna, steakhouse = both_books
    owner = RESTAURANT_OF.get(model) or GROUP_OF[model]
    url = f"/admin/reservations/{model._meta.model_name}/"

    everyone = site("admin").get(url)
    ours = site("manager").get(url)
    theirs = site("steak-manager").get(url)

    assert everyone.status_code == ours.status_code == theirs.status_code == 200
    # The superuser sees both sides, so an empty list below would be the wall, not missing data.
    both = {owner(row) for row in everyone.context["cl"].queryset}
    wall = {samna, steakhouse} if model in RESTAURANT_OF else {samna.group, steakhouse.group}
    assert wall <= both
    side = {samna: samna, steakhouse: steakhouse} if model in RESTAURANT_OF else {
        samna: samna.group, steakhouse: steakhouse.group}
    assert {owner(row) for row in ours.context["cl"].queryset} == {side[samna]}
    assert {owner(row) for row in theirs.context["cl"].queryset} == {side[steakhouse]}


@pytest.mark.parametrize("model", sorted(SUPERUSER_ONLY, key=lambda m: m._meta.model_name),
                         ids=lambda m: m._meta.model_name)
def test_the_machinerys_pages_are_the_superusers(both_books, model):
    url = f"/admin/reservations/{model._meta.model_name}/"
    assert site("admin").get(url).status_code == 200
    assert site("manager").get(url).status_code == 403


# --- filters -----------------------------------------------------------------------------------------------


def filters_of(response) -> list[str]:
    return [str(spec.title) for spec in response.context["cl"].filter_specs]


def test_reservations_filter_by_day_status_channel_overbooked_and_override(samna, staff):
    response = site("manager").get("/admin/reservations/reservation/")

    titles = filters_of(response)
    for title in ("day (restaurant's time)", "status", "channel", "overbooked", "override"):
        assert title in titles, titles
    assert response.context["cl"].date_hierarchy == "start"


def test_guests_search_by_name_and_by_the_phone_as_typed(both_books):
    manager, steak = site("manager"), site("steak-manager")

    def found(client, term):
        return [g.name for g in client.get("/admin/reservations/guest/", {"q": term}).context["cl"].result_list]

    assert found(manager, "Guest of samna") == ["Guest of samna"]
    assert found(manager, "+380671234567") == ["Guest of samna"]
    assert found(manager, "067 123 45 67") == ["Guest of samna"]  # as the guest says it on the phone
    assert found(steak, "067 123 45 67") == []  # behind the wall
    assert found(steak, "050 111 22 33") == ["Guest of steakhouse"]
    bookings = manager.get("/admin/reservations/reservation/", {"q": "067 123 45 67"}).context["cl"].result_list
    assert [r.guest.name for r in bookings] == ["Guest of samna"]


@pytest.fixture
def late_bar(staff):
    """A bar in Kyiv open 20:00 until after midnight, where the local day and the UTC day part at 00:00."""
    bar = small_restaurant(tables=2, slug="late-bar", time_zone="Europe/Kyiv")
    ServiceHours.objects.filter(restaurant=bar).delete()
    for weekday in range(7):
        ServiceHours.objects.create(restaurant=bar, weekday=weekday, opens=time(20), last_seating=time(1),
                                    closes=time(2))
    bar.refresh_from_db()
    return bar


def test_the_day_filter_counts_days_in_the_restaurants_own_time(late_bar):
    today = timezone.localdate(timezone=late_bar.tz)
    tomorrow = today + timedelta(days=1)
    late_tomorrow = book(late_bar, tomorrow, "23:00")  # 21:00 or 20:00 UTC, tomorrow either way
    after_midnight = book(late_bar, tomorrow + timedelta(days=1), "00:30")  # UTC still says "tomorrow"
    next_week = book(late_bar, today + timedelta(days=6), "21:00")
    far = book(late_bar, today + timedelta(days=9), "21:00")
    assert after_midnight.start.astimezone(UTC).date() == tomorrow  # the trap a UTC filter falls in

    def listed(day: str) -> set[int]:
        response = site("admin").get("/admin/reservations/reservation/", {"day": day})
        return {r.pk for r in response.context["cl"].queryset}

    assert listed("tomorrow") == {late_tomorrow.pk}
    assert listed("next7") == {late_tomorrow.pk, after_midnight.pk, next_week.pk}
    assert far.pk not in listed("next7")
    assert listed("today") == set()


    def drilled(day) -> set[int]:
        response = site("admin").get("/admin/reservations/reservation/", {
            "start__year": day.year, "start__month": day.month, "start__day": day.day})
        return {r.pk for r in response.context["cl"].result_list}

    # The date drill-down counts Kyiv's days too, every restaurant here being in Kyiv.
    assert drilled(tomorrow) == {late_tomorrow.pk}
    assert drilled(tomorrow + timedelta(days=1)) == {after_midnight.pk}


# --- the restaurant page: everything the book uses, in one place ---------------------------------------------


def test_the_admin_says_whose_it_is_and_leads_back_to_the_desk(samna, staff):
    page = site("manager").get("/admin/").content.decode()

    assert "CX Host back office" in page and 'href="/desk/"' in page


def test_the_restaurant_page_has_combinations_holds_and_the_policy_with_plain_help(samna, staff):
    response = site("manager").get(f"/admin/reservations/restaurant/{samna.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="combinations-INITIAL_FORMS" value="2"' in html
    assert 'name="hold_back_rules-INITIAL_FORMS" value="1"' in html
    assert 'name="overbooking_policy-INITIAL_FORMS" value="1"' in html
    assert 'type="checkbox" name="hold_back_rules-0-weekdays"' in html
    assert 'type="checkbox" name="hold_back_rules-0-tables"' in html  # tables ticked by name, not a list box
    assert 'type="checkbox" name="combinations-0-tables"' in html
    assert "counting on cancellations and no-shows" in html
    assert "kept free for guests at the door" in html
    assert "read as a number of this country" in html


def test_the_restaurant_pages_inlines_offer_only_its_own_tables(samna, steakhouse, staff):
    response = site("admin").get(f"/admin/reservations/restaurant/{samna.pk}/change/")

    inlines = {formset.formset.prefix: formset.formset for formset in response.context["inline_admin_formsets"]}
    offered = {
        prefix: set(inlines[prefix].empty_form.fields[field].queryset.values_list("restaurant__slug", flat=True))
        for prefix, field in (("combinations", "tables"), ("hold_back_rules", "tables"), ("tables", "area"))
    }
    assert offered == {"combinations": {"samna"}, "hold_back_rules": {"samna"}, "tables": {"samna"}}


def test_a_hold_back_rule_changed_on_the_restaurant_page_is_saved(samna, staff):
    manager = site("manager")
    page = manager.get(f"/admin/reservations/restaurant/{samna.pk}/change/")
    data = form_data(page)
    rule = HoldBackRule.objects.get(restaurant=samna)
    assert data["hold_back_rules-0-id"] == str(rule.pk)
    data["hold_back_rules-0-weekdays"] = ["5", "6"]
    data["hold_back_rules-0-release_minutes_before"] = "30"
    data["country"] = "PL"

    response = manager.post(f"/admin/reservations/restaurant/{samna.pk}/change/", data)

    assert response.status_code == 302, [f.errors for f in response.context["inline_admin_formsets"]]
    rule.refresh_from_db()
    assert (rule.weekdays, rule.release_minutes_before) == ([5, 6], 30)
    assert Restaurant.objects.get(pk=samna.pk).country == "PL"


def form_data(response) -> dict:
    """What the browser would send back for the page's main form and its inlines, unchanged."""
    data: dict = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        forms += list(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None:
                continue
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)
    return data


# --- history is read-only ------------------------------------------------------------------------------------


def test_overrides_and_refusals_show_who_when_why_and_cannot_be_changed(samna, staff, saturday):
    manager = site("manager")
    for _ in range(8 + 2):  # every two-top that is not held, then the policy's 4 overbooked covers
        book(samna, saturday, "19:30")
    with pytest.raises(NoTables):
        book(samna, saturday, "19:30")
    override = book(samna, saturday, "19:30", by=staff["manager"], override_reason="regular, birthday")
    assert override.override_bypassed == "hold_back"
    with pytest.raises(NoTables):
        book(samna, saturday, "19:30", party_size=30)
    refusal = Refusal.objects.get(party_size=30)

    response = manager.get(f"/admin/reservations/reservation/{override.pk}/change/")
    page = response.content.decode()
    assert "regular, birthday" in page and "manager" in page
    assert f"{saturday:%Y-%m-%d} " in page  # when, in the restaurant's time
    assert 'name="override_reason"' not in page  # shown, not an input
    data = {**form_data(response), "override_reason": "nothing happened", "override_by": "", "status": "cancelled",
            "notes": "window seat please"}
    changed = manager.post(f"/admin/reservations/reservation/{override.pk}/change/", data)
    assert changed.status_code == 302
    override.refresh_from_db()
    assert override.notes == "window seat please"  # the one thing staff may write here
    assert (override.override_reason, override.override_by.username) == ("regular, birthday", "manager")
    assert override.status == Reservation.Status.BOOKED

    refusal_page = manager.get(f"/admin/reservations/refusal/{refusal.pk}/change/")
    assert refusal_page.status_code == 200 and "party_size" not in refusal_page.context["adminform"].form.fields
    assert manager.post(f"/admin/reservations/refusal/{refusal.pk}/change/", {"party_size": 2}).status_code == 403
    assert Refusal.objects.get(pk=refusal.pk).party_size == 30
    assignment = ReservationTable.objects.filter(reservation=override).first()
    if assignment is not None:
        assert manager.post(f"/admin/reservations/reservationtable/{assignment.pk}/change/",
                            {"released": "on"}).status_code == 403
    assert manager.get("/admin/reservations/reservationtable/add/").status_code == 403
    assert manager.get("/admin/reservations/reservation/add/").status_code == 403


@pytest.mark.parametrize("model", ["tablecombination", "holdbackrule"])
def test_a_hold_or_combination_takes_only_its_own_restaurants_tables(samna, steakhouse, staff, model):
    """The superuser sees every restaurant's tables in the form: picking across restaurants is refused."""
    mixed = [Table.objects.get(restaurant=samna, name="T1").pk, Table.objects.get(restaurant=steakhouse, name="S1").pk]
    data = {"restaurant": samna.pk, "tables": mixed, "min_covers": 3, "max_covers": 4, "name": "mixed",
            "weekdays": ["4"], "starts": "19:00:00", "ends": "21:00:00", "release_minutes_before": 60,
            "is_active": "on"}
    before = (TableCombination.objects.count(), HoldBackRule.objects.count())

    response = site("admin").post(f"/admin/reservations/{model}/add/", data)

    assert response.status_code == 200
    assert "Not tables of Samna: S1." in response.context["adminform"].form.errors["tables"]
    assert (TableCombination.objects.count(), HoldBackRule.objects.count()) == before
    ours = site("admin").post(f"/admin/reservations/{model}/add/", {**data, "tables": mixed[:1]})
    assert ours.status_code == 302
