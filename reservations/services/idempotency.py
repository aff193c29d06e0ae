"""`Idempotency-Key` for create requests: the same key and body replay the first answer.

The view claims the key in its own short transaction (so a repeat arriving
while the first is still running sees it and gets 409 `idempotency_in_flight`)
and hands the claim to the service. The service settles it — the status and
the reservation or waitlist entry it made, or the full refusal — in the same
durable transaction as the booking, so a booking never exists without its
remembered answer. After the commit the view fills in the body it sent; were
the process to die in between, a replay renders the settled link instead.

Only final answers are kept: one that only says "try again" (a busy book, a
table taken in a race, a 5xx) is released, so a retry with the same key does
the work afresh.

On PostgreSQL the request working on a key also holds the key's owner lock (a
session advisory lock) from before its claim until `idempotency_done`. A
request that died (its worker killed, the database restarted) loses the lock
with its connection, so a retry that finds the key in flight and gets the lock
takes the key over at once, instead of waiting out IDEMPOTENCY_IN_FLIGHT_SECONDS
as on SQLite, where a claim can only go stale with time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..errors import BookError, IdempotencyInFlight, IdempotencyKeyReused, InvalidInput
from ..models import IdempotencyKey, Reservation, WaitlistEntry


@dataclass(frozen=True)
class Replay:
    """The first answer again: its body, or (if it was never filled in) what it was about."""

    status: int
    body: dict | None
    reservation_id: int | None = None
    waitlist_entry_id: int | None = None


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
    if not key.isprintable():
        # PostgreSQL cannot store a NUL in text (it was a 500 there); no client needs control characters.
        raise InvalidInput({"Idempotency-Key": ["Send a key of printable characters."]})
    owner_lock = _owner_lock_id(scope, key)
    owned = _owner_lock_try(owner_lock)
    try:
        claim = _claim(scope=scope, key=key, fingerprint=fingerprint, now=now or timezone.now(), owned=owned)
    except BaseException:
        if owned:
            _owner_lock_release(owner_lock)
        raise
    if owned:
        if isinstance(claim, Replay):
            _owner_lock_release(owner_lock)
        else:
            claim.owner_lock = owner_lock  # released by idempotency_done()
    return claim


def idempotency_done(claim: IdempotencyKey) -> None:
    """The request is finished with its claim (settled, kept or released): let go of the key's owner lock."""
    owner_lock = getattr(claim, "owner_lock", None)
    if owner_lock is not None:
        claim.owner_lock = None
        _owner_lock_release(owner_lock)


