"""The hook a booking uses to have its gestures and staff notes prepared (`services.gestures`) after it commits.

A module of its own so the booking service can call it without importing the gestures service, which
builds on the booking's lock helpers.
"""

from __future__ import annotations

import logging

from django.db import transaction

from cxhost.redis_guard import task_send

from ..models import Reservation


def guest_preparation_send(reservation: Reservation) -> None:
    """Have a worker prepare for this party once the booking commits. Call it inside the booking's transaction.

    A broker that is down or hung must not turn a committed booking into an error or a wait; the beat sweep
    (`guests_prepare_pending`) prepares what this never handed over. Logged at INFO: while Redis is down, a
    booking's one warning is its confirmation's, left pending for beat.
    """
    from ..tasks import prepare_for_guest_task  # tasks import the services: import it when it is sent

    pk = reservation.pk
    transaction.on_commit(lambda: task_send(prepare_for_guest_task, (pk,), level=logging.INFO,
                                            what=f"preparation for reservation {pk} left for the sweep"))
