"""Every password login goes through the lockout (reservations/services/logins.py): the authentication backend asks
it before the password is checked and records the outcome; the middleware turns a paused login into its answer.

One backend for the desk's login, the admin's and the token endpoint, since all three call `authenticate()`.
"""

from __future__ import annotations

import logging

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from reservations.api.errors import error_body
from reservations.services.logins import LoginLock, login_failure_record, login_lock, login_success_record

LOCKED_OUT_CODE = "too_many_login_failures"
logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str | None:
    """The address that counts towards a lockout: the same one the public rate limits count (DRF's NUM_PROXIES),
    never a header a client may forge."""
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)


class LockoutModelBackend(ModelBackend):
    """Django's username-and-password check, refused while the login is paused, every outcome recorded."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if username is None or password is None:
            return None
        address = client_address(request) if request is not None else None
        lock = login_lock(username=username, address=address)
        if lock is not None:
            logger.info("login refused while paused (%s) for %r from %s", lock.reason, username, address)
            _mark(request, lock)
            return None  # not recorded: waiting attempts never move the end of the pause
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username, address=address)
            # The failure that starts a pause already says so, rather than the next attempt.
            _mark(request, login_lock(username=username, address=address))
            return None
        user_agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
        login_success_record(user=user, address=address, user_agent=user_agent)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


def _mark(request: HttpRequest | None, lock: LoginLock | None) -> None:
    if request is not None and lock is not None:
        request.login_lock = lock


class LoginLockoutMiddleware:
    """Whatever the login view answered (the form again, a 401), a paused login gets the pause's answer."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        lock = getattr(request, "login_lock", None)
        return lockout_response(request, lock) if lock is not None else response


def wait_text(minutes: int) -> str:
    return ngettext("Logging in is paused: try again in %(minutes)s minute.",
                    "Logging in is paused: try again in %(minutes)s minutes.", minutes) % {"minutes": minutes}


def lockout_response(request: HttpRequest, lock: LoginLock) -> HttpResponse:
    """429 with Retry-After (the seconds left): JSON on the API, a page on the desk and the admin; both say, in the
    reader's language, how many minutes to wait."""
    seconds = lock.seconds_left(timezone.now())
    minutes = -(-seconds // 60)
    headers = {"Retry-After": str(seconds)}
    if request.path.startswith("/api/"):
        detail = gettext("Too many failed logins.") + " " + wait_text(minutes)
        return JsonResponse(error_body(LOCKED_OUT_CODE, detail), status=429, headers=headers)
    response = render(request, "registration/locked_out.html", {"wait": wait_text(minutes)}, status=429)
    response["Retry-After"] = str(seconds)
    return response
