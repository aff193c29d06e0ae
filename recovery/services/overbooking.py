"""Applying the report's suggested overbooking cap to the policy: one click for the manager, on the record."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from reservations.access import is_manager
from reservations.errors import InvalidInput, ManagersOnly
from reservations.models import OverbookingPolicy, Reservation, Restaurant

from ..errors import NotEnoughHistory
from ..models import OverbookingCapChange
from .report_data import ServiceClock, cap_suggestions, visit_rows

# A restaurant without a policy gets the contract's usual one: never online, parties of at most 4.
NEW_POLICY = {"max_party_size": 4, "channels": [Reservation.Channel.PHONE, Reservation.Channel.HOST]}


def overbooking_cap_apply(
    *, restaurant: Restaurant, service: str, date_from: date, date_to: date, by, now: datetime | None = None
) -> OverbookingCapChange:
    """Set the policy's cap to the one suggested for `service` from the history of `date_from`..`date_to`.

    The suggestion is computed again here, from the same history the manager saw, never taken from the
    request: the cap a client sends is not trusted. The change is recorded with who, when and why.
    """
    if not is_manager(by, restaurant):
        raise ManagersOnly("Only a manager may change the overbooking policy.")
    suggestions = {s["service"]: s for s in cap_suggestions(
        restaurant, visit_rows(restaurant, ServiceClock(restaurant), date_from, date_to))}
    if service not in suggestions:
        known = ", ".join(suggestions) or "none with bookings in this range"
        raise InvalidInput({"service": [f"No history for a service {service!r} (services: {known})."]})
    suggestion = suggestions[service]
    if suggestion["suggested_cap"] is None:
        raise NotEnoughHistory(suggestion["words"])
    now = now or timezone.now()
    with transaction.atomic():
        policy = OverbookingPolicy.objects.select_for_update().filter(restaurant=restaurant).first()
        if policy is None:
            policy = OverbookingPolicy(restaurant=restaurant, **NEW_POLICY)
        previous = policy.max_overbooked_covers if policy.pk else None
        policy.max_overbooked_covers = suggestion["suggested_cap"]
        policy.save()  # the signal renews the restaurant's config token: the engine sees the new cap at once
        return OverbookingCapChange.objects.create(
            restaurant=restaurant, previous_cap=previous, new_cap=suggestion["suggested_cap"], service=service,
            history_from=date_from, history_to=date_to, reasoning=suggestion["words"], by=by, at=now,
        )
