"""The manager's back office: every page opens, and what a manager changes there the book obeys at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from reservations.errors import NoTables
from reservations.models import (
    HoldBackRule,
    OverbookingPolicy,
    Refusal,
    Reservation,
    Table,
    TableCombination,
    TurnTime,
    WaitlistEntry,
)
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in
from tests.factories import GuestFactory

pytestmark = pytest.mark.django_db

HELD = {"T3", "T4"}
TWO_TOPS = {"T1", "T2", "T3", "T4", "T11", "T12", "T5", "T6", "T7", "T8"}


@pytest.fixture
def manager_site(staff) -> Client:
    client = Client()
    assert log_in(client, "manager")
    return client


def book(restaurant, day, hhmm: str, party_size: int = 2, channel: str = "host") -> Reservation:
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=party_size, channel=channel)


def tables_of(reservation_id: int) -> list[str]:
    reservation = Reservation.objects.get(pk=reservation_id)
    return sorted(a.table.name for a in reservation.assignments.filter(released=False).select_related("table"))


def slot(api, day, hhmm: str, party_size: int = 2, channel: str = "online") -> dict:
    response = api.get("/api/v1/restaurants/samna/availability/",
                       {"date": day.isoformat(), "party_size": party_size, "channel": channel})
    assert response.status_code == 200, response.json()
    return next(s for s in response.json()["slots"] if s["time"] == hhmm)


@pytest.mark.parametrize("model", ["table", "tablecombination", "holdbackrule", "overbookingpolicy", "restaurant",
                                   "reservation", "refusal", "guest", "waitlistentry"])
def test_the_changelists_open_for_a_manager(samna, manager_site, tuesday, model):
    book(samna, tuesday, "20:00")
    GuestFactory(group=samna.group)
    with pytest.raises(NoTables):  # a refusal on record
        book(samna, tuesday, "20:00", party_size=12)
    WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                 created_at=kyiv(tuesday, "20:00"))

    response = manager_site.get(f"/admin/reservations/{model}/")

    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


def test_the_restaurant_page_has_its_service_hours_and_turn_times_inline(samna, manager_site):
    response = manager_site.get(f"/admin/reservations/restaurant/{samna.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="service_hours-INITIAL_FORMS" value="7"' in html
    assert 'name="turn_times-INITIAL_FORMS" value="4"' in html
    assert 'name="tables-INITIAL_FORMS" value="12"' in html


def policy_form(policy: OverbookingPolicy, **changes) -> dict:
    data = {"restaurant": policy.restaurant_id, "max_overbooked_covers": policy.max_overbooked_covers,
            "max_party_size": policy.max_party_size, "channels": ["phone", "host"], "is_active": "on"}
    return {**data, **changes}


def test_a_new_overbooking_cap_from_the_admin_takes_effect_at_once(samna, manager_site, manager_api, tuesday):
    for _ in TWO_TOPS:
        book(samna, tuesday, "20:00")
    before = slot(manager_api, tuesday, "20:00", channel="phone")  # also warms the configuration cache
    assert (before["available"], before["overbook"]) == (True, True)
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    response = manager_site.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                                 policy_form(policy, max_overbooked_covers=0))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert OverbookingPolicy.objects.get(pk=policy.pk).max_overbooked_covers == 0
    after = slot(manager_api, tuesday, "20:00", channel="phone")
    assert after["available"] is False
    assert "overbooking_limit" in after["reasons"]

    manager_site.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                      policy_form(policy, max_overbooked_covers=2))
    assert slot(manager_api, tuesday, "20:00", channel="phone")["overbook"] is True
    assert slot(manager_api, tuesday, "20:00", party_size=3, channel="phone")["available"] is False


def test_the_admin_refuses_an_online_overbooking_channel(samna, manager_site):
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    response = manager_site.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                                 policy_form(policy, channels=["phone", "online"]))

    assert response.status_code == 200  # the form again, with the error
    assert "channels" in response.context["adminform"].form.errors
    assert OverbookingPolicy.objects.get(pk=policy.pk).channels == ["phone", "host"]


def test_a_hold_back_rule_edited_in_the_admin_changes_availability(samna, manager_site, manager_api, saturday):
    for _ in TWO_TOPS - HELD:
        book(samna, saturday, "19:30")
    held = slot(manager_api, saturday, "19:30")
    assert held["available"] is False
    assert "held_for_walk_ins" in held["reasons"]
    rule = HoldBackRule.objects.get(restaurant=samna)
    t4 = Table.objects.get(restaurant=samna, name="T4")

    response = manager_site.post(f"/admin/reservations/holdbackrule/{rule.pk}/change/", {
        "restaurant": samna.pk, "name": rule.name, "weekdays": ["4", "5"], "starts": "19:00:00", "ends": "22:00:00",
        "tables": [t4.pk], "release_minutes_before": 60, "is_active": "on",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [t.name for t in HoldBackRule.objects.get(pk=rule.pk).tables.all()] == ["T4"]
    assert slot(manager_api, saturday, "19:30")["available"] is True
    released = manager_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": f"{saturday.isoformat()}T19:30", "party_size": 2, "channel": "online",
        "guest": {"name": "Olha", "phone": "+380671110020"},
    }, format="json")
    assert released.status_code == 201, released.json()
    assert released.json()["tables"] == ["T3"]
    assert slot(manager_api, saturday, "19:30")["reasons"] == ["fully_booked", "held_for_walk_ins"]


def test_overrides_are_found_with_the_override_filter_and_show_their_reason(samna, manager_site, manager_api,
                                                                           saturday):
    ordinary = [book(samna, saturday, "19:30") for _ in TWO_TOPS - HELD]
    ordinary += [book(samna, saturday, "19:30", channel="phone") for _ in range(2)]  # the policy's 4 covers
    assert all(r.overbooked for r in ordinary[-2:])
    response = manager_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": f"{saturday.isoformat()}T19:30", "party_size": 2, "channel": "phone",
        "guest": {"name": "Andrii", "phone": "+380671110021"},
        "override": {"reason": "first visit, came with his partner"},
    }, format="json")
    assert response.status_code == 201, response.json()
    override = response.json()
    assert override["override"]["bypassed"] == "hold_back"

    listing = manager_site.get("/admin/reservations/reservation/", {"override": "yes"})

    assert listing.status_code == 200
    assert [r.pk for r in listing.context["cl"].result_list] == [override["id"]]
    assert "first visit, came with his partner" in listing.content.decode()
    rest = manager_site.get("/admin/reservations/reservation/", {"override": "no"})
    assert sorted(r.pk for r in rest.context["cl"].result_list) == sorted(r.pk for r in ordinary)
    page = manager_site.get(f"/admin/reservations/reservation/{override['id']}/change/")
    assert page.status_code == 200
    assert "first visit, came with his partner" in page.content.decode()


def test_the_cancel_action_frees_the_table(samna, manager_site, tuesday):
    booking = book(samna, tuesday, "20:00")
    table = tables_of(booking.pk)
    assert table == ["T1"]

    response = manager_site.post("/admin/reservations/reservation/", {
        "action": "cancel_reservations", "_selected_action": [booking.pk],
    })

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CANCELLED
    assert tables_of(booking.pk) == []
    assert tables_of(book(samna, tuesday, "20:00").pk) == table


def test_the_host_cannot_reach_the_admin(samna, staff):
    client = Client()
    assert log_in(client, "host")
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    pages = [client.get("/admin/"), client.get("/admin/reservations/overbookingpolicy/"),
             client.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                         policy_form(policy, max_overbooked_covers=40))]

    for page in pages:
        assert page.status_code == 302
        assert page["Location"].startswith("/admin/login/")
    assert OverbookingPolicy.objects.get(pk=policy.pk).max_overbooked_covers == 4


# --- the form widgets a manager actually uses ---------------------------------------------------------------


def test_hold_back_weekdays_are_checkboxes_stored_as_weekday_numbers(samna, manager_site):
    rule = HoldBackRule.objects.get(restaurant=samna)

    page = manager_site.get(f"/admin/reservations/holdbackrule/{rule.pk}/change/").content.decode()
    response = manager_site.post(f"/admin/reservations/holdbackrule/{rule.pk}/change/", {
        "restaurant": samna.pk, "name": rule.name, "weekdays": ["3", "4", "5"], "starts": "19:00:00",
        "ends": "22:00:00", "tables": list(rule.tables.values_list("pk", flat=True)),
        "release_minutes_before": 60, "is_active": "on",
    })

    assert 'type="checkbox" name="weekdays" value="4"' in page and "Friday" in page
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert HoldBackRule.objects.get(pk=rule.pk).weekdays == [3, 4, 5]


def test_overbooking_channels_are_checkboxes(samna, manager_site):
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    page = manager_site.get(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/").content.decode()
    response = manager_site.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                                 policy_form(policy, channels=["phone"]))

    assert 'type="checkbox" name="channels" value="phone"' in page
    assert response.status_code == 302
    assert OverbookingPolicy.objects.get(pk=policy.pk).channels == ["phone"]


# --- times and tables as the staff read them ----------------------------------------------------------------


def test_the_reservation_page_shows_times_in_the_restaurants_zone(samna, manager_site, staff, tuesday):
    reservation = book(samna, tuesday, "20:00")

    page = manager_site.get(f"/admin/reservations/reservation/{reservation.pk}/change/").content.decode()

    assert f"{tuesday:%Y-%m-%d} 20:00 EET" in page  # Kyiv in winter; 18:00 UTC must not appear as the start
    assert f"{tuesday:%Y-%m-%d} 21:30 EET" in page
    assert f"{tuesday:%Y-%m-%d} 18:00" not in page


def test_the_refusal_page_shows_the_slot_in_the_restaurants_zone(samna, manager_site, tuesday):
    with pytest.raises(NoTables):
        book(samna, tuesday, "20:00", party_size=12)
    refusal = Refusal.objects.get()

    page = manager_site.get(f"/admin/reservations/refusal/{refusal.pk}/change/").content.decode()

    assert f"{tuesday:%Y-%m-%d} 20:00 EET" in page
    assert f"{tuesday:%Y-%m-%d} 18:00" not in page


def test_a_finished_booking_lists_the_tables_it_had_marked_released(samna, manager_site, manager_api, tuesday):
    reservation = book(samna, tuesday, "20:00")
    [table] = tables_of(reservation.pk)
    assert manager_api.post(f"/api/v1/reservations/{reservation.pk}/cancel/").status_code == 200

    listing = manager_site.get("/admin/reservations/reservation/").content.decode()
    detail = manager_site.get(f"/admin/reservations/reservation/{reservation.pk}/change/").content.decode()
    api = manager_api.get(f"/api/v1/reservations/{reservation.pk}/").json()

    assert api["tables"] == [table]
    assert f"{table} (released)" in listing
    assert f"{table} (released)" in detail


# --- the wall -----------------------------------------------------------------------------------------------


@pytest.fixture
def steak_manager_site(staff) -> Client:
    client = Client()
    assert log_in(client, "steak-manager")
    return client


def test_a_manager_sees_only_their_own_restaurants(samna, steakhouse, manager_site, steak_manager_site, tuesday):
    samna_booking = book(samna, tuesday, "20:00")
    steak_booking = book(steakhouse, tuesday, "20:00")
    samna_table = Table.objects.get(restaurant=samna, name="T1")

    samna_list = manager_site.get("/admin/reservations/reservation/")
    steak_list = steak_manager_site.get("/admin/reservations/reservation/")
    restaurants = steak_manager_site.get("/admin/reservations/restaurant/").content.decode()
    other_booking = steak_manager_site.get(f"/admin/reservations/reservation/{samna_booking.pk}/change/")
    other_table = steak_manager_site.get(f"/admin/reservations/table/{samna_table.pk}/change/")
    cancel = steak_manager_site.post("/admin/reservations/reservation/", {
        "action": "cancel_reservations", "_selected_action": [samna_booking.pk]})

    assert [r.pk for r in samna_list.context["cl"].result_list] == [samna_booking.pk]
    assert [r.pk for r in steak_list.context["cl"].result_list] == [steak_booking.pk]
    assert "The Steakhouse" in restaurants and "Samna" not in restaurants
    assert other_booking.status_code == 302 and other_table.status_code == 302  # "doesn't exist", back to the list
    assert cancel.status_code in (200, 302)
    samna_booking.refresh_from_db()
    assert samna_booking.status == Reservation.Status.BOOKED


def test_a_managers_forms_offer_only_their_own_restaurants_and_tables(samna, steakhouse, steak_manager_site):
    page = steak_manager_site.get("/admin/reservations/tablecombination/add/")
    form = page.context["adminform"].form

    assert list(form.fields["restaurant"].queryset) == [steakhouse]
    assert {t.restaurant_id for t in form.fields["tables"].queryset} == {steakhouse.pk}


def test_a_manager_cannot_edit_another_restaurants_table_by_posting(samna, steakhouse, steak_manager_site):
    samna_table = Table.objects.get(restaurant=samna, name="T1")

    response = steak_manager_site.post(f"/admin/reservations/table/{samna_table.pk}/change/", {
        "restaurant": samna.pk, "name": "T1", "min_covers": 1, "max_covers": 8, "is_active": "on"})
    moved = steak_manager_site.post("/admin/reservations/table/add/", {
        "restaurant": samna.pk, "name": "T99", "min_covers": 1, "max_covers": 2, "is_active": "on"})

    assert response.status_code == 302
    assert Table.objects.get(pk=samna_table.pk).max_covers == 2
    assert moved.status_code == 200 and "restaurant" in moved.context["adminform"].form.errors
    assert not Table.objects.filter(name="T99").exists()


def test_memberships_and_groups_are_the_superusers(samna, manager_site, staff):
    admin_site = Client()
    assert log_in(admin_site, "admin")

    assert manager_site.get("/admin/reservations/staffmembership/").status_code == 403
    assert manager_site.get("/admin/reservations/restaurantgroup/").status_code == 403
    assert admin_site.get("/admin/reservations/staffmembership/").status_code == 200
    assert "steak-host" in admin_site.get("/admin/reservations/staffmembership/").content.decode()


def test_every_admin_page_of_the_book_is_scoped():
    """A new ModelAdmin must choose: scoped to the user's restaurants, or the superuser's alone."""
    from django.contrib import admin as django_admin

    from reservations.admin import GuestAdmin, ScopedAdmin, SuperuserOnlyAdmin
    from reservations.admin_logins import ManagersReadOnly  # scoped to the staff of the restaurants one manages

    ours = {model: model_admin for model, model_admin in django_admin.site._registry.items()
            if model._meta.app_label == "reservations"}
    unscoped = [model.__name__ for model, model_admin in ours.items()
                if not isinstance(model_admin, (ScopedAdmin, SuperuserOnlyAdmin, GuestAdmin, ManagersReadOnly))]
    assert unscoped == []


def test_a_hold_across_midnight_is_accepted_and_an_empty_one_refused(samna, manager_site):
    rule = HoldBackRule.objects.get(restaurant=samna)
    form = {"restaurant": samna.pk, "name": rule.name, "weekdays": ["4"], "starts": "23:00:00", "ends": "01:00:00",
            "tables": list(rule.tables.values_list("pk", flat=True)), "release_minutes_before": 60, "is_active": "on"}

    across = manager_site.post(f"/admin/reservations/holdbackrule/{rule.pk}/change/", form)
    empty = manager_site.post(f"/admin/reservations/holdbackrule/{rule.pk}/change/", {**form, "ends": "23:00:00"})

    assert across.status_code == 302, across.context["adminform"].form.errors
    assert "ends" in empty.context["adminform"].form.errors
    saved = HoldBackRule.objects.get(pk=rule.pk)
    assert (saved.starts.hour, saved.ends.hour) == (23, 1)


# --- covers the wrong way round -------------------------------------------------------------------------------

MIN_OVER_MAX = [
    ("table", {"name": "T99", "min_covers": 6, "max_covers": 2, "is_active": "on"},
     "A table's minimum covers cannot be more than its maximum."),
    ("tablecombination", {"min_covers": 8, "max_covers": 3},
     "A combination's minimum covers cannot be more than its maximum."),
]


@pytest.mark.parametrize(("model", "fields", "message"), MIN_OVER_MAX, ids=[case[0] for case in MIN_OVER_MAX])
def test_min_over_max_in_the_admin_says_so_in_words(samna, manager_site, model, fields, message):
    data = {"restaurant": samna.pk, **fields}
    if model == "tablecombination":
        data["tables"] = [t.pk for t in Table.objects.filter(restaurant=samna, name__in=["T1", "T2"])]
    before = Table.objects.count()

    response = manager_site.post(f"/admin/reservations/{model}/add/", data)

    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    assert "_min_le_max" not in html and "is violated" not in html
    assert Table.objects.count() == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: Table(restaurant=r, name="T99", min_covers=6, max_covers=2),
         "A table's minimum covers cannot be more than its maximum."),
        (lambda r: TableCombination(restaurant=r, min_covers=8, max_covers=3),
         "A combination's minimum covers cannot be more than its maximum."),
        (lambda r: TurnTime(restaurant=r, min_party=8, max_party=3, minutes=120),
         "A turn time's smallest party cannot be larger than its largest."),
    ],
    ids=["table", "combination", "turn time"],
)
def test_every_min_over_max_rule_has_a_human_message(samna, make, message):
    """What the admin's forms and inlines (the restaurant page's turn times) show: the model's own validation."""
    with pytest.raises(ValidationError) as refused:
        make(samna).full_clean()

    assert refused.value.messages == [message]


