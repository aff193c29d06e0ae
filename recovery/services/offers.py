"""Turned-away recovery: a table that frees is offered by SMS to the guests we said no to, first refused first.

1. `offers_make` runs after a cancellation, a no-show or a party leaving commits (a task sent on commit by
   `reservations.signals.tables_released`), and from the beat sweep for whatever the broker lost. Under the
   restaurant-day lock it walks the day's refusals with a phone in the order they were refused, and asks the
   engine — as for a phone booking, so never a held table and never an overbooking — whether the guest now
   fits at the time they asked for, or at the nearest start within `RECOVERY_OFFER_WINDOW_MINUTES` of it —
   on a table that opened after they were refused (`openings`: given back by a booking, let go by another
   guest, or a held-back table released; never one free all along). The first who fits is offered the
   seating the engine chose, held for them for `RECOVERY_OFFER_MINUTES`
   (`offer_holds`: every plan the book makes shows those tables taken), and texted (`recovery_offer`).
2. Their YES (`offers_answers.offer_answer`, the inbound-SMS question for that kind) books it.
3. No answer in time: `offers_expire` (a countdown task, and the beat sweep as a backstop) lets the offer
   lapse and, in the same locked transaction, offers the table to the next guest; nobody left, the hold is
   simply gone and the table is the book's again.

Each step is a conditional update on the offer's status taken under the day lock, so repeated or crossing
tasks never offer one table twice nor expire an offer that was just taken.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cxhost.redis_guard import task_send
from reservations import engine, selectors
from reservations.models import Guest, OutboundMessage, Refusal, Reservation, Restaurant, TableRelease
from reservations.services.booking import service_day
from reservations.services.locking import lock_book_days, require_book_lock
from reservations.services.messaging import restaurant_sender, sms_dispatch
from reservations.services.sms_texts import sms_text

from ..models import CaseAction, RecoveryCase, RecoveryOffer
from .cases import case_act, case_open
from .openings import Opening, anything_opened, day_openings, opened_for

OfferStatus = RecoveryOffer.Status
CaseStatus = RecoveryCase.Status
Step = CaseAction.Kind
PHONE = Reservation.Channel.PHONE


def offer_minutes() -> int:
    return settings.RECOVERY_OFFER_MINUTES


def hold_name(offer_id: int) -> str:
    """How an offer's hold is named in a day plan (see `selectors.HOLD_SOURCES`)."""
    return f"recovery_offer:{offer_id}"


def offer_holds(restaurant: Restaurant, start: datetime, end: datetime) -> list[tuple[engine.Booking, str]]:
    """Tables held for pending offers overlapping [start, end), as the engine's bookings, each with the phone
    it is held for: one query. Each hold carries the offer's `expires_at` as its `until`: past it the engine
    counts the tables free, before any sweep lapses the row."""
    rows = RecoveryOffer.tables.through.objects.filter(
        recoveryoffer__restaurant=restaurant, recoveryoffer__status=OfferStatus.PENDING,
        recoveryoffer__start__lt=end, recoveryoffer__end__gt=start,
        # An offer lasts one turn: none that began over a day before is still held. And the day plan's cache
        # watches the book versions from a day before `start` on (`selectors.HOLD_SOURCES`).
        recoveryoffer__start__gte=start - timedelta(days=1),
    ).values_list("recoveryoffer_id", "recoveryoffer__start", "recoveryoffer__end", "recoveryoffer__party_size",
                  "recoveryoffer__case__refusal__guest_phone", "recoveryoffer__expires_at", "table_id")
    offers: dict[int, list] = {}
    for pk, o_start, o_end, covers, phone, expires_at, table_id in rows:
        offers.setdefault(pk, [o_start, o_end, covers, str(phone or ""), expires_at, []])[5].append(table_id)
    return [(engine.Booking(o_start, o_end, covers, tuple(sorted(tables)), hold=hold_name(pk), until=until), phone)
            for pk, (o_start, o_end, covers, phone, until, tables) in offers.items()]


def lock_service(restaurant: Restaurant, day: date) -> None:
    """The one lock call of an offers transaction: the service day and the night after it, which between them
    hold every local date a booking of that service touches (the same keys, sorted, as any booking takes)."""
    lock_book_days(restaurant, {day, day + timedelta(days=1)})


# --- offering ---------------------------------------------------------------------------------------------


