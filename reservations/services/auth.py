"""API tokens for staff: hashed at rest, good for one shift, revoked by logout or a change of password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from knox.models import AuthToken


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once: only its hash is kept
    expiry: datetime | None


def token_issue(*, user) -> IssuedToken:
    """A new token for the user, expiring after settings.TOKEN_TTL_HOURS; their other tokens stay valid."""
    instance, token = AuthToken.objects.create(user=user)
    return IssuedToken(token=token, expiry=instance.expiry)


def token_revoke(*, token: AuthToken) -> None:
    """Log out the one device that holds this token."""
    token.delete()


def tokens_revoke_all(*, user) -> int:
    """Log the user out of the API everywhere (logout-all, a new password): how many tokens ended."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def tokens_purge_expired(*, now: datetime | None = None) -> int:
    """Delete tokens past their expiry (knox deletes one only when it is next presented): how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now or timezone.now()).delete()
    return deleted
