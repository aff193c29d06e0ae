"""A guest's own data: exported whole, and erased so that nothing of them survives in readable form.

The erasure is checked independently of the code that does it: every row of every model with a text or JSON
column (audit history, admin log and idempotency records included) is dumped and searched for the guest's name
and phone. Before the erasure that search finds them in every kind of row the guest touched (so the search can
fail); afterwards it finds nothing, while their bookings still count.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone

from recovery.models import ExpectationOutcome, RecoveryCase
from recovery.services.causes import mistake_log
from reservations.models import Guest, HoldBackRule, OutboundMessage, Reservation
from reservations.services.gestures import gesture_offer, guest_prepare
from reservations.services.privacy import erase_guest
from tests.conftest import at, log_in
from tests.reservations.test_inbound_sms import BASE, TOKEN, text

pytestmark = pytest.mark.django_db

NAME = "Olena Kovalenko"
PHONE = "+380671234567"
NATIONAL = "671234567"  # the phone's digits however it was typed
RESERVATIONS = "/api/v1/restaurants/samna/reservations/"


def traces(*, name: str = NAME, digits: str = NATIONAL) -> dict[str, set[str]]:
    """Where the name (any word of it) or the phone's digits can still be read: `{model label: {fields}}`.

    Every concrete model of every app, every char, text and JSON column, read from the database as stored.
    """
    words = [w.lower() for w in name.split()]
    found: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        columns = [f for f in model._meta.concrete_fields
                   if isinstance(f, models.CharField | models.TextField | models.JSONField)]
        if not columns:
            continue
        for row in model._base_manager.values_list(*(f.attname for f in columns)):
            for column, value in zip(columns, row, strict=True):
                readable = json.dumps(value, default=str, ensure_ascii=False).lower()
                if any(w in readable for w in words) or digits in re.sub(r"\D", "", readable):
                    found.setdefault(model._meta.label, set()).add(column.name)
    return found


@pytest.fixture
def twilio(settings):
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE


@pytest.fixture
def olena(samna, staff, host_api, manager_api, tuesday, twilio) -> Guest:
    """A guest who has left a trace in every kind of row there is."""
    # A booking with notes and expectations, made with an Idempotency-Key (the answer is remembered).
    first = host_api.post(RESERVATIONS, {
        "start": at(tuesday, "19:00"), "party_size": 2, "channel": "phone", "notes": f"{NAME} asked for the window",
        "expectations": ["nut allergy"], "guest": {"name": NAME, "phone": PHONE},
    }, format="json", headers={"Idempotency-Key": "olena-1"})
    assert first.status_code == 201, first.json()
    reservation = Reservation.objects.get(pk=first.json()["id"])
    guest = reservation.guest
    # Turned away another evening (a refusal with her contact, and a recovery case naming her).
    refused = host_api.post(RESERVATIONS, {"start": at(tuesday + timedelta(days=7), "20:00"), "party_size": 40,
                                           "channel": "phone", "guest": {"name": NAME, "phone": "067 123 45 67"}},
                            format="json")
    assert refused.status_code in (400, 409), refused.json()
    # Staff notes, a gesture, a mistake case with a step, a scored expectation; a profile edited in the admin.
    guest_prepare(reservation_id=reservation.pk)
    gesture_offer(reservation=reservation, occasion="judgment", reason=f"{NAME} is a regular")
    case = mistake_log(reservation=reservation, what="wrong_dish", note=f"{NAME} got the wrong soup",
                       by=staff["host"])
    assert manager_api.post(f"/api/v1/restaurants/samna/recovery-cases/{case.pk}/actions/",
                            {"kind": "called", "note": f"called {NAME} back"}, format="json").status_code == 201
    ExpectationOutcome.objects.create(restaurant=samna, reservation=reservation, expectation="nut allergy",
                                      outcome="ok", note="checked with Olena", at=timezone.now())
    assert manager_api.patch(f"/api/v1/guests/{guest.pk}/", {"notes": f"{NAME} likes jazz",
                                                             "tags": ["vip"]}, format="json").status_code == 200
    admin_site = Client()
    assert log_in(admin_site, "manager")
    edited = admin_site.post(f"/admin/reservations/guest/{guest.pk}/change/", {
        "group": guest.group_id, "name": NAME, "phone": PHONE, "tags": '["vip", "jazz"]',
        "expectations": '["nut allergy"]', "notes": f"{NAME} likes jazz"})
    assert edited.status_code == 302
    # A text from her (stored with its body), and our texts to her: sent, as a worker would have marked them
    # (this test's transactions never commit), so her text is Samna's.
    OutboundMessage.objects.filter(to=PHONE).update(status="sent", sent_at=timezone.now())
    assert text(f"hello, it is {NAME}", phone=PHONE).status_code == 200
    # On the waitlist one evening.
    assert manager_api.post("/api/v1/restaurants/samna/walk-ins/", {
        "party_size": 2, "guest": {"name": NAME, "phone": PHONE}}, format="json").status_code in (201, 409)
    guest.refresh_from_db()
    return guest


def test_the_export_holds_every_kind_of_data_about_the_guest(olena, manager_api):
    response = manager_api.get(f"/api/v1/guests/{olena.pk}/export/")

    assert response.status_code == 200
    data = response.json()
    assert (data["guest"]["name"], data["guest"]["phone"], data["guest"]["notes"]) == (
        NAME, PHONE, f"{NAME} likes jazz")
    # The phone booking (the walk-in, seated when the test runs during service hours, starts earlier).
    [booking] = [b for b in data["bookings"] if b["channel"] == "phone"]
    assert (booking["notes"], booking["expectations"], booking["party_size"]) == (
        f"{NAME} asked for the window", ["nut allergy"], 2)
    assert booking["tables"]
    assert [(r["guest_name"], r["guest_phone"], r["party_size"]) for r in data["refusals"]] == [(NAME, PHONE, 40)]
    assert any(m["kind"] == "confirmation" and m["to"] == PHONE and m["body"] for m in data["messages"]["sent"])
    assert [m["body"] for m in data["messages"]["received"]] == [f"hello, it is {NAME}"]
    assert [n["kind"] for n in data["notes"]] == ["first_visit"]
    assert "nut allergy" in data["notes"][0]["text"]
    assert [(g["occasion"], g["reason"]) for g in data["gestures"]] == [("judgment", f"{NAME} is a regular")]
    kinds = {c["kind"] for c in data["recovery_cases"]}
    assert "mistake" in kinds
    mistake = next(c for c in data["recovery_cases"] if c["kind"] == "mistake")
    assert f"called {NAME} back" in [a["note"] for a in mistake["actions"]]
    assert [o["note"] for o in data["expectation_outcomes"]] == ["checked with Olena"]
    history = data["history"]
    assert history[0]["change"] == "created" and history[0]["fields"]["name"]["to"] == NAME
    assert any(e["by"] == "manager" and e["source"] == "api" and "notes" in e["fields"] for e in history)
    assert any(e["source"] == "admin" for e in history)


def test_after_erasure_nothing_of_the_guest_can_be_read_anywhere_and_the_bookings_still_count(
        olena, manager_api, host_api, tuesday):
    before = traces()
    # The search can fail: it finds her in every kind of row she touched.
    for label in ("reservations.Guest", "reservations.HistoricalGuest", "reservations.Reservation",
                  "reservations.HistoricalReservation", "reservations.Refusal", "reservations.OutboundMessage",
                  "reservations.InboundMessage", "reservations.Gesture", "reservations.IdempotencyKey",
                  "recovery.RecoveryCase", "recovery.CaseAction", "recovery.ExpectationOutcome", "admin.LogEntry"):
        assert label in before, label
    bookings = list(Reservation.objects.filter(guest=olena).values_list("pk", "party_size", "status", "start"))

    response = manager_api.post(f"/api/v1/guests/{olena.pk}/erase/")

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == olena.pk and response.json()["erased_at"]
    assert traces() == {}, "the guest can still be read there"
    # Not found by their phone any more; their profile says nothing of them.
    assert manager_api.get("/api/v1/guests/", {"phone": PHONE}).json() == []
    profile = manager_api.get(f"/api/v1/guests/{olena.pk}/").json()
    assert (profile["name"], profile["phone"], profile["notes"], profile["tags"], profile["expectations"]) == (
        "", None, "", [], [])
    # Their bookings stay, as anonymous counts: the day's book still has the covers.
    assert list(Reservation.objects.filter(guest=olena).values_list("pk", "party_size", "status", "start")) == (
        bookings)
    day = host_api.get(RESERVATIONS, {"date": tuesday.isoformat()}).json()
    assert sum(r["party_size"] for r in day if r["id"] in {b[0] for b in bookings}) == 2
    # The record of the erasure itself: who and from where, without what was erased.
    erased = manager_api.get(f"/api/v1/guests/{olena.pk}/export/").json()["history"][-1]
    assert (erased["by"], erased["source"], erased["change"]) == ("manager", "api", "changed")
    assert NAME not in json.dumps(erased) and NATIONAL not in json.dumps(erased)


def test_erasing_is_a_managers_in_the_api_a_hosts_get_403_and_changes_nothing(olena, host_api):
    response = host_api.post(f"/api/v1/guests/{olena.pk}/erase/")

    assert response.status_code == 403 and response.json()["code"] == "managers_only"
    olena.refresh_from_db()
    assert (olena.name, str(olena.phone)) == (NAME, PHONE)
    assert host_api.get(f"/api/v1/guests/{olena.pk}/export/").status_code == 403


def test_the_admin_action_erases_for_a_manager(olena, staff):
    admin_site = Client()
    assert log_in(admin_site, "manager")
    listing = admin_site.get("/admin/reservations/guest/")
    assert "Erase this guest&#x27;s personal data" in listing.content.decode()

    response = admin_site.post("/admin/reservations/guest/", {"action": "erase_guests",
                                                              "_selected_action": [olena.pk]})

    assert response.status_code == 302
    assert traces() == {}
    latest = Guest.history.filter(id=olena.pk).order_by("-history_date", "-history_id").first()
    assert (latest.history_user.username, latest.source) == ("manager", "admin")


def test_the_management_command_erases_and_is_on_the_record_as_a_command(olena):
    call_command("erase_guest", str(olena.pk))

    assert traces() == {}
    latest = Guest.history.filter(id=olena.pk).order_by("-history_date", "-history_id").first()
    assert (latest.history_user, latest.source) == (None, "command")


def test_erasing_one_guest_leaves_another_with_the_same_first_name_alone(olena, samna, manager_api, tuesday):
    other = manager_api.post(RESERVATIONS, {"start": at(tuesday, "21:00"), "party_size": 3, "channel": "phone",
                                            "guest": {"name": "Olena Shevchenko", "phone": "+380501112233"}},
                             format="json")
    assert other.status_code == 201

    erase_guest(olena)

    kept = Guest.objects.get(pk=other.json()["guest"]["id"])
    assert (kept.name, str(kept.phone)) == ("Olena Shevchenko", "+380501112233")
    assert traces(name="Kovalenko") == {}
    assert HoldBackRule.objects.filter(restaurant=samna).exists()
    assert RecoveryCase.objects.filter(guest=olena).exists(), "the case stays, for the counts, without her name"
