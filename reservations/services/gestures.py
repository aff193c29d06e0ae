"""Gestures and staff notes: what the floor is told before a party arrives, exactly once per event.

`guest_prepare` runs in a background task after a booking commits (and again from the beat sweep for any
booking the broker never heard of). It writes, at most once per reservation:

- a complimentary dessert for a booking won through a manager's override (`gesture_offer` is the same step
  for other occasions, e.g. the recovery work's turned-away guest won back);
- a `first_visit` note with the guest's expectations (their profile's and this booking's), or a
  `welcome_back` note with their last visit's notes for a guest who has completed one.

Gestures are exceptions (PRODUCT.md point 5), so two rules keep them rare:

- **Budget.** Each restaurant has a budget per service; a dessert that would take the service's queued and
  presented gestures over it is queued `needs_approval`, and is presented only after a manager approves it.
- **Not every visit.** A guest who was given a dessert (presented, or queued for a booking still on the
  book) for a booking within `Restaurant.gesture_pause_days` days of this one, at any restaurant of the
  group, gets no automatic dessert: the floor gets a `recent_gesture` note saying when instead, and a
  manager may still decide otherwise.

Gestures come from triggers (an override, a turned-away guest won back, a long wait, a logged mistake, a
celebration among the guest's expectations, a first visit where the restaurant wants it) and from staff's
judgment (`gesture_propose`): a host proposes and gets it within the rules, beyond them a manager approves;
a manager's own proposal is their decision, recorded. Three guardrails, all on the record (`beyond_rules`):
the service's **budget**, the **pause** above, and **one surprise in N visits** (`gesture_every_visits`):
a guest whose last unannounced gesture was fewer than N completed visits ago gets none automatically.
One visit gets at most one automatic welcome (a celebration, a first visit) and one automatic
amends (the other triggers); a welcome never holds back amends. The guest's reaction is noted
afterwards (`gesture_react`).

"Exactly once" is the database's job: one gesture per (reservation, item, occasion) and one note per
(reservation, kind) are unique constraints, and `Reservation.prepared_at`, set in the same transaction,
makes a repeated task a no-op. The budget is decided under the restaurant-day lock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .. import engine, selectors
from ..access import is_manager
from ..errors import GestureNeedsApproval, InvalidInput, InvalidTransition, ManagersOnly
from ..models import Gesture, Reservation, StaffNote
from .booking import lock_book_for, service_day
from .guests import merge_unique
from .locking import for_update, require_book_lock

Item = Gesture.Item
Occasion = Gesture.Occasion
GestureStatus = Gesture.Status
Kind = StaffNote.Kind

# Gestures that are spent (or about to be): what counts against the budget.
SPENT = (GestureStatus.QUEUED, GestureStatus.PRESENTED)
PROMPT = "Present it yourself when they are seated: \"This is from us, because {because}.\""
OVERRIDE_BECAUSE = "we made room for you tonight"
WON_BACK_BECAUSE = "we could not seat you the first time you asked"
BECAUSE = {
    Occasion.OVERRIDE: OVERRIDE_BECAUSE,
    Occasion.WON_BACK: WON_BACK_BECAUSE,
    Occasion.LONG_WAIT: "you waited longer than we told you",
    Occasion.MISTAKE: "we got something wrong tonight",
    Occasion.CELEBRATION: "you are celebrating with us",
    Occasion.FIRST_VISIT: "it is your first time with us",
    Occasion.JUDGMENT: "we are glad you are here",
}
# What each trigger gives when nobody chose otherwise.
TRIGGER_ITEM = {
    Occasion.OVERRIDE: Item.DESSERT,
    Occasion.WON_BACK: Item.DESSERT,
    Occasion.LONG_WAIT: Item.DRINK,
    Occasion.MISTAKE: Item.DESSERT,
    Occasion.CELEBRATION: Item.DESSERT,
    Occasion.FIRST_VISIT: Item.DRINK,
    Occasion.JUDGMENT: Item.DESSERT,
}
# Triggers that welcome rather than make amends: a visit with any automatic gesture gets no welcome as well,
# while amends (an override, a guest won back, a long wait, a mistake) are never held back by a welcome.
WELCOMES = (Occasion.CELEBRATION, Occasion.FIRST_VISIT)
ITEM_COST = {Item.DESSERT: "dessert_cost", Item.DRINK: "drink_cost", Item.STARTER: "starter_cost"}
# Words in a guest's expectations that say they are celebrating.
CELEBRATIONS = ("celebrat", "birthday", "anniversary", "engagement", "wedding", "proposal")


def guest_prepare(*, reservation_id: int, now: datetime | None = None) -> bool:
    """Queue this booking's gestures and write its staff notes, once; False if it was prepared already.

    Opens its own durable transaction and takes the day lock once (the budget is decided under it).
    """
    now = now or timezone.now()
    reservation = Reservation.objects.select_related("restaurant").filter(pk=reservation_id).first()
    if reservation is None or reservation.prepared_at is not None:
        return False
    restaurant = reservation.restaurant
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, service_day(restaurant, reservation.start), reservation.start, reservation.end)
        # Re-read under the lock: a duplicate of this task may have prepared it in the meantime.
        # `of=("self",)`: the guest is a nullable join, and PostgreSQL cannot lock the outer side of one.
        current = for_update(Reservation.objects.select_related("guest"), of=("self",)).get(pk=reservation_id)
        if current.prepared_at is not None:
            return False
        if settings.CXHOST_PREPARE_RACE_DELAY_MS:  # a test seam: the gap a duplicate needs, were the lock skipped
            time.sleep(settings.CXHOST_PREPARE_RACE_DELAY_MS / 1000)
        current.restaurant = restaurant
        if current.status in Reservation.ACTIVE_STATUSES:
            if current.guest is not None:
                _note_write(current, *_guest_note(current), now=now)
            _triggers_queue(current, now=now)
        current.prepared_at = now
        # Bookkeeping of the task's own, not a change to the booking: no audit-history row (and no extra
        # statement under the day lock).
        current.skip_history_when_saving = True
        current.save(update_fields=["prepared_at"])
    return True


def guests_prepare_pending(*, now: datetime | None = None, limit: int = 200) -> int:
    """The beat sweep: prepare bookings still ahead that no task prepared (the broker was down). Returns how many."""
    now = now or timezone.now()
    return sum(guest_prepare(reservation_id=pk, now=now)
               for pk in selectors.reservations_unprepared(now=now, limit=limit))


def gesture_offer(
    *, reservation: Reservation, occasion: str, reason: str, item: str | None = None, now: datetime | None = None
) -> Gesture | None:
    """Queue one automatic gesture for this party on this occasion (`won_back` for recovery, `long_wait`,
    `mistake` for a case): a dessert unless the trigger gives something else (`TRIGGER_ITEM`).

    The same gesture twice for one occasion is the first one again; a guest given one lately (or this visit
    already) gets a `recent_gesture` note instead (None). Opens its own durable transaction and takes the day lock.
    """
    now = now or timezone.now()
    restaurant = reservation.restaurant
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, service_day(restaurant, reservation.start), reservation.start, reservation.end)
        return _gesture_queue(reservation, occasion=occasion, reason=reason, item=item or TRIGGER_ITEM[occasion],
                              now=now)


def gesture_propose(
    *, reservation: Reservation, by, reason: str, item: str = Item.DESSERT, occasion: str = Occasion.JUDGMENT,
    announced: bool = False, now: datetime | None = None,
) -> Gesture:
    """Staff's judgment: a host proposes a gesture, queued when it is within the rules, else `needs_approval`
    saying which rule it goes beyond; a manager's proposal is their decision, queued and recorded as approved.

    The same item for the same occasion twice is the first one again.
    """
    now = now or timezone.now()
    restaurant = reservation.restaurant
    with transaction.atomic(durable=True):
        lock_book_for(restaurant, service_day(restaurant, reservation.start), reservation.start, reservation.end)
        existing = Gesture.objects.filter(reservation=reservation, item=item, occasion=occasion).first()
        if existing is not None:
            return existing
        status = Reservation.objects.values_list("status", flat=True).get(pk=reservation.pk)
        if status in (Reservation.Status.CANCELLED, Reservation.Status.NO_SHOW):
            raise InvalidTransition(f"This booking is {status}: there is nobody to give it to.")
        cost = item_cost(restaurant, item)
        beyond = _beyond_rules(reservation, cost=cost, announced=announced)
        manager = is_manager(by, restaurant)
        Gesture.objects.create(
            restaurant=restaurant, reservation=reservation, guest=reservation.guest, item=item, occasion=occasion,
            reason=reason, prompt=PROMPT.format(because=BECAUSE[occasion]), cost=cost, created_at=now,
            status=GestureStatus.NEEDS_APPROVAL if beyond and not manager else GestureStatus.QUEUED,
            proposed_by=by, announced=announced, beyond_rules="; ".join(beyond),
            approved_by=by if manager else None, approved_at=now if manager else None,
        )
        return Gesture.objects.get(reservation=reservation, item=item, occasion=occasion)


def gesture_react(*, gesture: Gesture, reaction: str, by, note: str = "", now: datetime | None = None) -> Gesture:
    """Note how the guest took a presented gesture (WOW fades with habit: this is how the manager sees it)."""
    if reaction not in Gesture.Reaction.values:
        raise InvalidInput({"reaction": [f"One of {', '.join(Gesture.Reaction.values)}."]})
    with transaction.atomic(durable=True):
        current = Gesture.objects.select_for_update().get(pk=gesture.pk)
        if current.status != GestureStatus.PRESENTED:
            raise InvalidTransition(f"This gesture is {current.status}: a reaction is noted once it is presented.")
        current.reaction = reaction
        current.reaction_note = note
        current.reaction_by = by
        current.reaction_at = now or timezone.now()
        current.save(update_fields=["reaction", "reaction_note", "reaction_by", "reaction_at"])
    return current


def item_cost(restaurant, item: str) -> Decimal:
    """What one item given free costs this restaurant."""
    if item not in ITEM_COST:
        raise InvalidInput({"item": [f"One of {', '.join(ITEM_COST)}."]})
    return getattr(restaurant, ITEM_COST[item])


def gesture_approve(*, gesture: Gesture, by, now: datetime | None = None) -> Gesture:
    """A manager lets an over-budget gesture through: it is queued for the floor like any other."""
    if not is_manager(by, gesture.restaurant_id):
        raise ManagersOnly("Only a manager may approve a gesture over the service's budget.")
    with transaction.atomic(durable=True):
        current = Gesture.objects.select_for_update().get(pk=gesture.pk)
        if current.status != GestureStatus.NEEDS_APPROVAL:
            raise InvalidTransition(f"This gesture is {current.status}, not waiting for approval.")
        current.status = GestureStatus.QUEUED
        current.approved_by = by
        current.approved_at = now or timezone.now()
        current.save(update_fields=["status", "approved_by", "approved_at"])
    return current


def gesture_present(*, gesture: Gesture, by, now: datetime | None = None) -> Gesture:
    """The floor gave it: recorded with who and when (it counts as given for the pause rule from now on)."""
    with transaction.atomic(durable=True):
        current = Gesture.objects.select_for_update().get(pk=gesture.pk)
        if current.status == GestureStatus.NEEDS_APPROVAL:
            raise GestureNeedsApproval()
        if current.status != GestureStatus.QUEUED:
            raise InvalidTransition(f"This gesture is {current.status} already.")
        current.status = GestureStatus.PRESENTED
        current.presented_by = by
        current.presented_at = now or timezone.now()
        current.save(update_fields=["status", "presented_by", "presented_at"])
    return current


# --- under the lock --------------------------------------------------------------------------------------


def _triggers_queue(reservation: Reservation, *, now: datetime) -> None:
    """The automatic triggers known when a booking is prepared, in order; the first that gives wins the visit."""
    if reservation.override_bypassed:
        reason = reservation.override_reason or "a manager made room for this party"
        _gesture_queue(reservation, occasion=Occasion.OVERRIDE, reason=f"Won through an override: {reason}",
                       item=TRIGGER_ITEM[Occasion.OVERRIDE], now=now)
    if reservation.guest is None or not reservation.guest.phone_verified:
        return  # an unproven phone's booking: a free dessert must not be one anonymous request away
    expectations = merge_unique(reservation.guest.expectations, reservation.expectations)
    celebrating = [e for e in expectations if any(word in str(e).lower() for word in CELEBRATIONS)]
    if celebrating:
        _gesture_queue(reservation, occasion=Occasion.CELEBRATION, item=TRIGGER_ITEM[Occasion.CELEBRATION],
                       reason=f"Celebrating: {', '.join(str(e).replace('_', ' ') for e in celebrating)}", now=now)
    if reservation.restaurant.first_visit_gesture and selectors.last_visit(
        reservation.guest, exclude_reservation=reservation.pk
    ) is None:
        _gesture_queue(reservation, occasion=Occasion.FIRST_VISIT, item=TRIGGER_ITEM[Occasion.FIRST_VISIT],
                       reason="Their first visit", now=now)


def _gesture_queue(
    reservation: Reservation, *, occasion: str, reason: str, item: str, now: datetime
) -> Gesture | None:
    """Must be called holding the day lock: the budget check and the insert must not interleave."""
    require_book_lock()
    restaurant = reservation.restaurant
    existing = Gesture.objects.filter(reservation=reservation, item=item, occasion=occasion).first()
    if existing is not None:
        return existing
    automatic = Gesture.objects.filter(reservation=reservation, proposed_by__isnull=True)
    if occasion not in WELCOMES:
        automatic = automatic.exclude(occasion__in=WELCOMES)
    if automatic.exists():
        return None  # one welcome and one amends a visit at most: the exception, not a pile of them
    recent = _recent_dessert(reservation)
    if recent is not None:
        _note_write(reservation, Kind.RECENT_GESTURE, _recent_text(recent, restaurant.gesture_pause_days), now=now)
        return None
    surprise = _last_surprise_too_recent(reservation)
    if surprise is not None:
        _note_write(reservation, Kind.RECENT_GESTURE, _surprise_text(surprise, restaurant.gesture_every_visits),
                    now=now)
        return None
    cost = item_cost(restaurant, item)
    over = _service_spend(reservation) + cost > restaurant.gesture_budget_per_service
    Gesture.objects.bulk_create([Gesture(
        restaurant=restaurant, reservation=reservation, guest=reservation.guest, item=item,
        occasion=occasion, reason=reason, prompt=PROMPT.format(because=BECAUSE[occasion]),
        status=GestureStatus.NEEDS_APPROVAL if over else GestureStatus.QUEUED, cost=cost, created_at=now,
        beyond_rules="over the service's budget" if over else "",
    )], ignore_conflicts=True)  # the unique constraint, not this code, is what makes it once
    return Gesture.objects.get(reservation=reservation, item=item, occasion=occasion)


def _beyond_rules(reservation: Reservation, *, cost: Decimal, announced: bool) -> list[str]:
    """Which guardrails one more gesture for this booking would go beyond, in words (empty: within them all)."""
    restaurant = reservation.restaurant
    beyond = []
    if _service_spend(reservation) + cost > restaurant.gesture_budget_per_service:
        beyond.append("over the service's budget")
    if not announced:
        recent = _recent_dessert(reservation)
        if recent is not None:
            beyond.append(f"a gesture within {restaurant.gesture_pause_days} days")
        if _last_surprise_too_recent(reservation) is not None:
            beyond.append(f"a surprise within the last {restaurant.gesture_every_visits} visits")
    return beyond


def _last_surprise_too_recent(reservation: Reservation) -> Gesture | None:
    """The guest's last unannounced gesture, when fewer than N completed visits separate it from this booking.

    N = `gesture_every_visits`; the visit that had it counts as one of the N (N = 3: a gift on the 1st visit,
    none on the 2nd and 3rd, the 4th may have one again).
    """
    every = reservation.restaurant.gesture_every_visits
    if reservation.guest_id is None or every <= 1:
        return None
    last = (
        Gesture.objects.filter(_given(), guest_id=reservation.guest_id, announced=False,
                               reservation__start__lt=reservation.start)
        .exclude(reservation=reservation).select_related("reservation", "restaurant")
        .order_by("-reservation__start").first()
    )
    if last is None:
        return None
    visits_since = Reservation.objects.filter(
        guest_id=reservation.guest_id, status=Reservation.Status.COMPLETED,
        start__gte=last.reservation.start, start__lt=reservation.start,
    ).count()
    return last if visits_since < every else None


def _surprise_text(last: Gesture, every: int) -> str:
    tz = last.restaurant.tz
    when = f"{last.reservation.start.astimezone(tz):%Y-%m-%d}"
    return (f"{last.get_item_display().capitalize()} for their visit on {when}"
            f" at {last.restaurant.name}: no automatic gesture this time (one surprise in {every} visits). "
            "A manager may still decide to give one.")


def _given() -> Q:
    """A gesture given, or about to be: presented, or still coming for a booking on the book."""
    return Q(status=GestureStatus.PRESENTED) | Q(
        status__in=(GestureStatus.QUEUED, GestureStatus.NEEDS_APPROVAL),
        reservation__status__in=Reservation.ACTIVE_STATUSES,
    )


def _service_spend(reservation: Reservation) -> Decimal:
    """What the gestures of the service this booking falls in cost so far (queued or presented)."""
    restaurant = reservation.restaurant
    under_way = engine.service_under_way(selectors.restaurant_config(restaurant), reservation.start)
    if under_way is not None:
        start, end = under_way[1].opens, under_way[1].closes
    else:  # an override outside the hours: the local day stands for the service
        start, end = selectors.local_day_range(restaurant, reservation.start.astimezone(restaurant.tz).date())
    spent = Gesture.objects.filter(restaurant=restaurant, status__in=SPENT, reservation__start__gte=start,
                                   reservation__start__lt=end).aggregate(total=Sum("cost"))["total"]
    return spent or Decimal("0")


def _recent_dessert(reservation: Reservation) -> Gesture | None:
    """A dessert this guest was given (or will be) for a booking within the pause of this one, anywhere in the group."""
    if reservation.guest_id is None:
        return None
    pause = timedelta(days=reservation.restaurant.gesture_pause_days)
    return (
        Gesture.objects.filter(_given(), guest_id=reservation.guest_id, item=Item.DESSERT, announced=False,
                               reservation__start__gte=reservation.start - pause,
                               reservation__start__lte=reservation.start + pause)
        .exclude(reservation=reservation)
        .select_related("reservation", "restaurant")
        .order_by("-reservation__start")
        .first()
    )


def _recent_text(recent: Gesture, pause_days: int) -> str:
    tz = recent.restaurant.tz
    if recent.status == GestureStatus.PRESENTED:
        when = f"given on {(recent.presented_at or recent.reservation.start).astimezone(tz):%Y-%m-%d}"
    else:
        when = f"queued for their booking on {recent.reservation.start.astimezone(tz):%Y-%m-%d}"
    return (f"Dessert {when} at {recent.restaurant.name}: no automatic dessert this time (one in "
            f"{pause_days} days). A manager may still decide to give one.")


def _guest_note(reservation: Reservation) -> tuple[str, str]:
    """A first visit with what they expect, or a return with what we noted last time."""
    guest = reservation.guest
    name = guest.name or "This guest"
    expectations = merge_unique(guest.expectations, reservation.expectations)
    expects = f"Expects: {', '.join(e.replace('_', ' ') for e in expectations)}." if expectations else ""
    last = selectors.last_visit(guest, exclude_reservation=reservation.pk)
    if last is None:
        parts = [f"First visit: {name}.", expects or "No expectations recorded: ask what would make it special."]
        if reservation.notes:
            parts.append(f"Booking notes: {reservation.notes}")
        return Kind.FIRST_VISIT, " ".join(parts)
    tz = reservation.restaurant.tz
    where = "" if last.restaurant_id == reservation.restaurant_id else f" at {last.restaurant.name}"
    parts = [f"Welcome back, {name}: last visit {last.start.astimezone(tz):%Y-%m-%d}{where}, party of "
             f"{last.party_size}.", f"Last visit's notes: {last.notes}" if last.notes else "No notes from last visit."]
    if guest.notes:
        parts.append(f"Profile: {guest.notes}")
    if expects:
        parts.append(expects)
    return Kind.WELCOME_BACK, " ".join(parts)


def _note_write(reservation: Reservation, kind: str, text: str, *, now: datetime) -> None:
    StaffNote.objects.bulk_create(
        [StaffNote(restaurant=reservation.restaurant, reservation=reservation, kind=kind, text=text, created_at=now)],
        ignore_conflicts=True,  # once per (reservation, kind), by the unique constraint
    )