def offers_make(*, restaurant: Restaurant, day: date, now: datetime | None = None) -> list[RecoveryOffer]:
    """Offer the day's free tables to the guests turned away for them, first refused first. Opens its own
    durable transaction; returns the offers made (none when nobody waits or nothing fits)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        lock_service(restaurant, day)
        return offers_make_locked(restaurant=restaurant, day=day, now=now)


def offers_make_locked(*, restaurant: Restaurant, day: date, now: datetime) -> list[RecoveryOffer]:
    """`offers_make`'s work. Must be called holding the day lock (`lock_service`).

    What opened is read from the book's record (`TableRelease`, released holds), never taken from whoever asked:
    the offer names the booking whose tables it offers."""
    require_book_lock()
    waiting = waiting_refusals(restaurant, day, now=now)
    if not waiting:
        return []
    config = selectors.restaurant_config(restaurant)
    day_start, day_end = selectors.day_bounds(config, day)
    openings = day_openings(restaurant, day_start, day_end + timedelta(days=1),
                            since=min(r.created_at for r in waiting), now=now)
    plan = selectors.day_plan(restaurant, day)
    made = []
    offered_phones: set[str] = set()
    for refusal in waiting:
        phone = str(refusal.guest_phone)
        case = _case_of(refusal)
        if phone in offered_phones or (case is not None and case.status != CaseStatus.OPEN):
            continue  # one question at a time to one phone: their YES must name one offer
        if not plan.holds and not any(o.at > refusal.created_at for o in openings):
            continue  # nothing opened since they were refused
        if case is None:  # every refusal waiting here has its case: opened now, dated when they were refused
            case = case_open(restaurant=restaurant, kind=RecoveryCase.Kind.TURNED_AWAY, refusal=refusal,
                             guest=refusal.guest, summary=refusal_summary(refusal), now=refusal.created_at)
        found = _seating_for(plan, refusal, case, openings, now=now)
        if found is None:
            continue
        decision, opening = found
        offer = _offer_write(restaurant=restaurant, case=case, refusal=refusal, decision=decision,
                             opening=opening, now=now)
        made.append(offer)
        offered_phones.add(phone)
        plan = plan.with_booking(engine.Booking(decision.start, decision.end, refusal.party_size,
                                                decision.seating.tables, hold=hold_name(offer.pk),
                                                until=offer.expires_at))
    return made


def _case_of(refusal: Refusal) -> RecoveryCase | None:
    try:
        return refusal.recovery_case
    except RecoveryCase.DoesNotExist:
        return None


def waiting_refusals(restaurant: Restaurant, day: date, *, now: datetime) -> list[Refusal]:
    """The day's refusals of guests with a phone we may text, still waiting for a table, first refused first.

    Not waiting: their case is closed or already holds an offer, another of their refusals holds one, their
    number said STOP, or they have a booking on the day's book already (they took another time).
    """
    config = selectors.restaurant_config(restaurant)
    start, end = selectors.day_bounds(config, day)
    window = timedelta(minutes=settings.RECOVERY_OFFER_WINDOW_MINUTES)
    pending = RecoveryOffer.objects.filter(status=OfferStatus.PENDING)
    refusals = (
        Refusal.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end, start__gt=now - window)
        .exclude(guest_phone="")
        .filter(phone_verified=True)  # never hold a table for, and text, a number nobody proved
        .exclude(recovery_case__status__in=[CaseStatus.RESOLVED, CaseStatus.LOST])
        .annotate(holding=Exists(pending.filter(case__refusal__guest_phone=OuterRef("guest_phone"),
                                                restaurant=restaurant)))
        .filter(holding=False)
        .select_related("guest", "restaurant", "recovery_case")
        .order_by("created_at", "id")
    )
    booked_phones = {str(p) for p in Reservation.objects.filter(
        restaurant=restaurant, status__in=Reservation.ACTIVE_STATUSES, start__gte=start, start__lt=end,
        guest__phone__isnull=False).values_list("guest__phone", flat=True)}
    silent = {str(p) for p in Guest.objects.filter(sms_opt_out=True, group=restaurant.group)
              .values_list("phone", flat=True)}
    refusals = [r for r in refusals if engine.service_day(config, r.start) == day
                and str(r.guest_phone) not in booked_phones and str(r.guest_phone) not in silent]
    said_stop = selectors.numbers_opted_out(str(r.guest_phone) for r in refusals) if refusals else set()
    return [r for r in refusals if str(r.guest_phone) not in said_stop]


def refusal_summary(refusal: Refusal) -> str:
    when = refusal.start.astimezone(refusal.restaurant.tz)
    who = refusal.guest_name or str(refusal.guest_phone)
    return f"{who}, party of {refusal.party_size}, turned away for {when:%Y-%m-%d %H:%M} (no tables)."


def _seating_for(plan: engine.DayPlan, refusal: Refusal, case: RecoveryCase, openings: list[Opening], *,
                 now: datetime) -> tuple[engine.Decision, Opening] | None:
    """The engine's table for this guest at the start they asked for, else the nearest within the window
    (earlier first on a tie), with what opened it for them — only a seating on a table that opened after they
    were refused (`openings`), never one they already let lapse at an overlapping time, nor a start we named
    to them as an alternative when we said no."""
    window = timedelta(minutes=settings.RECOVERY_OFFER_WINDOW_MINUTES)
    turn = plan.config.turn_time(refusal.party_size) or plan.config.longest_turn
    named = {datetime.fromisoformat(a) for a in refusal.alternatives}
    starts = sorted((s for s in plan.grid if abs(s - refusal.start) <= window and s not in named),
                    key=lambda s: (abs((s - refusal.start).total_seconds()), s))
    lapsed = None
    for start in starts:
        if engine.start_problems(plan, start, now):
            continue
        if not anything_opened(plan, refusal, openings, start=start, end=start + turn, now=now):
            continue  # the engine's answer could only be a table free when they were refused
        decision = engine.decide_booking(plan, party_size=refusal.party_size, channel=PHONE, start=start, now=now)
        if not decision.available or decision.seating is None:
            continue  # an overbooking is no table to offer
        tables = frozenset(decision.seating.tables)
        opening = opened_for(plan, refusal, openings, tables=tables, start=decision.start, end=decision.end,
                             now=now)
        if opening is None:
            continue  # the engine's table was free all along: at this start nothing opened for them
        if lapsed is None:
            lapsed = [(set(o.tables.values_list("pk", flat=True)), o.start, o.end)
                      for o in case.offers.exclude(status__in=[OfferStatus.PENDING, OfferStatus.TAKEN])]
        if any(tables & t and s < decision.end and decision.start < e for t, s, e in lapsed):
            continue
        return decision, opening
    return None


def _offer_write(*, restaurant: Restaurant, case: RecoveryCase, refusal: Refusal, decision: engine.Decision,
                 opening: Opening, now: datetime) -> RecoveryOffer:
    """Hold the seating for the guest, text them, and put the offer on their case's timeline."""
    offer = RecoveryOffer.objects.create(
        restaurant=restaurant, case=case, freed_by_id=opening.freed_by_id, opened=opening.kind,
        start=decision.start, end=decision.end,
        party_size=refusal.party_size, offered_at=now, expires_at=now + timedelta(minutes=offer_minutes()),
    )
    offer.tables.set(decision.seating.tables)
    guest = refusal.guest or selectors.guest_by_phone(restaurant.group, refusal.guest_phone)
    offer.message = _offer_text_queue(restaurant=restaurant, offer=offer, refusal=refusal, guest=guest, now=now)
    offer.save(update_fields=["message"])
    RecoveryCase.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(status=CaseStatus.OFFERED)
    tz = restaurant.tz
    why = ("a held-back table released to the book" if opening.kind == RecoveryOffer.Opened.HOLD_RELEASED
           else f"given back by booking #{opening.freed_by_id}")
    case_act(case=case, kind=Step.OFFERED, now=now, note=(
        f"{decision.seating.name} at {decision.start.astimezone(tz):%H:%M} ({why}) offered by SMS, held until "
        f"{offer.expires_at.astimezone(tz):%H:%M}."))
    # The countdown never exceeds the offer's minutes: the sweep is the backstop for any clock skew.
    left = (offer.expires_at - timezone.now()).total_seconds()
    pk, countdown = offer.pk, min(max(left, 0), offer_minutes() * 60) + 1
    transaction.on_commit(lambda: _expiry_send(pk, countdown), robust=True)
    return offer


