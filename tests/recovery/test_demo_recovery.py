"""Recovery tried as a new user would on `make demo`'s data: the coming Saturday's 20:00 is full and one guest
was already turned away by phone; another is turned away online; a manager cancels a 20:00 booking; the guest
refused first gets the offer, and their YES, typed in with the `sms_receive` command (the demo has no Twilio),
wins the table back with a dessert, while the other is told kindly it has gone."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from recovery.models import RecoveryCase
from reservations.models import Refusal, Reservation
from reservations.services.demo import coming_saturday
from tests.conftest import at

pytestmark = pytest.mark.django_db(transaction=True)

OLENA = "+380671230001"
WEDNESDAY = datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("Europe/Kyiv"))


@time_machine.travel(WEDNESDAY, tick=True)
def test_on_the_demo_a_cancellation_goes_to_the_first_refused_guest_who_answers_yes(
        anon_api, settings, tmp_path, capsys):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms.jsonl")
    call_command("seed_demo", "--password", "pw-demo")
    saturday = coming_saturday(WEDNESDAY.date())
    assert saturday == date(2026, 12, 5)
    [seeded] = Refusal.objects.filter(restaurant__slug="samna").exclude(guest_phone="")  # refused by phone earlier
    first = seeded.guest_phone.as_e164
    token = anon_api.post("/api/v1/auth/token/", {"username": "manager", "password": "pw-demo"}, format="json")
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    # Olena rings too (an anonymous online caller's phone is unproven, and never offered a table).
    answer = anon_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(saturday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena", "phone": OLENA}}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (409, "no_tables")
    at_twenty = [r for r in Reservation.objects.filter(restaurant__slug="samna", party_size=2, status="booked",
                                                       overbooked=False)
                 if r.start.astimezone(r.restaurant.tz) == datetime(2026, 12, 5, 20, 0, tzinfo=ZoneInfo("Europe/Kyiv"))]

    assert anon_api.post(f"/api/v1/reservations/{at_twenty[0].pk}/cancel/", {}, format="json").status_code == 200
    call_command("sms_receive", first, "YES")

    texts = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert [t["kind"] for t in texts if t["to"] == first] == ["recovery_offer", "confirmation"]
    assert [t["kind"] for t in texts if t["to"] == OLENA] == ["recovery_gone"]
    assert capsys.readouterr().out.rstrip().endswith(f"{first}: 'YES' → offer_taken")
    won = Reservation.objects.get(guest__phone=first, status="booked")
    assert [g.item for g in won.gestures.all()] == ["dessert"]
    cases = {c.refusal.guest_phone.as_e164: (c.status, c.won_back_id)
             for c in RecoveryCase.objects.filter(kind="turned_away")}
    assert cases == {first: ("resolved", won.pk), OLENA: ("open", None)}
