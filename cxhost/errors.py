"""Error pages: JSON under /api/ (never an HTML page there), Django's defaults elsewhere; and "try again" while
the database is away, on every page however early it failed."""

import logging
import sys

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views import defaults

from reservations.api.errors import (
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable,
    json_not_found,
    json_server_error,
    unexpected_error_answer,
)

logger = logging.getLogger("cxhost")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's handler500: called for any exception no view or middleware answered, wherever it was raised
    (loading the session or the user in the middleware, a language lookup, the view), inside Django's `except`,
    so the exception is at hand."""
    exception = sys.exc_info()[1]
    if exception is not None and database_unavailable(exception):
        return database_unavailable_answer(request, exception)
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)


def database_unavailable_answer(request, exception: BaseException) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, else a page in the user's language that retries by itself.

    One line in the log, no traceback: an outage is not a bug, and a traceback per request would bury the one
    that is. Nothing here may read the database: not the session, not the user, not their restaurant.
    """
    first_line = (str(exception).strip().splitlines() or [""])[0]
    logger.warning("database_unavailable on %s: %s: %s", request.path, type(exception).__name__, first_line)
    if request.path.startswith("/api/"):
        status, body, headers = unexpected_error_answer(exception)
        response = JsonResponse(body, status=status, headers=headers)
    else:
        with translation.override(page_language(request)):
            page = render_to_string("database_unavailable.html", {
                "retry_after": DATABASE_RETRY_AFTER_SECONDS, "path": request.get_full_path(),
                "LANGUAGE_CODE": translation.get_language()})
        response = HttpResponse(page, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    response._has_been_logged = True  # Django logs a 5xx with its traceback unless told it was logged
    return response


def page_language(request) -> str:
    """The page's language without the database: what the middleware already chose (the switcher's cookie, else the
    browser's wish; or the restaurant's, if it was read before the database went), else those read afresh."""
    return getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
