"""How the API knows its caller: `Authorization: Token <token>`, a knox token (hashed, expiring)."""

from __future__ import annotations

from knox.auth import TokenAuthentication
from rest_framework import exceptions


class ExpiringTokenAuthentication(TokenAuthentication):
    """knox's, except that a token that is not even text is refused (401) rather than crashing (500)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)