def _offer_text_queue(*, restaurant: Restaurant, offer: RecoveryOffer, refusal: Refusal, guest: Guest | None,
                      now: datetime) -> OutboundMessage:
    """The offer's text through the outbox: written in this transaction, sent once it commits."""
    tz = restaurant.tz
    asked = refusal.start.astimezone(tz)
    start = offer.start.astimezone(tz)
    if offer.opened == RecoveryOffer.Opened.HOLD_RELEASED:
        kind = "recovery_offer_released"  # not "just opened": we had kept it back, and now let it go
    else:
        kind = "recovery_offer" if asked == start else "recovery_offer_moved"
    body = sms_text(language=restaurant.language, kind=kind,
                    restaurant_name=restaurant.name, start_local=start, party_size=offer.party_size,
                    asked_local=asked, minutes=offer_minutes())
    message = OutboundMessage.objects.create(restaurant=restaurant, guest=guest, to=refusal.guest_phone,
                                             kind=OutboundMessage.Kind.RECOVERY_OFFER, body=body, next_attempt_at=now,
                                             sender=restaurant_sender(restaurant))
    transaction.on_commit(lambda: sms_dispatch(message_id=message.pk))
    return message


def _expiry_send(offer_id: int, countdown: float) -> None:
    from ..tasks import expire_offer_task

    # The beat sweep expires it all the same.
    task_send(expire_offer_task, (offer_id,), countdown=countdown,
              what=f"expiry of recovery offer {offer_id} left for the sweep")