def test_the_admin_shows_a_managers_own_comps_and_notes_and_approves_over_budget_ones(
    samna, steakhouse, manager_site, steak_manager_site, tuesday
):
    from reservations.models import Gesture, StaffNote
    from reservations.services.gestures import gesture_offer, guest_prepare
    from reservations.services.guests import GuestDetails

    samna.gesture_budget_per_service = 0  # every gesture needs a manager
    samna.save()
    ours = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena K.", phone="+380671234567"))
    guest_prepare(reservation_id=ours.pk)
    comp = gesture_offer(reservation=ours, occasion="won_back", reason="turned away on Friday")
    theirs = reservation_create(restaurant=steakhouse, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                guest=GuestDetails(name="Taras", phone="+380501112233"))
    guest_prepare(reservation_id=theirs.pk)
    gesture_offer(reservation=theirs, occasion="won_back", reason="turned away")

    comps = manager_site.get("/admin/reservations/gesture/")
    notes = manager_site.get("/admin/reservations/staffnote/")
    assert [g.pk for g in comps.context["cl"].result_list] == [comp.pk]
    assert "turned away on Friday" in comps.content.decode()
    assert [n.reservation_id for n in notes.context["cl"].result_list] == [ours.pk]
    assert manager_site.get(f"/admin/reservations/gesture/{comp.pk}/change/").status_code == 200
    assert manager_site.get("/admin/reservations/gesture/add/").status_code == 403  # queued by the book only

    steak_manager_site.post("/admin/reservations/gesture/", {"action": "approve_gestures",
                                                            "_selected_action": [comp.pk]})
    assert Gesture.objects.get(pk=comp.pk).status == "needs_approval", "not through the wall"
    manager_site.post("/admin/reservations/gesture/", {"action": "approve_gestures", "_selected_action": [comp.pk]})
    approved = Gesture.objects.get(pk=comp.pk)
    assert (approved.status, approved.approved_by.username) == ("queued", "manager")
    assert StaffNote.objects.count() == 2


