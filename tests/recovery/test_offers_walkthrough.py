"""The "Done when" walk-through, through the public doors only: the booking API fills Samna's Saturday 20:00
and turns two guests away, a host cancels a booking, the first guest's phone gets the offer, her signed YES
through Twilio's webhook books the table, and the floor's comps list has her dessert; the second guest is
told kindly the table has gone and stays on the list."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from recovery.models import CaseAction, RecoveryCase
from reservations.errors import NoTables
from reservations.models import Reservation
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import at, kyiv
from tests.reservations.test_inbound_sms import twilio_signature

pytestmark = pytest.mark.django_db(transaction=True)

OLENA, TARAS = "+380671110001", "+380671110002"
TOKEN, BASE = "walkthrough-token", "https://cx.example.com"


def book(client, day, name: str, phone: str):
    return client.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(day, "20:00"), "party_size": 2, "channel": "online", "guest": {"name": name, "phone": phone},
    }, format="json")


def texted(outbox, phone: str) -> list[dict]:
    lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    return [m for m in lines if m["to"] == phone]


def text_us(phone: str, body: str):
    params = {"From": phone, "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}", "To": "+15005550006"}
    return Client().post("/sms/inbound/", params,
                         HTTP_X_TWILIO_SIGNATURE=twilio_signature(TOKEN, BASE + "/sms/inbound/", params))


def test_fill_refuse_two_cancel_and_the_first_refused_guest_is_won_back_by_sms(
        samna, saturday, anon_api, host_api, manager_api, settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms.jsonl")
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    outbox = tmp_path / "sms.jsonl"

    # Eight tables an online party of two may have at 20:00 (T3 and T4 are held back for walk-ins).
    answers = [book(anon_api, saturday, f"Guest {n}", f"+38050200{n:04d}") for n in range(8)]
    assert [a.status_code for a in answers] == [201] * 8
    booked = [a.json()["id"] for a in answers]
    # Olena and Taras are turned away online with phones they proved (an anonymous caller's unproven phone is
    # never offered a table; the proof belongs to the guest booking page, which calls the service so).
    for name, phone in (("Olena", OLENA), ("Taras", TARAS)):
        with pytest.raises(NoTables):
            reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=2, channel="online",
                               guest=GuestDetails(name=name, phone=phone, phone_verified=True))

    assert host_api.post(f"/api/v1/reservations/{booked[5]}/cancel/").status_code == 200

    [offer] = texted(outbox, OLENA)
    assert offer["kind"] == "recovery_offer" and "20:00" in offer["body"] and "ТАК" in offer["body"]
    assert texted(outbox, TARAS) == []
    slots = anon_api.get(f"/api/v1/restaurants/samna/availability/?date={saturday}&party_size=2").json()["slots"]
    assert next(s for s in slots if s["time"] == "20:00")["available"] is False, "held for Olena"

    assert text_us(OLENA, " так ").status_code == 200

    won = Reservation.objects.get(guest__phone=OLENA)
    assert (won.status, won.channel, won.start.astimezone(samna.tz).strftime("%H:%M")) == ("booked", "phone",
                                                                                        "20:00")
    assert [m["kind"] for m in texted(outbox, OLENA)] == ["recovery_offer", "confirmation"]
    comps = manager_api.get(f"/api/v1/restaurants/samna/comps/?date={saturday}").json()
    assert [(c["reservation"], c["item"]) for c in comps] == [(won.pk, "dessert")]
    olena, taras = (RecoveryCase.objects.get(refusal__guest_phone=p) for p in (OLENA, TARAS))
    assert (olena.status, olena.won_back_id, taras.status) == ("resolved", won.pk, "open")
    assert list(CaseAction.objects.filter(case=olena).values_list("kind", flat=True)) == [
        "opened", "offered", "offer_taken", "resolved"]
    # The second is told kindly it has gone, and stays on the list.
    [gone] = texted(outbox, TARAS)
    assert gone["kind"] == "recovery_gone" and "20:00" in gone["body"]
    assert "щойно взяв інший гість" in gone["body"] and "Ви в нашому списку" in gone["body"]
    assert list(CaseAction.objects.filter(case=taras).values_list("kind", flat=True)) == ["opened", "offer_gone"]

    # Her YES to that text is answered in the same kind words: no booking, no error, still on the list.
    assert text_us(TARAS, "ТАК").status_code == 200
    assert [m["kind"] for m in texted(outbox, TARAS)] == ["recovery_gone", "reply"]
    assert "столик вже зайнято" in texted(outbox, TARAS)[-1]["body"]
    assert not Reservation.objects.filter(guest__phone=TARAS).exists()
    taras.refresh_from_db()
    assert taras.status == "open"
    assert list(CaseAction.objects.filter(case=taras).values_list("kind", flat=True)) == ["opened", "offer_gone"]
    assert [m["kind"] for m in texted(outbox, OLENA)] == ["recovery_offer", "confirmation"]
