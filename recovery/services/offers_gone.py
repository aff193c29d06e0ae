"""The guests next in line for a freed table hear, kindly, that it has gone.

When an offered table is taken (the guest's YES, or the guest booking it herself while it was held), every
other guest who was waiting for that same table — those the offer service would have offered it to next —
gets one `recovery_gone` text: it has gone to another guest, and they are still on our list. Their case
stays `open` with an `offer_gone` step naming the offer. Otherwise they would hear nothing at all, and a
silence after a "no" is exactly what recovery is for.

Runs inside the transaction that takes the offer, under the day lock, so the texts commit (or not) with the
booking. The `offer_gone` step is unique per case and offer in the database, and one step per phone is
checked under the lock: each guest is told once per freed table however often the steps re-run.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from reservations import selectors
from reservations.models import OutboundMessage, Refusal, Reservation
from reservations.services.booking import service_day
from reservations.services.locking import require_book_lock
from reservations.services.messaging import restaurant_sender, sms_dispatch
from reservations.services.sms_texts import sms_text

from ..models import CaseAction, RecoveryCase, RecoveryOffer
from .cases import case_open
from .offers import _seating_for, refusal_summary, waiting_refusals
from .openings import Opening

Step = CaseAction.Kind


def gone_tell(*, offer: RecoveryOffer, reservation: Reservation, now: datetime) -> list[CaseAction]:
    """Tell the guests in line for `offer`'s table that `reservation` has taken it. Must be called holding the
    day lock, after the booking is written; returns the `offer_gone` steps written (one per guest told)."""
    require_book_lock()
    restaurant = offer.restaurant
    tables = set(offer.tables.values_list("pk", flat=True))
    taken = set(reservation.assignments.values_list("table_id", flat=True))
    if not (tables & taken and reservation.start < offer.end and offer.start < reservation.end):
        return []  # she booked another table herself: the held one is free again, offered to the next guest
    day = service_day(restaurant, offer.start)
    # The day as it would be had nobody taken the table: whoever it would have seated was in line for it.
    plan = selectors.day_plan(restaurant, day, exclude_reservation=reservation.pk)
    told_phones = set(CaseAction.objects.filter(offer=offer, kind=Step.OFFER_GONE)
                      .values_list("case__refusal__guest_phone", flat=True))
    told_phones = {str(p) for p in told_phones}
    # Had it not been taken, the table would have opened for them now (the offer lapsing hands it on).
    openings = [Opening(frozenset(tables), offer.start, offer.end, now, offer.opened, offer.freed_by_id)]
    steps = []
    for refusal in waiting_refusals(restaurant, day, now=now):
        phone = str(refusal.guest_phone)
        if phone in told_phones:
            continue
        case = case_open(restaurant=restaurant, kind=RecoveryCase.Kind.TURNED_AWAY, refusal=refusal,
                         guest=refusal.guest, summary=refusal_summary(refusal), now=refusal.created_at)
        if case.status != RecoveryCase.Status.OPEN:
            continue
        found = _seating_for(plan, refusal, case, openings, now=now)
        if found is None or not set(found[0].seating.tables) & tables:
            continue  # this table would never have been theirs (too small, another time, one they let lapse)
        steps.append(_tell(offer=offer, case=case, refusal=refusal, now=now))
        told_phones.add(phone)
    return steps


def _tell(*, offer: RecoveryOffer, case: RecoveryCase, refusal: Refusal, now: datetime) -> CaseAction:
    restaurant = offer.restaurant
    start = offer.start.astimezone(restaurant.tz)
    body = sms_text(language=restaurant.language, kind="recovery_gone", restaurant_name=restaurant.name,
                    start_local=start, party_size=offer.party_size)
    guest = refusal.guest or selectors.guest_by_phone(restaurant.group, refusal.guest_phone)
    message = OutboundMessage.objects.create(restaurant=restaurant, guest=guest, to=refusal.guest_phone,
                                             kind=OutboundMessage.Kind.RECOVERY_GONE, body=body, next_attempt_at=now,
                                             sender=restaurant_sender(restaurant))
    step = CaseAction.objects.create(
        case=case, kind=Step.OFFER_GONE, at=now, offer=offer, message=message,
        note=f"The table freed for {start:%H:%M} went to another guest (offer #{offer.pk}); told kindly by SMS, "
             f"still on the list.")
    transaction.on_commit(lambda: sms_dispatch(message_id=message.pk))
    return step
