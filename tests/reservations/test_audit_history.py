"""Every change to a booking, a guest, a hold-back rule or the overbooking policy is on the record: who, when,
what changed, and from where (api, desk, admin, sms, task, command, guest page).

Each kind of change is made the way staff, guests and the system really make it (the API, the desk, the
admin, a signed SMS, a Celery task, the guest's own page) and then read back as a manager would: through
`GET /api/v1/reservations/{id}/history/` or the admin's History page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.test import Client
from django.utils import timezone

from reservations import audit
from reservations.models import Guest, HoldBackRule, OverbookingPolicy, Reservation, Table
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from tests.conftest import at, kyiv, log_in

pytestmark = pytest.mark.django_db

PHONE = "+380671234567"
RESERVATIONS = "/api/v1/restaurants/samna/reservations/"


def record(api, reservation_id: int) -> list[dict]:
    response = api.get(f"/api/v1/reservations/{reservation_id}/history/")
    assert response.status_code == 200, response.json()
    return response.json()


def who_where_what(entry: dict) -> tuple:
    return entry["change"], entry["by"], entry["source"], sorted(entry["fields"])


def site(username: str) -> Client:
    client = Client()
    assert log_in(client, username)
    return client


def book_by_api(api, day, hhmm: str = "20:00", **extra) -> dict:
    response = api.post(RESERVATIONS, {"start": at(day, hhmm), "party_size": 2, "channel": "phone",
                                       "guest": {"name": "Olena K.", "phone": PHONE}, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_booking_is_on_the_record_as_created_by_the_host_through_the_api(samna, staff, host_api, tuesday):
    booking = book_by_api(host_api, tuesday, notes="window please")

    [created] = record(host_api, booking["id"])

    assert (created["change"], created["by"], created["source"]) == ("created", "host", "api")
    assert created["fields"]["status"] == {"from": None, "to": "booked"}
    assert created["fields"]["party_size"] == {"from": None, "to": 2}
    assert created["fields"]["notes"] == {"from": None, "to": "window please"}
    assert created["fields"]["tables"] == {"from": None, "to": "+".join(booking["tables"])}
    assert created["fields"]["start"]["to"] == kyiv(tuesday, "20:00").isoformat()  # the restaurant's own time
    assert created["at"].endswith(("+02:00", "+03:00"))
    # The guest's profile, made by the booking, is on its own record.
    [profile] = Guest.history.filter(phone=PHONE)
    assert (profile.history_type, profile.history_user.username, profile.source) == ("+", "host", "api")


def test_confirm_seat_on_another_table_and_complete_each_say_what_changed(samna, staff, host_api, tuesday):
    booking = book_by_api(host_api, tuesday)
    [booked_on] = booking["tables"]
    other = "T2" if booked_on != "T2" else "T1"

    assert host_api.post(f"/api/v1/reservations/{booking['id']}/confirm/", format="json").status_code == 200
    seated = host_api.post(f"/api/v1/reservations/{booking['id']}/seat/", {"tables": [other]}, format="json")
    assert seated.status_code == 200, seated.json()
    assert host_api.post(f"/api/v1/reservations/{booking['id']}/complete/", format="json").status_code == 200

    created, confirmed, seat, completed = record(host_api, booking["id"])
    assert who_where_what(confirmed) == ("changed", "host", "api", ["confirmed_at", "status"])
    assert confirmed["fields"]["status"] == {"from": "booked", "to": "confirmed"}
    assert who_where_what(seat) == ("changed", "host", "api", ["arrived_at", "seated_at", "status", "tables"])
    assert seat["fields"]["tables"] == {"from": booked_on, "to": other}, "the table change is on the record"
    assert who_where_what(completed) == ("changed", "host", "api", ["completed_at", "status"])
    assert [e["at"] for e in (created, confirmed, seat, completed)] == sorted(
        e["at"] for e in (created, confirmed, seat, completed)), "oldest first"


def test_a_confirmation_at_the_desk_is_the_desks(samna, staff, host_api, tuesday):
    booking = book_by_api(host_api, tuesday)

    assert site("host").post(f"/desk/samna/r/{booking['id']}/confirm/").status_code == 200

    assert who_where_what(record(host_api, booking["id"])[-1]) == ("changed", "host", "desk",
                                                                    ["confirmed_at", "status"])


def test_a_no_show_marked_in_the_admin_is_the_admins_and_the_managers(samna, staff, host_api):
    day = timezone.localdate() - timedelta(days=2)
    booking = reservation_create(restaurant=samna, start=kyiv(day, "20:00"), party_size=2, channel="phone",
                                 guest=GuestDetails(name="Olena K.", phone=PHONE), now=kyiv(day, "10:00"))

    response = site("manager").post("/admin/reservations/reservation/", {
        "action": "mark_no_show", "_selected_action": [booking.pk]})

    assert response.status_code == 302
    assert who_where_what(record(host_api, booking.pk)[-1]) == ("changed", "manager", "admin",
                                                                 ["cancelled_at", "status"])
    assert record(host_api, booking.pk)[-1]["fields"]["status"] == {"from": "booked", "to": "no_show"}


@pytest.mark.django_db(transaction=True)  # the confirmation is sent, and the reply answered, after commits
def test_a_guests_cancelling_by_sms_is_the_sms_and_nobodys_login(samna, staff, host_api, tuesday, settings,
                                                                  tmp_path):
    from tests.reservations.test_inbound_sms import BASE, TOKEN, text

    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms.jsonl")
    booking = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                 guest=GuestDetails(name="Olena K.", phone=PHONE), by=staff["host"])

    assert text("X", phone=PHONE).status_code == 200

    cancelled = record(host_api, booking.pk)[-1]
    assert who_where_what(cancelled) == ("changed", None, "sms", ["cancelled_at", "status"])
    assert cancelled["fields"]["status"] == {"from": "booked", "to": "cancelled"}


def test_a_guests_change_on_their_own_page_is_the_guest_pages(samna, staff, host_api, tuesday):
    booking = book_by_api(host_api, tuesday)
    token = Reservation.objects.get(pk=booking["id"]).guest_token

    answer = Client().post(f"/b/{token}/change/", {"date": tuesday.isoformat(), "time": "21:00", "party_size": "2"})

    assert answer.status_code == 302
    moved = record(host_api, booking["id"])[-1]
    assert (moved["change"], moved["by"], moved["source"]) == ("changed", None, "guest page")
    assert moved["fields"]["start"] == {"from": kyiv(tuesday, "20:00").isoformat(),
                                        "to": kyiv(tuesday, "21:00").isoformat()}


@shared_task
def _cancel_in_a_task(reservation_id: int) -> None:
    reservation_transition(reservation=Reservation.objects.get(pk=reservation_id), action="cancel")


def test_a_change_a_celery_task_makes_is_the_tasks_and_the_source_is_restored_after(samna, staff, host_api,
                                                                                     tuesday):
    booking = book_by_api(host_api, tuesday)

    _cancel_in_a_task.apply(args=(booking["id"],)).get()  # a real Celery run (in-process), its signals and all

    assert who_where_what(record(host_api, booking["id"])[-1]) == ("changed", None, "task",
                                                                    ["cancelled_at", "status"])
    assert audit.current_source() == audit.SYSTEM


def test_a_guest_edited_through_the_api_shows_who_changed_which_field(samna, staff, manager_api, host_api,
                                                                       tuesday):
    guest_id = book_by_api(host_api, tuesday)["guest"]["id"]

    response = manager_api.patch(f"/api/v1/guests/{guest_id}/", {"notes": "prefers the terrace"}, format="json")

    assert response.status_code == 200
    latest, created = Guest.history.filter(id=guest_id).order_by("-history_date", "-history_id")[:2]
    assert (latest.history_type, latest.history_user.username, latest.source) == ("~", "manager", "api")
    assert [(c.field, c.old, c.new) for c in latest.diff_against(created).changes] == [
        ("notes", "", "prefers the terrace")]


def test_a_hold_back_rule_edited_in_the_admin_is_on_its_record_and_its_history_page(samna, staff, steakhouse):
    rule = HoldBackRule.objects.get(restaurant=samna)
    t4 = Table.objects.get(restaurant=samna, name="T4")

    response = site("manager").post(f"/admin/reservations/holdbackrule/{rule.pk}/change/", {
        "restaurant": samna.pk, "name": rule.name, "weekdays": ["4", "5"], "starts": "18:30:00",
        "ends": "22:00:00", "tables": [t4.pk], "release_minutes_before": 60, "is_active": "on",
    })

    assert response.status_code == 302
    newest_first = rule.history.order_by("-history_date", "-history_id")
    # The form's save and then its tables' (simple-history records each step of a many-to-many change).
    edit = [r for r in newest_first if r.source == "admin"]
    assert edit and {(r.history_type, r.history_user.username) for r in edit} == {("~", "manager")}
    before = next(r for r in newest_first if r.source != "admin")
    changes = {c.field: (c.old, c.new) for c in edit[0].diff_against(before).changes}
    assert [t.strftime("%H:%M") for t in changes["starts"]] == ["19:00", "18:30"]
    assert [row["table"] for row in changes["tables"][1]] == [t4.pk]
    page = site("manager").get(f"/admin/reservations/holdbackrule/{rule.pk}/history/")
    assert page.status_code == 200 and "18:30" in page.content.decode()


def test_the_overbooking_policy_edited_in_the_admin_is_on_its_record(samna, staff):
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    response = site("manager").post(f"/admin/reservations/overbookingpolicy/{policy.pk}/change/", {
        "restaurant": samna.pk, "max_overbooked_covers": 1, "max_party_size": policy.max_party_size,
        "channels": ["phone", "host"], "is_active": "on"})

    assert response.status_code == 302
    latest = policy.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_type, latest.history_user.username, latest.source) == ("~", "manager", "admin")
    assert [(c.field, c.old, c.new) for c in latest.diff_against(latest.prev_record).changes] == [
        ("max_overbooked_covers", 4, 1)]


def test_the_admins_history_pages_are_behind_the_wall(samna, staff, steakhouse, host_api, tuesday):
    booking = book_by_api(host_api, tuesday)
    guest_id = booking["guest"]["id"]
    policy = OverbookingPolicy.objects.get(restaurant=samna)

    for url in (f"/admin/reservations/reservation/{booking['id']}/history/",
                f"/admin/reservations/guest/{guest_id}/history/",
                f"/admin/reservations/overbookingpolicy/{policy.pk}/history/"):
        assert site("manager").get(url).status_code == 200, url
        assert site("steak-manager").get(url).status_code == 404, url
    page = site("manager").get(f"/admin/reservations/reservation/{booking['id']}/history/").content.decode()
    assert "api" in page  # the source column

    # Gone from the book, its record stays for its own restaurant's managers only.
    Reservation.objects.get(pk=booking["id"]).delete()
    gone = f"/admin/reservations/reservation/{booking['id']}/history/"
    assert site("manager").get(gone).status_code == 200
    assert site("steak-manager").get(gone).status_code == 404
    assert site("admin").get(gone).status_code == 200


def test_a_guests_stop_by_sms_is_on_their_profiles_record(samna, staff, host_api, tuesday, settings, tmp_path):
    """The opt-out used to be a queryset update (no history): each profile with the number now records it."""
    from tests.reservations.test_inbound_sms import BASE, TOKEN, text

    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    guest_id = book_by_api(host_api, tuesday)["guest"]["id"]

    assert text("STOP", phone=PHONE).status_code == 200

    latest, before = Guest.history.filter(id=guest_id).order_by("-history_date", "-history_id")[:2]
    assert (latest.history_type, latest.history_user, latest.source) == ("~", None, "sms")
    assert [(c.field, c.old, c.new) for c in latest.diff_against(before).changes] == [("sms_opt_out", False, True)]
