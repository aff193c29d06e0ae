"""The manager's back office: every page opens, and what a manager changes there the book obeys at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from reservations.errors import NoTables
from reservations.models import (
    HoldBackRule,
    OverbookingPolicy,
    Reservation,
    Table,
    TableCombination,
    TurnTime,
    WaitlistEntry,
)
from reservations.services.booking import reservation_create
from tests.conftest import DEMO_PASSWORD, kyiv
from tests.factories import GuestFactory

pytestmark = pytest.mark.django_db

HELD = {"T3", "T4"}
TWO_TOPS = {"T1", "T2", "T3", "T4", "T11", "T12", "T5", "T6", "T7", "T8"}


@pytest.fixture
def manager_site(staff) -> Client:
    client = Client()
    assert client.login(username="manager", password=DEMO_PASSWORD)
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
    GuestFactory()
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
            "max_party_size": policy.max_party_size, "channels": '["phone", "host"]', "is_active": "on"}
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
                                 policy_form(policy, channels='["phone", "online"]'))

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
        "restaurant": samna.pk, "name": rule.name, "weekdays": "[4, 5]", "starts": "19:00:00", "ends": "22:00:00",
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
    assert client.login(username="host", password=DEMO_PASSWORD)
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    pages = [client.get("/admin/"), client.get("/admin/reservations/overbookingpolicy/"),
             client.post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/",
                         policy_form(policy, max_overbooked_covers=40))]

    for page in pages:
        assert page.status_code == 302
        assert page["Location"].startswith("/admin/login/")
    assert OverbookingPolicy.objects.get(pk=policy.pk).max_overbooked_covers == 4


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
