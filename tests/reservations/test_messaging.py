"""Outbound guest SMS: the outbox row lives and dies with its event, and each message is handed over once.

These run with tasks in-process (no `REDIS_URL`: the embedded default, the same code path as a worker's);
`tests/integration/` runs a real worker on Redis. The file backend is the guest's phone here.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cxhost.celery import app as celery_app
from reservations.errors import NoTables
from reservations.models import Guest, OutboundMessage, Reservation, ServiceHours, WaitlistEntry
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.messaging import (
    RetryLater,
    message_queue,
    reminders_queue,
    sms_redispatch,
    sms_send,
    thank_yous_queue,
)
from reservations.services.walk_ins import walk_in_arrive
from reservations.tasks import send_sms_task
from tests.conftest import at, kyiv

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit must really fire

PHONE = "+380671234567"
Kind = OutboundMessage.Kind


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    """The file backend's file: one JSON line per SMS handed over."""
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def sent(outbox: Path) -> list[dict]:
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


@pytest.fixture
def broker_unreachable():
    """Tasks go to an in-memory queue no worker reads: what a booking sees while the real broker is down."""
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


def book(restaurant, day, hhmm="20:00", *, phone=PHONE, name="Olena", channel="phone", **extra) -> Reservation:
    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=2, channel=channel,
                              guest=GuestDetails(name=name, phone=phone), **extra)


def test_a_booking_sends_one_confirmation_with_the_contracts_keys(samna, host_api, tuesday, outbox):
    response = host_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone",
        "guest": {"name": "Olena", "phone": PHONE}}, format="json")

    assert response.status_code == 201, response.json()
    [line] = sent(outbox)
    assert set(line) == {"to", "body", "kind", "reservation"}
    assert line["to"] == PHONE and line["kind"] == "confirmation" and line["reservation"] == response.json()["id"]
    # Samna writes in Ukrainian: its name, the local date and time.
    assert line["body"].startswith("Samna: ") and f"{tuesday:%d.%m} о 20:00" in line["body"]
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts, message.kind) == ("sent", 1, "confirmation")
    assert message.sent_at is not None and message.provider_id


def test_nobody_is_texted_without_a_phone_after_stop_for_a_walk_in_or_for_a_refused_booking(
        samna, tuesday, outbox):
    book(samna, tuesday, "19:00", phone=None, name="No Phone")
    Guest.objects.create(group=samna.group, name="Quiet", phone="+380501112233", sms_opt_out=True)
    book(samna, tuesday, "19:00", phone="+380501112233", name="Quiet")
    for _ in range(20):  # fill the evening until the book says no
        try:
            book(samna, tuesday, "21:00", phone="+380931234567", name="Late")
        except NoTables:
            break
    else:
        pytest.fail("the book never filled")
    booked = Reservation.objects.filter(guest__phone="+380931234567").count()

    lines = sent(outbox)
    assert [line["to"] for line in lines] == ["+380931234567"] * booked  # the refused one got nothing
    assert OutboundMessage.objects.count() == booked


def test_a_walk_in_seated_at_the_door_gets_no_confirmation(samna, outbox):
    ServiceHours.objects.filter(restaurant=samna).update(
        opens="00:00", last_seating="23:58", closes="23:59")
    samna.save()
    result = walk_in_arrive(restaurant=samna, party_size=2, guest=GuestDetails(name="Door", phone=PHONE))

    assert result.status == "seated"
    assert sent(outbox) == [] and not OutboundMessage.objects.exists()


def test_a_message_dies_with_its_rolled_back_event(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    with pytest.raises(RuntimeError), transaction.atomic():
        message_queue(restaurant=samna, guest=reservation.guest, kind=Kind.REMINDER, reservation=reservation)
        raise RuntimeError("the event failed after queueing")

    assert [line["kind"] for line in sent(outbox)] == ["confirmation"]
    assert list(OutboundMessage.objects.values_list("kind", flat=True)) == ["confirmation"]


def test_one_message_of_a_kind_per_reservation_enforced_by_the_database(samna, tuesday, outbox):
    from django.db import IntegrityError

    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():  # even a write that skips the service fails
        OutboundMessage.objects.create(restaurant=samna, reservation=reservation, to=PHONE, kind=Kind.CONFIRMATION,
                                       body="again", next_attempt_at=timezone.now())
    with transaction.atomic():
        assert message_queue(restaurant=samna, guest=reservation.guest, kind=Kind.CONFIRMATION,
                             reservation=reservation) is None
    assert len(sent(outbox)) == 1 and message.pk == OutboundMessage.objects.get().pk


def test_a_task_run_twice_sends_one_sms(samna, tuesday, outbox, broker_unreachable):
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)
    assert message.status == "pending" and sent(outbox) == []  # its task is queued, unread

    assert send_sms_task.apply((message.pk,)).get() == "sent"
    assert send_sms_task.apply((message.pk,)).get() == "skipped"  # a redelivered or duplicated task

    assert len(sent(outbox)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


@pytest.mark.postgres  # SQLite's shared in-memory test database refuses concurrent writers outright
def test_tasks_racing_for_one_message_send_one_sms(samna, tuesday, outbox, broker_unreachable):
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)
    start = threading.Barrier(8)
    results = []

    def worker():
        try:
            start.wait()
            results.append(send_sms_task.apply((message.pk,)).get())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == ["sent"] + ["skipped"] * 7
    assert len(sent(outbox)) == 1


