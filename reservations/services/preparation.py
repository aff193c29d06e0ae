"""The hook a booking uses to have its gestures and staff notes prepared (`services.gestures`) after it commits.

A module of its own so the booking service can call it without importing the gestures service, which
builds on the booking's lock helpers.
"""

from __future__ import annotations

from django.db import transaction

from ..models import Reservation


def guest_preparation_send(reservation: Reservation) -> None:
    """Have a worker prepare for this party once the booking commits. Call it inside the booking's transaction.

    `robust`: a broker that is down must not turn a committed booking into an error; the beat sweep
    (`guests_prepare_pending`) prepares what this never handed over.
    """
    from ..tasks import prepare_for_guest_task  # tasks import the services: import it when it is sent

    pk = reservation.pk
    transaction.on_commit(lambda: prepare_for_guest_task.delay(pk), robust=True)
