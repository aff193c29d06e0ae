"""A turned-away guest answers our offer: the first YES books the held table, atomically.

`offer_answer` is the inbound-SMS question for kind `recovery_offer` (registered in `recovery.apps`). A YES
runs `offer_take`: under the restaurant-day lock, a conditional update pending → taken claims the offer (so
however many YES texts arrive at once, one wins), the engine checks the held tables are still free for the
party, and the booking is written through the book's own locked step (`reservation_write`) with its
confirmation text. The case is resolved with the booking as `won_back`; the guest's complimentary dessert
is queued by a task once the booking has committed (`gesture_offer`, occasion `won_back`).

A YES after the offer lapsed still gets the table while it is free (nobody else holds or booked it); when it
has gone (to the next guest, or booked from the book) the guest is told so kindly, and the case stays open, on
the managers' list, with an `offer_gone` step. Once a YES has taken the table, the guests who were next in line
for it are told so too (`offers_gone.gone_tell`); a YES to that text gets the same kind answer (`gone_answer`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cxhost.redis_guard import task_send
from reservations import engine, selectors
from reservations.errors import BookError
from reservations.models import Gesture, InboundMessage, OutboundMessage, Reservation, StaffNote
from reservations.services.booking import reservation_write, service_day
from reservations.services.gestures import gesture_offer
from reservations.services.guests import GuestDetails, guest_resolve
from reservations.services.inbound_sms import NO, QUESTIONS, YES, Outcome
from reservations.services.locking import for_update, require_book_lock
from reservations.services.messaging import message_queue
from reservations.services.preparation import guest_preparation_send

from ..models import CaseAction, RecoveryCase, RecoveryOffer
from .cases import case_act, case_close
from .offers import lock_service, offer_lapse, offers_make_locked
from .offers_gone import gone_tell

Action = InboundMessage.Action
OfferStatus = RecoveryOffer.Status
Step = CaseAction.Kind


def offer_answer(*, question: OutboundMessage, word: str | None, now: datetime) -> Outcome:
    """To a recovery offer: YES takes the table, X (or НІ, НЕТ) lets it go to the next guest."""
    offer = RecoveryOffer.objects.filter(message=question).select_related("restaurant", "case").first()
    if offer is None:
        return Outcome(Action.NOTHING_TO_ANSWER, "nothing_to_answer")
    if word == YES:
        return offer_take(offer=offer, now=now)
    if word == NO:
        return offer_decline(offer=offer, now=now)
    return Outcome(Action.HELP, "offer_help")


def gone_answer(*, question: OutboundMessage, word: str | None, now: datetime) -> Outcome:
    """To a `recovery_gone` text: the table has gone and they are still on the list — never a booking, never an
    error. That text asks nothing, so a question still open from before (a booking's reminder, another day)
    takes the answer: its C or X must not be swallowed by a "sorry"."""
    others = {kind: q.open(now) for kind, q in QUESTIONS.items() if kind != OutboundMessage.Kind.RECOVERY_GONE}
    earlier = selectors.latest_question_to(question.to, others, senders=selectors.reply_senders(question.sender))
    if earlier is not None and word is not None:
        return QUESTIONS[earlier.kind].answer(question=earlier, word=word, now=now)
    return Outcome(Action.OFFER_GONE if word == YES else Action.NOTHING_TO_ANSWER, "gone_listed")


def _claim(offer: RecoveryOffer, now: datetime) -> bool:
    """→ taken, conditionally on the status just read: of all the YES texts racing for one offer, one claims it."""
    offers = RecoveryOffer.objects.filter(pk=offer.pk)
    if not settings.CXHOST_UNSAFE_SKIP_BOOKING_LOCK:  # the concurrency proof's control run claims blindly
        offers = offers.filter(status=offer.status)
    return bool(offers.update(status=OfferStatus.TAKEN, answered_at=now))


def offer_take(*, offer: RecoveryOffer, now: datetime | None = None) -> Outcome:
    """The guest's YES: book the held table for them, or tell them kindly it has gone."""
    now = now or timezone.now()
    restaurant = offer.restaurant
    day = service_day(restaurant, offer.start)
    try:
        with transaction.atomic(durable=True):
            lock_service(restaurant, day)
            # Re-read under the lock: another YES, or the expiry, may have settled it a moment ago.
            current = for_update(RecoveryOffer.objects.select_related("case", "case__refusal"), of=("self",)
                                 ).get(pk=offer.pk)
            current.restaurant = restaurant
            if offer_settle_own_booking(offer=current, now=now):
                current.refresh_from_db(fields=["status", "reservation"])
            if current.status == OfferStatus.TAKEN and current.reservation_id is not None:
                # Their own YES again (a double tap, Twilio retrying): the table is theirs already.
                return Outcome(Action.ALREADY, "already", selectors.reservation_get(current.reservation_id))
            # Still pending (a few seconds late, before the expiry ran): the table was kept for them, it is theirs.
            # Lapsed: theirs all the same while it is still free — not held for the next guest, nor booked.
            late = current.status == OfferStatus.EXPIRED
            if late and current.case.offers.filter(status=OfferStatus.PENDING).exists():
                return _gone(current, now=now, why="another table is on offer to them now")
            if current.status not in (OfferStatus.PENDING, OfferStatus.EXPIRED):
                return _gone(current, now=now, why="the offer was withdrawn")
            tables = list(current.tables.order_by("pk"))
            plan = selectors.day_plan(restaurant, day, held_for=str(current.case.refusal.guest_phone))
            decision = engine.decide_seating(
                plan, party_size=current.party_size, start=current.start, end=current.end, now=now,
                tables=engine.seating_of([(t.pk, t.name, t.min_covers, t.max_covers) for t in tables]))
            if not decision.available and late:
                return _gone(current, now=now, why="the offer had lapsed and the table had gone")
            if not decision.available:
                # The hold kept others off it; only a change to the set-up (a table retired) gets here.
                RecoveryOffer.objects.filter(pk=current.pk, status=OfferStatus.PENDING).update(
                    status=OfferStatus.WITHDRAWN, answered_at=now)
                RecoveryCase.objects.filter(pk=current.case_id, status=RecoveryCase.Status.OFFERED).update(
                    status=RecoveryCase.Status.OPEN)
                return _gone(current, now=now, why="the table could no longer be given")
            if not _claim(current, now):
                return _gone(current, now=now, why="another answer took it first")
            reservation = _book(current, decision, now=now)
    except BookError:
        # The day's book is busy: nothing was claimed, the guest may simply reply again.
        return Outcome(Action.NOT_DONE, "not_done")
    return Outcome(Action.OFFER_TAKEN, None, reservation)


def _book(offer: RecoveryOffer, decision: engine.Decision, *, now: datetime) -> Reservation:
    """Write the won-back booking and settle the case. Holding the day lock, inside `offer_take`'s transaction."""
    restaurant = offer.restaurant
    refusal = offer.case.refusal
    guest = guest_resolve(group=restaurant.group, details=GuestDetails(name=refusal.guest_name,
                                                                       phone=refusal.guest_phone))
    asked = refusal.start.astimezone(restaurant.tz)
    reservation = reservation_write(
        restaurant=restaurant, decision=decision, party_size=offer.party_size, channel=Reservation.Channel.PHONE,
        guest=guest, by=None, now=now,
        notes=f"Won back: turned away for {asked:%H:%M}, took a freed table by SMS. Present their dessert yourself.",
    )
    RecoveryOffer.objects.filter(pk=offer.pk).update(reservation=reservation)
    message_queue(restaurant=restaurant, guest=guest, kind=OutboundMessage.Kind.CONFIRMATION,
                  reservation=reservation, now=now, new_reservation=True)
    guest_preparation_send(reservation)
    late = " after the offer had lapsed; the table was still free" if offer.status == OfferStatus.EXPIRED else ""
    return _won_back(offer, reservation, now=now,
                     taken=f"Replied YES{late}: booked for {reservation.start.astimezone(restaurant.tz):%H:%M}.",
                     closed="Won back: the guest took a freed table.")


def _won_back(offer: RecoveryOffer, reservation: Reservation, *, now: datetime, taken: str, closed: str
              ) -> Reservation:
    """The offer's guest has the table: their case (and any sibling) resolved as won back, the others in line
    told it has gone, and the dessert queued once this commits."""
    case_act(case=offer.case, kind=Step.OFFER_TAKEN, now=now, note=taken)
    case_close(case=offer.case, status=RecoveryCase.Status.RESOLVED, won_back=reservation, now=now, note=closed)
    _siblings_close(offer, reservation, now=now)
    gone_tell(offer=offer, reservation=reservation, now=now)
    pk = reservation.pk
    transaction.on_commit(lambda: _dessert_send(pk), robust=True)
    return reservation


def own_booking(offer: RecoveryOffer) -> Reservation | None:
    """A booking the guest made themselves on the offer's day since we turned them away (online, by phone, at
    the desk: the table held for them is theirs to book), if any."""
    refusal = offer.case.refusal
    config = selectors.restaurant_config(offer.restaurant)
    start, end = selectors.day_bounds(config, service_day(offer.restaurant, offer.start))
    return (Reservation.objects.filter(
        # A proven phone only: an anonymous booking that typed the number is not the guest winning her table back.
        restaurant_id=offer.restaurant_id, guest__phone=refusal.guest_phone, guest__phone_verified=True,
        status__in=Reservation.ACTIVE_STATUSES,
        start__gte=start, start__lt=end, created_at__gte=refusal.created_at,
    ).order_by("created_at", "id").first())


def offer_settle_own_booking(*, offer: RecoveryOffer, now: datetime) -> Reservation | None:
    """A pending offer whose guest booked themselves is theirs: `taken` with that booking, the case won back.
    Must be called holding the day lock; None (nothing changed) when there is no such booking."""
    require_book_lock()
    reservation = own_booking(offer)
    if reservation is None:
        return None
    if not RecoveryOffer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(
            status=OfferStatus.TAKEN, answered_at=now, reservation=reservation):
        return None
    return _won_back(offer, reservation, now=now,
                     taken=f"Booked it themselves ({reservation.channel}) while the table was held for them.",
                     closed="Won back: the guest booked while a freed table was held for them.")


def offers_settle_booked(*, now: datetime | None = None) -> int:
    """The sweep's part: pending offers whose guest has booked themselves meanwhile. Returns how many."""
    now = now or timezone.now()
    settled = 0
    for offer in RecoveryOffer.objects.filter(status=OfferStatus.PENDING).select_related(
            "restaurant", "case", "case__refusal"):
        if own_booking(offer) is None:
            continue
        with transaction.atomic(durable=True):
            lock_service(offer.restaurant, service_day(offer.restaurant, offer.start))
            settled += offer_settle_own_booking(offer=offer, now=now) is not None
    return settled


def _siblings_close(offer: RecoveryOffer, reservation: Reservation, *, now: datetime) -> None:
    """The same guest turned away again that day (they tried 20:00, then 20:15): won back by the same booking."""
    refusal = offer.case.refusal
    config = selectors.restaurant_config(offer.restaurant)
    start, end = selectors.day_bounds(config, service_day(offer.restaurant, offer.start))
    siblings = RecoveryCase.objects.filter(
        restaurant_id=offer.restaurant_id, kind=RecoveryCase.Kind.TURNED_AWAY, status__in=RecoveryCase.OPEN_STATUSES,
        refusal__guest_phone=refusal.guest_phone, refusal__start__gte=start, refusal__start__lt=end,
    ).exclude(pk=offer.case_id)
    for case in siblings:
        case_close(case=case, status=RecoveryCase.Status.RESOLVED, won_back=reservation, now=now,
                   note=f"Won back by the same booking as case #{offer.case_id}.")


def _gone(offer: RecoveryOffer, *, now: datetime, why: str) -> Outcome:
    """A YES that cannot be given the table: said kindly, and the case stays open on the list."""
    RecoveryCase.objects.filter(pk=offer.case_id, status=RecoveryCase.Status.OFFERED).exclude(
        offers__status=OfferStatus.PENDING).update(status=RecoveryCase.Status.OPEN)
    case_act(case=offer.case, kind=Step.OFFER_GONE, now=now,
             note=f"Replied YES too late ({why}); told kindly the table had gone.")
    return Outcome(Action.OFFER_GONE, "offer_gone")


def offer_decline(*, offer: RecoveryOffer, now: datetime | None = None) -> Outcome:
    """The guest lets the table go: it is offered to the next guest at once."""
    now = now or timezone.now()
    restaurant = offer.restaurant
    day = service_day(restaurant, offer.start)
    try:
        with transaction.atomic(durable=True):
            lock_service(restaurant, day)
            current = RecoveryOffer.objects.select_related("case").get(pk=offer.pk)
            if not offer_lapse(offer=current, now=now, note="Declined by the guest.", answered=True):
                return Outcome(Action.NOTHING_TO_ANSWER, "nothing_to_answer")
            offers_make_locked(restaurant=restaurant, day=day, now=now)
    except BookError:
        return Outcome(Action.NOT_DONE, "not_done")
    return Outcome(Action.OFFER_DECLINED, "offer_declined")


# --- the dessert --------------------------------------------------------------------------------------------

WON_BACK_REASON = "Turned away, then took a table we offered when one freed: won back."


def won_back_dessert(*, reservation_id: int, now: datetime | None = None) -> Gesture | None:
    """The won-back guest's complimentary dessert, once (the gesture's unique constraint): None when the
    booking is gone, or the guest had one lately (the floor gets a note instead)."""
    reservation = Reservation.objects.select_related("restaurant", "guest").filter(pk=reservation_id).first()
    if reservation is None or reservation.status not in Reservation.ACTIVE_STATUSES:
        return None
    return gesture_offer(reservation=reservation, occasion=Gesture.Occasion.WON_BACK, reason=WON_BACK_REASON,
                         now=now)


def _dessert_send(reservation_id: int) -> None:
    from ..tasks import won_back_dessert_task

    task_send(won_back_dessert_task, (reservation_id,),
              what=f"won-back dessert for reservation {reservation_id} left for the sweep")


def won_back_desserts_pending(*, now: datetime | None = None, limit: int = 100) -> int:
    """The sweep's part: bookings won back lately with neither their dessert nor a note saying why not."""
    now = now or timezone.now()
    missing = (
        RecoveryOffer.objects.filter(status=OfferStatus.TAKEN, answered_at__gte=now - timedelta(days=1),
                                     reservation__status__in=Reservation.ACTIVE_STATUSES,
                                     answered_at__lte=now - timedelta(seconds=30))
        .exclude(reservation__gestures__occasion=Gesture.Occasion.WON_BACK)
        .exclude(reservation__staff_notes__kind=StaffNote.Kind.RECENT_GESTURE)
        .values_list("reservation_id", flat=True)[:limit]
    )
    return sum(won_back_dessert(reservation_id=pk, now=now) is not None for pk in list(missing))