def test_beat_sends_what_the_broker_never_delivered_once(samna, tuesday, outbox, broker_unreachable, settings):
    late = book(samna, tuesday, "19:00")
    fresh = book(samna, tuesday, "20:00", phone="+380501112233")
    OutboundMessage.objects.filter(reservation=late).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    celery_app.conf.task_always_eager = True  # the broker is back, and a worker with it

    assert sms_redispatch() == 1  # the fresh one's own task may still arrive: beat leaves it alone
    assert sms_redispatch() == 0
    assert [line["reservation"] for line in sent(outbox)] == [late.pk]
    assert OutboundMessage.objects.get(reservation=fresh).status == "pending"


def test_provider_errors_back_off_exponentially_then_fail_for_staff(
        samna, tuesday, outbox, broker_unreachable, settings, manager_api, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path)  # a directory: every hand-over fails with an OSError
    settings.SMS_MAX_ATTEMPTS = 4
    settings.SMS_RETRY_BASE_SECONDS = 30
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)

    delays = []
    for _ in range(3):
        with pytest.raises(RetryLater) as later:
            sms_send(message_id=message.pk)
        delays.append(later.value.seconds)
        message.refresh_from_db()
        assert message.status == "pending" and "Error" in message.last_error
        assert abs((message.next_attempt_at - timezone.now()).total_seconds() - delays[-1]) < 5
    assert delays == [30, 60, 120]
    assert sms_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 4) and message.failed_at is not None
    assert sms_redispatch(now=timezone.now() + timedelta(days=1)) == 0  # failed stays failed until staff act

    manager_api.force_login(_manager())
    page = manager_api.get("/admin/reservations/outboundmessage/", {"status__exact": "failed"})
    assert page.status_code == 200 and PHONE in page.content.decode() and "failed" in page.content.decode()


def _manager():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="manager")


def test_in_process_tasks_retry_the_same_way_and_the_booking_still_succeeds(
        samna, tuesday, outbox, settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path)
    settings.SMS_MAX_ATTEMPTS = 3
    reservation = book(samna, tuesday)  # the provider is down: the booking is not

    message = OutboundMessage.objects.get(reservation=reservation)
    assert (message.status, message.attempts) == ("failed", 3)


def test_a_reminder_goes_out_once_a_day_ahead_never_for_a_late_booking(samna, tuesday, outbox, settings):
    early = book(samna, tuesday, "19:00")
    late = book(samna, tuesday, "20:00", phone="+380501112233")
    Reservation.objects.filter(pk=late.pk).update(created_at=late.start - timedelta(hours=10))

    assert reminders_queue(now=early.start - timedelta(hours=25)) == 0  # not yet
    assert reminders_queue(now=early.start - timedelta(hours=23)) == 1
    assert reminders_queue(now=early.start - timedelta(hours=2)) == 0  # once

    reminders = [line for line in sent(outbox) if line["kind"] == "reminder"]
    assert [r["reservation"] for r in reminders] == [early.pk]
    assert "19:00" in reminders[0]["body"]

    settings.SMS_REMINDER_HOURS = 48  # configurable
    other = book(samna, tuesday, "21:00", phone="+380931234567")
    assert reminders_queue(now=other.start - timedelta(hours=47)) == 1


def test_a_cancelled_booking_is_not_reminded(samna, tuesday, outbox):
    reservation = book(samna, tuesday)
    reservation_transition(reservation=reservation, action="cancel")
    assert reminders_queue(now=reservation.start - timedelta(hours=3)) == 0


def test_thank_you_the_next_morning_once(samna, tuesday, outbox):
    reservation = book(samna, tuesday, "19:00")
    reservation_transition(reservation=reservation, action="seat", now=kyiv(tuesday, "19:05"))
    reservation_transition(reservation=reservation, action="complete", now=kyiv(tuesday, "21:00"))
    next_day = tuesday + timedelta(days=1)

    assert thank_yous_queue(now=kyiv(tuesday, "23:00")) == 0
    assert thank_yous_queue(now=kyiv(next_day, "08:00")) == 0  # not before breakfast
    assert thank_yous_queue(now=kyiv(next_day, "10:30")) == 1
    assert thank_yous_queue(now=kyiv(next_day, "12:00")) == 0
    assert thank_yous_queue(now=kyiv(next_day + timedelta(days=1), "10:30")) == 0
    assert [line["kind"] for line in sent(outbox)] == ["confirmation", "thank_you"]