def test_a_restaurants_sms_sender_is_set_by_the_deployments_admin_and_only_shown_to_its_manager(
        samna, staff, manager_site):
    samna.sms_sender = "+15005550100"
    samna.save()
    admin_site = Client()
    assert log_in(admin_site, "admin")

    page = f"/admin/reservations/restaurant/{samna.pk}/change/"
    assert 'name="sms_sender" value="+15005550100"' in admin_site.get(page).content.decode()
    managers = manager_site.get(page).content.decode()
    assert "+15005550100" in managers and 'name="sms_sender"' not in managers


def test_the_admin_shows_a_user_only_the_restaurants_they_manage(samna, steakhouse, staff, tuesday):
    """`duo` manages The Steakhouse and hosts at Samna: his admin is The Steakhouse's, and nothing of Samna's,
    not even a booking of Samna's to cancel or a guest of Samna's to erase."""
    samna_booking = book(samna, tuesday, "20:00")
    steak_booking = book(steakhouse, tuesday, "20:00")
    samna_guest = reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                                     guest=GuestDetails(name="Olena K.", phone="+380671234567")).guest
    policy = OverbookingPolicy.objects.get(restaurant=samna)
    duo = Client()
    assert log_in(duo, "duo")

    bookings = duo.get("/admin/reservations/reservation/")
    restaurants = duo.get("/admin/reservations/restaurant/").content.decode()
    guests = duo.get("/admin/reservations/guest/")
    other_booking = duo.get(f"/admin/reservations/reservation/{samna_booking.pk}/change/")
    other_policy = duo.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                            policy_form(policy, max_overbooked_covers=40))
    cancel = duo.post("/admin/reservations/reservation/", {
        "action": "cancel_reservations", "_selected_action": [samna_booking.pk]})
    erase = duo.post("/admin/reservations/guest/", {"action": "erase_guests", "_selected_action": [samna_guest.pk]})
    table_form = duo.get("/admin/reservations/tablecombination/add/").context["adminform"].form

    assert [r.pk for r in bookings.context["cl"].result_list] == [steak_booking.pk]
    assert "The Steakhouse" in restaurants and "Samna" not in restaurants
    assert samna_guest.pk not in [g.pk for g in guests.context["cl"].result_list]
    assert other_booking.status_code == 302  # "doesn't exist", back to the list
    assert other_policy.status_code == 302
    assert OverbookingPolicy.objects.get(pk=policy.pk).max_overbooked_covers == 4
    assert cancel.status_code in (200, 302) and erase.status_code in (200, 302)
    samna_booking.refresh_from_db()
    samna_guest.refresh_from_db()
    assert samna_booking.status == Reservation.Status.BOOKED and samna_guest.name == "Olena K."
    assert list(table_form.fields["restaurant"].queryset) == [steakhouse]
