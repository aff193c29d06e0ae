"""API tokens for staff."""

from __future__ import annotations

from rest_framework.authtoken.models import Token


def token_issue(*, user) -> str:
    """The user's API token (one per user; a password reset in seed_demo revokes it)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
