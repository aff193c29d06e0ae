"""Twilio delivering one text twice at the same moment: the copy that acts owns the record and the reply.

Each copy runs `sms_receive` in its own thread on its own PostgreSQL connection, released together. The copy
that cancels the booking is made slow to record what it did (as it is in life: it cancelled, freed the table,
told the recovery app), so the other copy, finding the booking cancelled already, would be first to store its
row and send its reply. The control run skips the claim (`inbound_claim`, the text stored as `received` before
anything is done) and shows exactly that: the record says `nothing_to_answer` and the guest is told we found
no booking, for a text that cancelled one.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from reservations.models import InboundMessage, OutboundMessage, Reservation
from reservations.services import inbound_sms
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv

pytestmark = pytest.mark.postgres

PHONE = "+380671234567"
COPIES = 4
SLOW_AFTER_ACTING = 0.5  # seconds


@pytest.fixture
def booked(samna, tuesday, settings, tmp_path, monkeypatch) -> Reservation:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    reservation = reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                                     guest=GuestDetails(name="Olena", phone=PHONE))
    acting = inbound_sms.reservation_transition

    def slow_to_record(**kwargs):
        done = acting(**kwargs)
        time.sleep(SLOW_AFTER_ACTING)
        return done

    monkeypatch.setattr(inbound_sms, "reservation_transition", slow_to_record)
    return reservation


def copies_at_once(count: int, body: str = "X", sid: str = "SMtwice") -> list[BaseException]:
    """`count` copies of one text (one MessageSid), all at once: the errors the copies raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(10)
            inbound_sms.sms_receive(from_number=PHONE, body=body, provider_id=sid)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def replies() -> list[str]:
    return list(OutboundMessage.objects.filter(kind="reply").values_list("body", flat=True))


def test_copies_of_one_text_at_once_act_once_and_the_copy_that_acted_answers(booked):
    errors = copies_at_once(COPIES)

    assert not errors, errors
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    inbound = InboundMessage.objects.get()
    assert (inbound.action, inbound.reservation_id) == ("cancelled", booked.pk)
    [reply] = replies()
    assert inbound.reply.body == reply and "скасовано" in reply  # the cancellation, in Ukrainian


def test_control_without_the_claim_the_copy_that_did_nothing_stores_its_row_and_replies(booked, monkeypatch):
    # The old order: decide first, store after (an unsaved row stands in for the claim).
    monkeypatch.setattr(inbound_sms, "inbound_claim", lambda *, from_number, body, provider_id, now:
                        InboundMessage(from_number=from_number, body=body, provider_id=provider_id,
                                       received_at=now))

    errors = copies_at_once(COPIES)

    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert InboundMessage.objects.get().action == "nothing_to_answer", "the control must really race"
    # The others, the copy that cancelled among them, lost the insert (the old code then returned that row).
    assert len(errors) == COPIES - 1 and all(type(e).__name__ == "IntegrityError" for e in errors), errors
    [reply] = replies()
    assert "скасовано" not in reply  # "we found no upcoming booking": to the guest whose text cancelled it
