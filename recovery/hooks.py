"""Where turned-away recovery plugs into the book (which knows nothing of recovery):

- a pending offer's tables are a hold every day plan shows taken (`selectors.HOLD_SOURCES`);
- a guest's text answering a `recovery_offer` is the offer's question (`inbound_sms.QUESTIONS`), and one
  answering a `recovery_gone` ("it has gone, you are still on the list") is answered kindly in the same words;
- a booking giving its tables back sends the offers task after its commit (`signals.tables_released`).
"""

from __future__ import annotations

from django.db.models import Q

from cxhost.redis_guard import task_send


def offers_plug_in() -> None:
    from reservations import selectors
    from reservations.models import OutboundMessage
    from reservations.services import inbound_sms
    from reservations.signals import tables_released

    from .services.offers import offer_holds
    from .services.offers_answers import gone_answer, offer_answer

    if offer_holds not in selectors.HOLD_SOURCES:
        selectors.HOLD_SOURCES.append(offer_holds)
    # ...and the desk's timeline draws them, so the host sees whom a table is held for and until when.
    from reservations.desk import board

    from .desk import offer_hold_blocks

    if offer_hold_blocks not in board.HOLD_BLOCKS:
        board.HOLD_BLOCKS.append(offer_hold_blocks)
    # Open until the offered table's time has passed: a late YES still hears, kindly, that it has gone.
    inbound_sms.QUESTIONS[OutboundMessage.Kind.RECOVERY_OFFER] = inbound_sms.Question(
        open=lambda now: Q(recovery_offer__end__gt=now), answer=offer_answer)
    # Open as long as the table it told of: a YES to it meant that table, and later texts take over anyway.
    inbound_sms.QUESTIONS[OutboundMessage.Kind.RECOVERY_GONE] = inbound_sms.Question(
        open=lambda now: Q(case_step__offer__end__gt=now), answer=gone_answer)
    tables_released.connect(_offer_freed_tables, dispatch_uid="recovery_offer_freed_tables")


def _offer_freed_tables(sender, *, restaurant_id, day, reservation_id, released_at, **kwargs) -> None:
    from .tasks import offer_freed_tables_task

    # A broker down loses nothing: the beat sweep makes the offers.
    task_send(offer_freed_tables_task, (restaurant_id, day.isoformat(), reservation_id, released_at.isoformat()),
              what=f"offers for the tables reservation {reservation_id} freed left for the sweep")


def privacy_plug_in() -> None:
    """A guest's export and erasure reach their recovery cases and scored expectations too."""
    from reservations.services import privacy

    from .services.privacy import recovery_erase, recovery_export

    if recovery_export not in privacy.EXPORT_PARTS:
        privacy.EXPORT_PARTS.append(recovery_export)
    if recovery_erase not in privacy.ERASE_PARTS:
        privacy.ERASE_PARTS.append(recovery_erase)