# --- lapsing ------------------------------------------------------------------------------------------------


def offers_expire(*, now: datetime | None = None, offer_id: int | None = None) -> int:
    """Let offers unanswered past `expires_at` lapse and offer their tables to the next guests; return how
    many lapsed. Safe to run any number of times, at once or not: each lapse is conditional, under the lock."""
    now = now or timezone.now()
    due = RecoveryOffer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=now).select_related("restaurant")
    if offer_id is not None:
        due = due.filter(pk=offer_id)
    by_day: dict[tuple[int, date], list[RecoveryOffer]] = defaultdict(list)
    for offer in due:
        by_day[(offer.restaurant_id, service_day(offer.restaurant, offer.start))].append(offer)
    from .offers_answers import offer_settle_own_booking

    lapsed = 0
    for (_, day), offers in by_day.items():
        restaurant = offers[0].restaurant
        with transaction.atomic(durable=True):
            lock_service(restaurant, day)
            for offer in offers:
                if offer_settle_own_booking(offer=offer, now=now) is None:
                    lapsed += offer_lapse(offer=offer, now=now, note="No answer in time.")
            offers_make_locked(restaurant=restaurant, day=day, now=now)
    return lapsed


def offer_lapse(*, offer: RecoveryOffer, now: datetime, note: str, answered: bool = False) -> bool:
    """Turn a pending offer `expired` and its case back to open. Must be called holding the day lock;
    False when it was no longer pending (taken, or lapsed by another task)."""
    require_book_lock()
    changes = {"status": OfferStatus.EXPIRED}
    if answered:
        changes["answered_at"] = now
    if not RecoveryOffer.objects.filter(pk=offer.pk, status=OfferStatus.PENDING).update(**changes):
        return False
    RecoveryCase.objects.filter(pk=offer.case_id, status=CaseStatus.OFFERED).update(status=CaseStatus.OPEN)
    case_act(case=offer.case, kind=Step.OFFER_EXPIRED, note=note, now=now)
    return True


# --- the beat sweep -----------------------------------------------------------------------------------------


def offers_sweep(*, now: datetime | None = None) -> int:
    """The backstop for lost tasks: lapse overdue offers, make the offers a lost trigger never made, and queue
    the desserts of guests won back whose task never ran. Returns how many offers it made or lapsed.

    Bounded whatever the number of open cases: it looks only at the days `sweep_days` names."""
    from .offers_answers import offers_settle_booked, won_back_desserts_pending

    now = now or timezone.now()
    done = offers_settle_booked(now=now) + offers_expire(now=now)
    for restaurant, day in sweep_days(now=now):
        done += len(offers_make(restaurant=restaurant, day=day, now=now))
    won_back_desserts_pending(now=now)
    return done


def sweep_days(*, now: datetime) -> list[tuple[Restaurant, date]]:
    """The restaurant-days where a table may have opened for a guest still waiting, nearest first.

    Guests refused for a time from the offer window ago to `RECOVERY_SWEEP_AHEAD_MINUTES` ahead (past ones can
    no longer be seated; a held-back table is released shortly before its time, and only the sweep sees that),
    and days where a table was given back in the last `RECOVERY_SWEEP_LOOKBACK_MINUTES` (a trigger lost on
    the way). At most `RECOVERY_SWEEP_LIMIT` of each are read, nearest time first, first refused first: two
    indexed queries, then one `offers_make` per day.
    """
    window = timedelta(minutes=settings.RECOVERY_OFFER_WINDOW_MINUTES)
    ahead = timedelta(minutes=settings.RECOVERY_SWEEP_AHEAD_MINUTES)
    limit = settings.RECOVERY_SWEEP_LIMIT
    near = list(
        Refusal.objects.filter(start__gte=now - window, start__lt=now + ahead)
        .filter(Q(recovery_case__isnull=True) | Q(recovery_case__status=CaseStatus.OPEN))
        .exclude(guest_phone="").filter(phone_verified=True)  # an unproven number is never offered a table
        .order_by("start", "created_at").values_list("restaurant_id", "start")[:limit])
    lookback = timedelta(minutes=settings.RECOVERY_SWEEP_LOOKBACK_MINUTES)
    given_back = list(TableRelease.objects.filter(released_at__gt=now - lookback, released_at__lte=now)
                      .order_by("released_at").values_list("restaurant_id", "start")[:limit])
    restaurants = Restaurant.objects.in_bulk({pk for pk, _ in near + given_back})
    configs = {pk: selectors.restaurant_config(restaurant) for pk, restaurant in restaurants.items()}  # once each
    days: dict[tuple[int, date], Restaurant] = {}
    for pk, start in near + given_back:
        days.setdefault((pk, engine.service_day(configs[pk], start)), restaurants[pk])
    return [(restaurant, day) for (_, day), restaurant in days.items()]
