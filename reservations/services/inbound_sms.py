"""Texts from guests (Twilio's inbound webhook): a reply answers the latest question we sent that number.

- A text is read as one answer word (`answer_word`): case, spaces and a trailing "." or "!" do not matter,
  and a lone Cyrillic С or Х (a Ukrainian keyboard's look-alikes) reads as C or X.
- STOP and START speak for the number: every guest profile with that phone, in every group, and any profile
  made later (`selectors.number_opted_out`). A STOP is acknowledged once; after it nothing else goes out
  until START, even a message already queued (`messaging.sms_send` withholds it).
- A reply answers the restaurant it was sent to: only our texts from the sender the guest texted (Twilio's
  `To`, or the messaging service it belongs to: a restaurant's own sender, else the shared one) are read. On a
  sender several restaurants share, open questions from more than one of them make the reply ambiguous: it is
  answered with a question (`reply_ambiguous`) and does nothing, never guessed.
- Otherwise the latest question we sent the number from that sender that can still be answered decides:
  `QUESTIONS` maps a
  question's kind to when it is open and what an answer does. To a confirmation or a reminder, yes confirms
  and no cancels, through `reservation_transition`, the API's own service (a cancellation frees the table
  at once). The recovery app registers one more entry, for `recovery_offer` (see `recovery.hooks`).
- Anything else gets a short help reply, never an error. A number we never texted gets no reply: we know no
  restaurant or language for it, and answering strangers invites SMS pumping. Every text is stored.
- A text belongs to its restaurant and is linked to that group's profiles of the number only (the same phone
  in another group is another group's guest: its export and erasure never see this text); an ambiguous one
  belongs to none.

Replies go out through the outbox (`messaging.reply_queue`), not in the webhook's answer: they are then
retried, recorded and subject to opt-out like every other text.

A text Twilio delivers twice (its MessageSid again, at once or later) is claimed before it is acted on: the
copy whose claim commits first acts, owns the stored row and sends the one reply; every other copy acts on
nothing and answers Twilio as if all went well. Deciding first and storing after let a copy that found its
work already done (`nothing_to_answer`) store its row and reply before the copy that cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import selectors
from ..errors import BookError, InvalidTransition
from ..models import Guest, InboundMessage, OutboundMessage, Reservation
from .booking import reservation_transition
from .messaging import reply_queue

Action = InboundMessage.Action
Kind = OutboundMessage.Kind

YES, NO, STOP, START = "yes", "no", "stop", "start"
WORDS = {
    "C": YES, "YES": YES, "ТАК": YES, "ДА": YES,
    "X": NO, "CANCEL": NO, "НІ": NO, "НЕТ": NO,
    "STOP": STOP, "START": START,
}
LOOKALIKES = str.maketrans({"С": "C", "Х": "X"})  # Cyrillic Es and Ha


def answer_word(body: str) -> str | None:
    """`yes`, `no`, `stop`, `start`, or None for a text that is none of them."""
    word = "".join(body.split()).upper().rstrip(".!")
    if len(word) == 1:
        word = word.translate(LOOKALIKES)
    return WORDS.get(word)


@dataclass(frozen=True)
class Outcome:
    action: str  # an InboundMessage.Action
    text: str | None  # the `reply_*` text to answer with, or None for no reply
    reservation: Reservation | None = None


@dataclass(frozen=True)
class Question:
    """A kind of text that asks the guest something: when it is still open, and what an answer does."""

    # On OutboundMessage at `now`: the question may still be answered. The application's clock, never the
    # database's: the two differ (a test's travelled clock, a node's drift), and one answer must use one.
    open: Callable[[datetime], Q]
    answer: Callable[..., Outcome]  # (question=OutboundMessage, word=str | None, now=datetime) -> Outcome


def booking_answer(*, question: OutboundMessage, word: str | None, now: datetime) -> Outcome:
    """To a confirmation or reminder: yes confirms the booking, no cancels it."""
    reservation = question.reservation
    if word not in (YES, NO):
        return Outcome(Action.HELP, "help", reservation)
    if word == YES and reservation.status == Reservation.Status.CONFIRMED:
        return Outcome(Action.ALREADY, "already", reservation)
    action = "confirm" if word == YES else "cancel"
    try:
        done = reservation_transition(reservation=reservation, action=action, now=now)
    except InvalidTransition:
        # Staff moved it on between our look and the lock (seated, cancelled): nothing left to answer.
        return Outcome(Action.NOTHING_TO_ANSWER, "nothing_to_answer", reservation)
    except BookError:
        # The day's book is busy or the like: the guest may simply reply again.
        return Outcome(Action.NOT_DONE, "not_done", reservation)
    if word == YES:
        return Outcome(Action.CONFIRMED, "confirmed", done)
    return Outcome(Action.CANCELLED, "cancelled", done)


def _booking_open(now: datetime) -> Q:
    return Q(reservation__status__in=[Reservation.Status.BOOKED, Reservation.Status.CONFIRMED])


QUESTIONS: dict[str, Question] = {
    Kind.CONFIRMATION: Question(open=_booking_open, answer=booking_answer),
    Kind.REMINDER: Question(open=_booking_open, answer=booking_answer),
}


def phone_e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_receive(*, from_number: str, body: str, provider_id: str = "", to_number: str = "", service: str = "",
                now: datetime | None = None) -> InboundMessage:
    """Act on a guest's text to `to_number` (of messaging service `service`, if any), store it with what it did,
    and queue our reply. Never raises for what a guest may write. The same `provider_id` twice (Twilio
    redelivering) is acted on once.

    A confirm or cancel runs first, in `reservation_transition`'s own durable transaction (it takes the day
    lock); the record of the text and our reply then commit together in a second one.
    """
    now = now or timezone.now()
    # A NUL never comes from a phone, and PostgreSQL's text cannot hold one.
    from_number, body, provider_id, to_number, service = (
        v.replace("\x00", "") for v in (from_number, body, provider_id[:64], to_number[:40], service[:34]))
    if provider_id and (seen := selectors.inbound_by_provider_id(provider_id)) is not None:
        return seen
    phone = phone_e164(from_number)
    claim = None
    if provider_id:
        claim = inbound_claim(from_number=(phone or from_number)[:40], body=body, provider_id=provider_id, now=now)
        if claim is None:  # another copy of this text claimed it first: it acts and answers
            return selectors.inbound_by_provider_id(provider_id)
    word = answer_word(body)
    question = restaurant = last = None
    guests: list[Guest] = []
    if phone is None:
        outcome = Outcome(Action.UNKNOWN_NUMBER, None)
    else:
        senders = selectors.reply_senders(phone_e164(to_number) or to_number, service)
        questions = {kind: q.open(now) for kind, q in QUESTIONS.items()}
        question = selectors.latest_question_to(phone, questions, senders=senders)
        last = question or selectors.latest_message_to(phone, senders=senders)
        restaurant = last.restaurant if last is not None else None
        if word == STOP:
            # Acknowledged once: a second STOP from a silent number gets silence.
            outcome = Outcome(Action.OPTED_OUT, None if selectors.number_opted_out(phone) else "stop")
        elif word == START:
            outcome = Outcome(Action.OPTED_IN, "start")
        elif question is not None and len(selectors.questions_restaurants(phone, questions, senders=senders)) > 1:
            # A shared sender, and two restaurants asking: whichever we picked, a guest's X could cancel a
            # booking they never meant.
            outcome, question, restaurant = Outcome(Action.AMBIGUOUS, "ambiguous"), None, None
        elif question is not None:
            outcome = QUESTIONS[question.kind].answer(question=question, word=word, now=now)
        elif last is None:
            outcome = Outcome(Action.UNKNOWN_NUMBER, None)
        else:
            outcome = Outcome(Action.HELP if word is None else Action.NOTHING_TO_ANSWER,
                              "help" if word is None else "nothing_to_answer")
        if restaurant is not None:
            guests = selectors.guests_with_phone(phone, group_id=restaurant.group_id)
    with transaction.atomic(durable=True):
        if outcome.action in (Action.OPTED_OUT, Action.OPTED_IN):
            opted_out = outcome.action == Action.OPTED_OUT
            # The number's word, for every group's profile of it; row by row, so each profile's audit history
            # records the guest's STOP or START.
            for guest in Guest.objects.filter(phone=phone).exclude(sms_opt_out=opted_out):
                guest.sms_opt_out = opted_out
                guest.save(update_fields=["sms_opt_out"])
            for guest in guests:
                guest.sms_opt_out = opted_out
        inbound = claim or InboundMessage(from_number=(phone or from_number)[:40], body=body, received_at=now)
        inbound.to_number = to_number
        inbound.restaurant = restaurant
        inbound.answered = question if outcome.action not in (Action.OPTED_OUT, Action.OPTED_IN) else None
        inbound.reservation = outcome.reservation
        inbound.action = outcome.action
        inbound.save()
        inbound.guests.set(guests)
        # An ambiguous text belongs to no restaurant; its question goes in the language of the latest to ask.
        speaker = restaurant or (last.restaurant if last is not None else None)
        if outcome.text is not None and speaker is not None:
            about = outcome.reservation
            inbound.reply = reply_queue(
                restaurant=speaker, to=phone, text=outcome.text, about=about, now=now, sender=last.sender,
                guest=about.guest if about is not None else (guests[0] if len(guests) == 1 else None),
                kind=Kind.STOP_REPLY if outcome.action == Action.OPTED_OUT else Kind.REPLY,
            )
            if inbound.reply is not None:
                inbound.save(update_fields=["reply"])
    return inbound


def inbound_claim(*, from_number: str, body: str, provider_id: str, now: datetime) -> InboundMessage | None:
    """Store a text as `received` before anything is done for it, in its own committed transaction; None when
    a copy with the same `provider_id` holds it already (the unique constraint decides, also between
    processes: PostgreSQL makes a second insert wait for the first to commit, then refuses it)."""
    try:
        with transaction.atomic(durable=True):
            return InboundMessage.objects.create(from_number=from_number, body=body, provider_id=provider_id,
                                                 received_at=now, action=Action.RECEIVED)
    except IntegrityError:
        return None
