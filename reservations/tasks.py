from celery import shared_task

from .services.idempotency import idempotency_purge


@shared_task
def purge_idempotency_keys_task() -> int:
    return idempotency_purge()
