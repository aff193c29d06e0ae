"""Outbound guest SMS through an outbox: nothing lost when the broker is down, nothing sent twice.

1. `message_queue` writes the message row inside the event's own transaction (the booking's, the
   waitlist's) and asks for `send_sms_task` only once that transaction commits.
2. `sms_send` (the task's one line of work) claims the row with a conditional UPDATE pending → sending:
   however many copies of the task run, at once or one after another, only one wins the claim and hands
   the text to the backend. A provider error puts it back to pending with an exponential backoff; the
   last attempt leaves it `failed`, for staff to see in the admin.
3. The provider's id (Twilio's message SID) is written in its own UPDATE the moment the provider answers,
   before the `sent` mark: it is the reference the provider keeps too.
4. `sms_redispatch` (beat) sends again whatever is still pending well after it was due: its task never
   reached a worker because the broker was down when the event committed. A claim whose worker died (or
   lost the database) before handing the text to the provider goes back to pending and is sent too. One
   that died after the hand-over is settled by what the provider has (`messages_reconcile`): with its id
   stored it is sent (only the mark was lost); without, it is `unknown` until the provider's list of
   messages to that number in the hand-over's window shows it (sent) or, once the list can be trusted,
   does not (sent again, once). A provider that cannot be asked leaves it unknown, asked again later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from cxhost.redis_guard import task_send

from .. import engine, selectors
from ..errors import InvalidTransition, MessageFateUnknown, NoSmsNumber
from ..models import Guest, OutboundMessage, Reservation, Restaurant, WaitlistEntry
from .sms_backends import Sms, SmsProviderError, sms_backend
from .sms_texts import guest_page_url, sms_text
from .waitlist import waitlist_expire

logger = logging.getLogger(__name__)

Kind = OutboundMessage.Kind
Status = OutboundMessage.Status
Fate = OutboundMessage.Fate


def can_text(guest: Guest | None) -> bool:
    """We text a guest who gave a phone and never said STOP."""
    return guest is not None and bool(guest.phone) and not guest.sms_opt_out


def restaurant_sender(restaurant: Restaurant) -> str:
    """Who a restaurant's texts come from: its own number or messaging service, else the shared `TWILIO_FROM`.
    Recorded on each outbox row, so a guest's reply to that sender finds this restaurant's questions."""
    return restaurant.sms_sender or settings.TWILIO_FROM


def sms_opted_out(*, to, guest_id: int | None) -> bool:
    """Checked again when sending: the guest or the number may have said STOP since the message was queued."""
    if guest_id is not None and Guest.objects.filter(pk=guest_id, sms_opt_out=True).exists():
        return True
    return selectors.number_opted_out(to)


def reply_queue(
    *, restaurant: Restaurant, to: str, guest: Guest | None, text: str, about: Reservation | None = None,
    kind: str = Kind.REPLY, now: datetime | None = None, sender: str | None = None,
) -> OutboundMessage | None:
    """Answer a guest's text through the outbox, in the restaurant's language; `text` names one of the
    `reply_*` texts, `about` is the booking whose date and time it mentions.

    Inside the caller's transaction, like `message_queue`. An opted-out number gets nothing but the
    acknowledgement of its STOP (`kind=stop_reply`). Replies are not tied to the booking's row: a guest may
    answer C and then X, and each answer gets its own reply. `sender`: the number the guest texted, which the
    answer comes from (the restaurant's own sender when not given).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reply_queue must run inside the transaction that records the guest's text")
    if kind != Kind.STOP_REPLY and (selectors.number_opted_out(to) or (guest is not None and guest.sms_opt_out)):
        return None
    start = about.start.astimezone(restaurant.tz) if about is not None else None
    body = sms_text(language=restaurant.language, kind=f"reply_{text}", restaurant_name=restaurant.name,
                    start_local=start, party_size=about.party_size if about is not None else None)
    message = OutboundMessage.objects.create(
        restaurant=restaurant, guest=guest, to=to, kind=kind, body=body, next_attempt_at=now or timezone.now(),
        sender=restaurant_sender(restaurant) if sender is None else sender)
    transaction.on_commit(lambda: sms_dispatch(message_id=message.pk))
    return message


def message_queue(
    *, restaurant: Restaurant, guest: Guest | None, kind: str, reservation: Reservation | None = None,
    waitlist_entry: WaitlistEntry | None = None, now: datetime | None = None, new_reservation: bool = False,
) -> OutboundMessage | None:
    """Put a `kind` message for the guest in the outbox; its task is sent when the transaction commits.

    Must be called inside the event's transaction, so the message exists exactly when the event does.
    Returns None for a guest we may not text, or when this reservation or entry already has its `kind`.
    `new_reservation`: the reservation was written in this very transaction, so it has no message yet and no
    duplicate can meet the insert: no savepoint for one (two round trips fewer under the booking's day lock).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("message_queue must run inside the event's transaction")
    if not can_text(guest):
        return None
    start = reservation.start.astimezone(restaurant.tz) if reservation is not None else None
    body = sms_text(language=restaurant.language, kind=kind, restaurant_name=restaurant.name, start_local=start,
                    party_size=reservation.party_size if reservation is not None else None,
                    link=guest_page_url(reservation.guest_token) if reservation is not None else "")
    try:
        # A savepoint: a duplicate must not spoil the event's transaction (none can meet a new reservation).
        with transaction.atomic(savepoint=not new_reservation):
            message = OutboundMessage.objects.create(
                restaurant=restaurant, guest=guest, reservation=reservation, waitlist_entry=waitlist_entry,
                to=guest.phone, kind=kind, body=body, next_attempt_at=now or timezone.now(),
                sender=restaurant_sender(restaurant),
            )
    except IntegrityError:
        return None  # at most one message of a kind per reservation or entry: it is queued already
    transaction.on_commit(lambda: sms_dispatch(message_id=message.pk))
    return message


def sms_dispatch(*, message_id: int) -> bool:
    """Hand the message's task to the broker, waiting at most REDIS_TIMEOUT_SECONDS. A broker that is down or
    hung loses nothing: the row is still pending, and `sms_redispatch` sends it once the broker is back. Never
    raises: the event has committed."""
    from ..tasks import send_sms_task

    return task_send(send_sms_task, (message_id,), what=f"SMS {message_id} left pending for beat")


@dataclass(frozen=True)
class RetryLater(Exception):
    """A provider error with attempts left: try again in `seconds`."""

    seconds: int


def retry_delay(attempts: int) -> int:
    """Exponential backoff after the `attempts`-th failed attempt: base, 2×base, 4×base …"""
    return settings.SMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)


def sms_send(*, message_id: int) -> str:
    """Send one outbox message if nobody has; return its status afterwards ("skipped" if not ours).

    Raises `RetryLater` after a provider error with attempts left. Holds no transaction across the
    provider call: each step is one UPDATE, conditional on the step before, so a worker dying mid-way
    leaves the row `sending` (see `sms_redispatch`), never sent twice. A request that may have reached the
    provider without an answer (a time-out) leaves it `unknown`, for `messages_reconcile` to settle.
    """
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(pk=message_id, status=Status.PENDING).update(
        status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now, handed_at=None
    )
    if not claimed:
        return "skipped"  # sent, failed, or being sent by another worker
    message = OutboundMessage.objects.get(pk=message_id)
    # This claim, not just any: if beat took back a claim that stalled before the hand-over and another worker
    # claimed it afresh, this one's later steps change nothing.
    mine = OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING, claimed_at=now)
    if message.kind != Kind.STOP_REPLY and sms_opted_out(to=message.to, guest_id=message.guest_id):
        # Queued before the guest said STOP (a confirmation waiting for the broker): it never goes.
        mine.update(status=Status.WITHHELD, last_error="The guest opted out of SMS before it was sent.")
        return Status.WITHHELD
    # The point of no return, recorded before it is passed: until here a dead worker has sent nothing, and beat
    # may safely send the message again; from here it may have gone out.
    if not mine.filter(handed_at__isnull=True).update(handed_at=timezone.now()):
        return "skipped"
    try:
        provider_id = sms_backend().send(_sms(message))
    except Exception as exc:  # provider errors, and anything else: a message is never left hanging
        permanent = isinstance(exc, SmsProviderError) and exc.permanent
        error = str(exc) if isinstance(exc, SmsProviderError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SmsProviderError) and exc.unknown:
            # It may have gone out: retrying could send it twice, so the provider is asked first.
            mine.update(status=Status.UNKNOWN, fate=Fate.ASKING, last_error=error[:2000])
            logger.warning("SMS %s: outcome unknown (%s); beat asks the provider", message_id, error)
            return Status.UNKNOWN
        if permanent or message.attempts >= settings.SMS_MAX_ATTEMPTS:
            mine.update(status=Status.FAILED, failed_at=timezone.now(), last_error=error[:2000])
            logger.error("SMS %s failed after %s attempt(s): %s", message_id, message.attempts, error)
            return Status.FAILED
        delay = retry_delay(message.attempts)
        mine.update(status=Status.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=delay),
                    last_error=error[:2000])
        raise RetryLater(delay) from exc
    # The provider's reference first, alone: should the worker die or lose the database before the `sent` mark,
    # beat finds the id and marks it sent, never sends it again. `unknown` too: beat may have given up on a
    # worker this slow, and the provider's own answer settles it.
    answered = OutboundMessage.objects.filter(pk=message_id, claimed_at=now, status__in=[Status.SENDING,
                                                                                          Status.UNKNOWN])
    answered.update(provider_id=provider_id[:64])
    if settings.CXHOST_SMS_SENT_MARK_DELAY_MS:  # a test seam: the gap a worker can be killed in
        time.sleep(settings.CXHOST_SMS_SENT_MARK_DELAY_MS / 1000)
    answered.update(status=Status.SENT, sent_at=timezone.now(), last_error="",
                    fate=Case(When(status=Status.UNKNOWN, then=Value(Fate.FOUND)), default=F("fate")))
    return Status.SENT


def _sms(message: OutboundMessage) -> Sms:
    return Sms(to=str(message.to), body=message.body, kind=message.kind, reservation=message.reservation_id,
               sender=message.sender)


def sms_redispatch(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat's safety net: dispatch messages still pending well after they were due; return how many.

    Also settles messages a worker claimed and never finished. Never handed to the provider (the worker died,
    or lost the database, before it sent anything): back to pending, sent now — the claim's attempt is given
    back, a crash is not the provider's failure. Handed over (it died mid-send): with the provider's id stored,
    the provider has it and only the `sent` mark was lost; without, its fate is unknown, and the provider is
    asked (`messages_reconcile`) rather than the text sent a second time or given up on.
    """
    now = now or timezone.now()
    OutboundMessage.objects.filter(
        status=Status.SENDING, handed_at__isnull=True,
        claimed_at__lte=now - timedelta(seconds=settings.SMS_CLAIM_STUCK_SECONDS),
    ).update(status=Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=F("claimed_at"),
             last_error="The worker stopped before sending; sent again.")
    stuck = OutboundMessage.objects.filter(
        status=Status.SENDING, handed_at__isnull=False,
        claimed_at__lte=now - timedelta(seconds=settings.SMS_SENDING_STUCK_SECONDS),
    )
    stuck.exclude(provider_id="").update(status=Status.SENT, sent_at=F("handed_at"), last_error="")
    stuck.filter(provider_id="").update(status=Status.UNKNOWN, fate=Fate.ASKING, last_error="")
    messages_reconcile(now=now)
    overdue = list(
        OutboundMessage.objects.filter(
            status=Status.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=settings.SMS_REDISPATCH_AFTER_SECONDS),
        ).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    return sum(sms_dispatch(message_id=pk) for pk in overdue)


def messages_reconcile(*, now: datetime | None = None, limit: int = 100) -> int:
    """Settle messages of unknown fate by what the provider has; return how many were settled. Run by beat.

    For each, the provider is asked for its messages to that number sent from a little before the hand-over
    until now, with the same body, leaving out any whose id another message of ours holds. Found: `sent`,
    with the provider's id (and its delivery, if final). Not found, once `SMS_LOOKUP_GRACE_SECONDS` have
    passed since the hand-over (the provider's list is eventually consistent): it never got it, so back to
    pending and sent once. Not found sooner, or the provider not answering: still unknown, asked again on
    beat's next run. A backend that cannot be asked (the console) leaves it unknown, for staff.
    """
    now = now or timezone.now()
    unknown = OutboundMessage.objects.filter(status=Status.UNKNOWN)
    if not unknown.exists():
        return 0
    backend = sms_backend()
    if not hasattr(backend, "lookup"):
        unknown.exclude(fate=Fate.CANNOT_ASK).update(fate=Fate.CANNOT_ASK, fate_checked_at=now)
        return 0
    settled = 0
    margin = timedelta(seconds=settings.SMS_LOOKUP_MARGIN_SECONDS)
    grace = timedelta(seconds=settings.SMS_LOOKUP_GRACE_SECONDS)
    for message in unknown.order_by(F("fate_checked_at").asc(nulls_first=True), "pk")[:limit]:
        this = OutboundMessage.objects.filter(pk=message.pk, status=Status.UNKNOWN)
        try:
            found = backend.lookup(_sms(message), sent_between=(message.handed_at - margin, now + margin))
        except Exception as exc:  # the provider's errors, and anything else: the sweep goes on to the next
            error = str(exc) if isinstance(exc, SmsProviderError) else f"{type(exc).__name__}: {exc}"
            this.update(fate=Fate.UNREACHABLE, fate_checked_at=now, last_error=error[:2000])
            logger.warning("SMS %s of unknown fate: the provider could not be asked (%s)", message.pk, exc)
            continue
        held = set(OutboundMessage.objects.filter(provider_id__in=[m.id[:64] for m in found])
                   .exclude(pk=message.pk).values_list("provider_id", flat=True))
        theirs = [m for m in found if m.id[:64] not in held]
        if theirs:
            match = theirs[-1]  # listed newest first: the earliest after the hand-over
            delivery = DELIVERY.get(match.status.lower(), "")
            settled += this.update(status=Status.SENT, provider_id=match.id[:64], fate=Fate.FOUND,
                                   fate_checked_at=now, sent_at=match.sent_at or message.handed_at, last_error="",
                                   delivery=delivery, delivery_at=now if delivery else None)
        elif now - message.handed_at >= grace:
            # The crash used no attempt of the provider's; `handed_at` stays until the new claim clears it.
            if this.update(status=Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=now,
                           fate=Fate.RESENT, fate_checked_at=now,
                           last_error="The provider never got it; sent again."):
                settled += 1
                sms_dispatch(message_id=message.pk)
        else:
            this.update(fate=Fate.ASKING, fate_checked_at=now)
    return settled


def message_retry(*, message: OutboundMessage, now: datetime | None = None) -> bool:
    """Staff send a failed message again (the number is fixed, the provider is back): a fresh set of attempts.

    Only a failed message: a pending or sending one is on its way, a sent one has arrived. One of unknown fate
    may have arrived: refused with `MessageFateUnknown` until the provider has been asked.
    """
    now = now or timezone.now()
    if OutboundMessage.objects.filter(pk=message.pk, status=Status.UNKNOWN).exists():
        raise MessageFateUnknown()
    with transaction.atomic(durable=True):
        retried = OutboundMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=now, failed_at=None
        )
        if retried:
            transaction.on_commit(lambda: sms_dispatch(message_id=message.pk))
    return bool(retried)


