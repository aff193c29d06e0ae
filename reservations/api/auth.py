"""How the API knows its caller: `Authorization: Token <token>`, a knox token (hashed, expiring)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
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


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    """The schema names the scheme as before (`tokenAuth`, `Authorization: Token <token>`): clients see no change."""

    target_class = "reservations.api.auth.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