@pytest.mark.parametrize(("language", "words"), [("en", "booked for"), ("uk", "Чекаємо"), ("ru", "Ждём")])
def test_texts_in_the_restaurants_language_short_with_the_guests_link(samna, tuesday, outbox, language, words):
    samna.language = language
    samna.save()
    booking = book(samna, tuesday, "20:15")

    [line] = sent(outbox)
    assert words in line["body"] and "Samna" in line["body"] and "20:15" in line["body"]
    assert line["body"].endswith(f"http://127.0.0.1:8000/b/{booking.guest_token}/")
    # One SMS segment in English (160 GSM characters); two in Cyrillic, sent as UCS-2 (67 characters each
    # when joined): the link needs the room.
    assert len(line["body"]) <= (160 if language == "en" else 2 * 67)


def test_table_ready_is_texted_once_and_the_waitlist_shows_when(samna, host_api, outbox):
    ServiceHours.objects.filter(restaurant=samna).update(opens="00:00", last_seating="23:58", closes="23:59")
    samna.save()
    guest = Guest.objects.create(group=samna.group, name="Waiting", phone=PHONE)
    entry = WaitlistEntry.objects.create(restaurant=samna, guest=guest, party_size=2, quoted_wait_minutes=15,
                                         created_at=timezone.now())
    no_phone = WaitlistEntry.objects.create(restaurant=samna, party_size=2, quoted_wait_minutes=15,
                                            created_at=timezone.now())

    first = host_api.post(f"/api/v1/waitlist/{entry.pk}/notify/", format="json")
    again = host_api.post(f"/api/v1/waitlist/{entry.pk}/notify/", format="json")
    refused = host_api.post(f"/api/v1/waitlist/{no_phone.pk}/notify/", format="json")
    listing = host_api.get("/api/v1/restaurants/samna/waitlist/").json()

    assert first.status_code == 200 and first.json()["notified_at"]
    assert again.status_code == 200 and again.json()["notified_at"] == first.json()["notified_at"]
    assert refused.status_code == 409 and refused.json()["code"] == "no_sms_number"
    [line] = sent(outbox)
    assert (line["to"], line["kind"], line["reservation"]) == (PHONE, "table_ready", None)
    told = {e["id"]: e for e in listing}
    assert told[entry.pk]["notified_at"] == first.json()["notified_at"]
    assert told[entry.pk]["notified_minutes_ago"] == 0
    assert told[no_phone.pk]["notified_at"] is None


# A worker that died after handing a message over: `test_sms_reconcile.py` (the provider is asked).


def test_a_confirmation_claimed_by_a_worker_that_died_before_sending_goes_out_once(
        samna, tuesday, outbox, broker_unreachable, settings):
    # The fault run's finding: a Celery worker SIGKILLed between its claim and the hand-over to the provider
    # left the confirmation `sending` for ever (then failed), and the guest never heard of their booking.
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)
    died = timezone.now() - timedelta(seconds=settings.SMS_CLAIM_STUCK_SECONDS + 5)
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1, claimed_at=died)
    celery_app.conf.task_always_eager = True

    assert sms_redispatch() == 1  # beat takes the claim back and sends it
    assert sms_redispatch() == 0  # and never again
    assert send_sms_task.apply((message.pk,)).get() == "skipped"  # nor does the dead worker's task, redelivered
    [line] = sent(outbox)
    assert (line["kind"], line["reservation"]) == ("confirmation", reservation.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)  # the crash did not use up an attempt


def test_a_fresh_claim_not_yet_handed_over_is_left_to_its_worker(samna, tuesday, outbox, broker_unreachable):
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1, claimed_at=timezone.now())
    celery_app.conf.task_always_eager = True

    assert sms_redispatch() == 0
    message.refresh_from_db()
    assert message.status == "sending"
    assert sent(outbox) == []


def test_staff_send_a_failed_message_again_once(samna, tuesday, outbox, settings, tmp_path, manager_api):
    real_file = settings.SMS_FILE_PATH
    settings.SMS_FILE_PATH = str(tmp_path)  # the provider is down: every attempt fails
    settings.SMS_MAX_ATTEMPTS = 2
    reservation = book(samna, tuesday)
    message = OutboundMessage.objects.get(reservation=reservation)
    assert message.status == "failed"
    settings.SMS_FILE_PATH = real_file  # the provider is back

    manager_api.force_login(_manager())
    page = manager_api.post("/admin/reservations/outboundmessage/", {
        "action": "send_again", "_selected_action": [message.pk, message.pk]})
    again = manager_api.post("/admin/reservations/outboundmessage/", {
        "action": "send_again", "_selected_action": [message.pk]})

    assert page.status_code == 302 and again.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(sent(outbox)) == 1