# Twilio's final MessageStatus values; the rest (queued, sending, sent …) are on the way and change nothing.
DELIVERY = {"delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "undelivered"}


def message_delivery_record(*, provider_id: str, status: str, error_code: str = "",
                            now: datetime | None = None) -> bool:
    """Record what the provider says became of a text we handed it; return whether a message changed.

    Callbacks arrive out of order and more than once: only a final status is kept, and once a message is
    known delivered a late "undelivered" does not undo it. An unknown id changes nothing.
    """
    delivery = DELIVERY.get(status.strip().lower())
    if not provider_id or delivery is None:
        return False
    messages = OutboundMessage.objects.filter(provider_id=provider_id[:64]).exclude(delivery="delivered")
    changes = {"delivery": delivery, "delivery_at": now or timezone.now()}
    if delivery == "undelivered":
        changes["last_error"] = f"Not delivered to the phone (provider status {status}, error {error_code or '—'})."
    return bool(messages.update(**changes))


# --- the kinds ----------------------------------------------------------------------------------------


def reminders_queue(*, now: datetime | None = None) -> int:
    """Queue the reminder of every booking starting within the next `SMS_REMINDER_HOURS`; return how many.

    Never for a booking made inside that window (the confirmation just told them). Run by beat.
    """
    now = now or timezone.now()
    lead = timedelta(hours=settings.SMS_REMINDER_HOURS)
    due = (
        Reservation.objects.filter(
            status__in=[Reservation.Status.BOOKED, Reservation.Status.CONFIRMED],
            start__gt=now, start__lte=now + lead, created_at__lte=F("start") - lead,
            guest__phone__isnull=False, guest__sms_opt_out=False,
        )
        .exclude(messages__kind=Kind.REMINDER)
        .select_related("restaurant", "guest")
    )
    queued = 0
    for reservation in due:
        with transaction.atomic(durable=True):
            queued += message_queue(restaurant=reservation.restaurant, guest=reservation.guest, kind=Kind.REMINDER,
                                    reservation=reservation, now=now) is not None
    return queued


def thank_yous_queue(*, now: datetime | None = None) -> int:
    """Queue a thank-you for each visit completed the service day before, from `SMS_THANK_YOU_HOUR` local
    time the next morning; once per visit, and not at all if that day was missed. Run by beat."""
    now = now or timezone.now()
    recent = (
        Reservation.objects.filter(
            status=Reservation.Status.COMPLETED, completed_at__gte=now - timedelta(hours=60),
            guest__phone__isnull=False, guest__sms_opt_out=False,
        )
        .exclude(messages__kind=Kind.THANK_YOU)
        .select_related("restaurant", "guest")
    )
    queued = 0
    for reservation in recent:
        restaurant = reservation.restaurant
        local_now = now.astimezone(restaurant.tz)
        visit_day = engine.service_day(selectors.restaurant_config(restaurant), reservation.start)
        if local_now.date() != visit_day + timedelta(days=1) or local_now.hour < settings.SMS_THANK_YOU_HOUR:
            continue
        with transaction.atomic(durable=True):
            queued += message_queue(restaurant=restaurant, guest=reservation.guest, kind=Kind.THANK_YOU,
                                    reservation=reservation, now=now) is not None
    return queued


def waitlist_notify(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """Text a waiting party that their table is ready, and record when they were told.

    Once per party: telling them again sends nothing new and keeps the first moment.
    """
    now = now or timezone.now()
    # Before the transaction, as for seating: a party gone with its service is not texted.
    waitlist_expire(restaurant=entry.restaurant, now=now)
    with transaction.atomic(durable=True):
        # `of=("self",)`: the guest is a nullable join, and PostgreSQL cannot lock the outer side of one.
        current = (WaitlistEntry.objects.select_for_update(of=("self",)).select_related("guest", "restaurant")
                   .get(pk=entry.pk))
        if current.status != WaitlistEntry.Status.WAITING:
            raise InvalidTransition(f"This party is no longer waiting ({current.status}).")
        if not can_text(current.guest):
            raise NoSmsNumber()
        if current.notified_at is None:
            current.notified_at = now
            current.save(update_fields=["notified_at"])
            message_queue(restaurant=current.restaurant, guest=current.guest, kind=Kind.TABLE_READY,
                          waitlist_entry=current, now=now)
    return current