def _owner_lock_id(scope: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{scope}\n{key}".encode()).digest()[:8], "big", signed=True)


def _owner_lock_try(owner_lock: int) -> bool | None:
    """True: no living request works on this key now; False: one does; None: not known (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [owner_lock])
        return cursor.fetchone()[0]


def _owner_lock_release(owner_lock: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [owner_lock])
    except DatabaseError:
        pass  # the connection is gone, and the lock with it


def _claim(*, scope: str, key: str, fingerprint: str, now: datetime, owned: bool | None) -> IdempotencyKey | Replay:
    expired = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    if owned is False:
        # A living request holds this key (perhaps between taking the lock and writing its claim): never claim
        # it beside that one; only answer what is settled already.
        existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if existing is None or existing.created_at < expired:
            raise IdempotencyInFlight()
    else:
        try:
            if _unhurried_commit_possible():
                return _claim_insert(scope=scope, key=key, fingerprint=fingerprint, now=now)
            with transaction.atomic():
                return IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.get(scope=scope, key=key)
    if existing.created_at < expired:
        # Past its lifetime a key is forgotten: this request claims it afresh, in place. (Not a delete before
        # every claim: that cost each booking a read and an empty write transaction, SQLite's write lock included.)
        fresh = {"fingerprint": fingerprint, "created_at": now, "response_status": None, "response_body": None,
                 "reservation": None, "waitlist_entry": None}
        if IdempotencyKey.objects.filter(pk=existing.pk, created_at__lt=expired).update(**fresh):
            for field, value in fresh.items():
                setattr(existing, field, value)
            return existing
        existing.refresh_from_db()  # another request renewed it first: answer as to any repeat
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if not existing.in_flight:
        return Replay(existing.response_status, existing.response_body, existing.reservation_id,
                      existing.waitlist_entry_id)
    if owned is False:
        raise IdempotencyInFlight()
    # In flight, and nobody holds the owner lock (PostgreSQL): the request that claimed it died, and its booking
    # was rolled back with it. Elsewhere only time tells: a claim left in flight this long belongs to a request
    # that died. Either way this request may take the key over.
    stale = now if owned else now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    taken_over = IdempotencyKey.objects.filter(
        pk=existing.pk, response_status__isnull=True, created_at__lt=stale
    ).update(created_at=now)
    if taken_over:
        existing.created_at = now
        return existing
    raise IdempotencyInFlight()


# --- the claim and the kept body: their own transactions, whose commits need not wait for the disk -------------
#
# PostgreSQL, outside any transaction (as the view calls them): `SET LOCAL synchronous_commit = off` and the write
# go as one query string, which PostgreSQL runs as one transaction, so each is one round trip whose commit does
# not wait for its WAL flush (about a millisecond of a booking's, once per write). No promise rests on these two
# commits being flushed at once:
# - the claim: the booking that settles it commits later with synchronous_commit on, and flushing WAL flushes
#   everything before it, the claim's insert and commit included. So a booking that survives a crash has its
#   claim (settled) with it, and a replay finds it; a claim lost in a crash was followed by no durable booking,
#   so a retry starts afresh and books once. Seen by another request before the flush, it only answered that
#   request "in flight, try again".
# - the kept body: a crash that loses it leaves the key as the booking's own transaction settled it (the status
#   and the reservation, durable), and a replay renders the settled booking — the case this module already
#   handles for a process dying between that commit and the keep. A final "no" given before any booking (bad
#   input) that loses its body leaves a claim in flight whose owner lock died with the crash: a retry takes it over
#   and is refused again, as it was. Nothing is double-booked and no answer a guest saw is contradicted.


def _unhurried_commit_possible() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _unhurried(sql: str, params: list) -> tuple[list | None, int]:
    """Run one write as its own transaction that commits without waiting for the disk: (rows, rowcount)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off; " + sql, params)
        cursor.cursor.nextset()  # past the SET, to the write's own result
        return (cursor.fetchall() if cursor.description else None), cursor.rowcount


KEY_TABLE = IdempotencyKey._meta.db_table


def _claim_insert(*, scope: str, key: str, fingerprint: str, now: datetime) -> IdempotencyKey:
    rows, _ = _unhurried(
        f'INSERT INTO "{KEY_TABLE}" (scope, key, fingerprint, created_at) VALUES (%s, %s, %s, %s) RETURNING id',
        [scope, key, fingerprint, now])
    claim = IdempotencyKey(scope=scope, key=key, fingerprint=fingerprint, created_at=now, pk=rows[0][0])
    claim._state.adding, claim._state.db = False, connection.alias  # as if read: it is a stored row
    return claim


def idempotency_settle(
    *,
    claim: IdempotencyKey,
    status: int,
    reservation: Reservation | None = None,
    waitlist_entry: WaitlistEntry | None = None,
    body: dict | None = None,
) -> None:
    """Remember the final answer. Must be called inside the service's transaction, with what it wrote."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency_settle() must run inside the transaction that made the answer.")
    claim.response_status = status
    claim.response_body = body
    claim.reservation = reservation
    claim.waitlist_entry = waitlist_entry
    claim.save(update_fields=["response_status", "response_body", "reservation", "waitlist_entry"])


def idempotency_settle_refusal(*, claim: IdempotencyKey, refusal: BookError) -> None:
    """A refusal that is final (`no_tables`): replayed as given, never decided twice."""
    idempotency_settle(claim=claim, status=refusal.status,
                       body={"code": refusal.code, "detail": refusal.detail, **refusal.extra})


def idempotency_keep(*, claim: IdempotencyKey, status: int, body: dict) -> None:
    """Keep the body the first request was answered with: filled in once the service has settled the
    answer, or the whole answer for a final "no" the view gave before any booking was made."""
    if claim.response_body is not None:
        return  # the service settled the whole answer already (a refusal): nothing left to fill in
    if _unhurried_commit_possible():
        body_value = IdempotencyKey._meta.get_field("response_body").get_db_prep_save(body, connection)
        _unhurried(f'UPDATE "{KEY_TABLE}" SET response_status = %s, response_body = %s WHERE id = %s '
                   "AND response_body IS NULL AND (response_status IS NULL OR response_status = %s)",
                   [status, body_value, claim.pk, status])
        return
    IdempotencyKey.objects.filter(pk=claim.pk, response_body__isnull=True).filter(
        Q(response_status__isnull=True) | Q(response_status=status)
    ).update(response_status=status, response_body=body)


def idempotency_release(*, claim: IdempotencyKey) -> None:
    """Forget a claim the service did not settle (a transient or failed answer), so the client may retry."""
    IdempotencyKey.objects.filter(pk=claim.pk, response_status__isnull=True).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    expired = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired).delete()
    return deleted
