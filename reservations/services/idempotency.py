"""`Idempotency-Key` for create requests: the same key and body replay the first answer.

The key is claimed in its own short transaction (so a repeat arriving while
the first is still running sees it and gets 409 `idempotency_in_flight`), and
the answer is stored in the same transaction as the booking it describes, so
a booking never exists without its remembered answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import IdempotencyInFlight, IdempotencyKeyReused, InvalidInput
from ..models import IdempotencyKey


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


def request_fingerprint(body: bytes) -> str:
    """The body's SHA-256; JSON is canonicalised so spacing and key order do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        # Not JSON, or nested too deeply to walk: the raw bytes identify it just as well.
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def idempotency_claim(
    *, scope: str, key: str, fingerprint: str, now: datetime | None = None
) -> IdempotencyKey | Replay:
    """Claim the key for this request, or answer with what the first request got."""
    if not key or len(key) > 255:
        raise InvalidInput({"Idempotency-Key": ["Send a key of 1 to 255 characters."]})
    now = now or timezone.now()
    expired = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyKey.objects.filter(scope=scope, key=key, created_at__lt=expired).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.get(scope=scope, key=key)
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if not existing.in_flight:
        return Replay(existing.response_status, existing.response_body)
    stale = now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    # A claim left in flight this long belongs to a request that died: its
    # booking was rolled back with it, so this request may take the key over.
    taken_over = IdempotencyKey.objects.filter(
        pk=existing.pk, response_status__isnull=True, created_at__lt=stale
    ).update(created_at=now)
    if taken_over:
        existing.created_at = now
        return existing
    raise IdempotencyInFlight()


def idempotency_finish(*, claim: IdempotencyKey, status: int, body: dict) -> None:
    claim.response_status = status
    claim.response_body = body
    claim.save(update_fields=["response_status", "response_body"])


def idempotency_release(*, claim: IdempotencyKey) -> None:
    """Forget a claim whose request failed unexpectedly, so the client may retry."""
    IdempotencyKey.objects.filter(pk=claim.pk, response_status__isnull=True).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    expired = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired).delete()
    return deleted
