"""What django-axes answers to a login refused for too many failures, and whose address a login comes from."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from reservations.api.errors import error_body

LOCKED_OUT_CODE = "too_many_login_failures"


def cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with Retry-After: JSON on the API, a page that says what happened and when to try again elsewhere.

    Retry-After is the whole cooling-off time: every attempt meanwhile (even the right password) starts it again.
    """
    seconds = cooloff_seconds()
    headers = {"Retry-After": str(seconds)}
    if request.path.startswith("/api/"):
        body = error_body(LOCKED_OUT_CODE, f"Too many failed logins for this username or from this address. "
                          f"Logins are refused for {seconds // 60} minutes; try again later.")
        return JsonResponse(body, status=429, headers=headers)
    response = render(request, "registration/locked_out.html", {"minutes": seconds // 60}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def client_address(request: HttpRequest) -> str | None:
    """The address that counts towards a lockout: the same one the public rate limits count (DRF's NUM_PROXIES),
    never a header a client may forge."""
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)
