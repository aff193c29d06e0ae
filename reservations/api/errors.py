"""Every error the API gives is JSON: {"code", "detail"} (+ "fields" on validation errors)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from ..errors import BookError

logger = logging.getLogger("cxhost")

CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "too_many_requests",
}


# How long a client should wait before retrying while the database is away (a restart or a fail-over).
DATABASE_RETRY_AFTER_SECONDS = 5
READ_ONLY_SQLSTATE = "25006"  # PostgreSQL's read_only_sql_transaction (also a hot standby's answer)


def database_read_only(exc: BaseException) -> bool:
    """Did the database refuse a write because it takes none just now (PostgreSQL or SQLite)?"""
    if not isinstance(exc, DatabaseError):
        return False
    return getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQLSTATE or "readonly database" in str(exc)


def database_unavailable(exc: BaseException) -> bool:
    """Is this the database being away or refusing writes, rather than a bug of ours?"""
    return isinstance(exc, (OperationalError, InterfaceError)) or database_read_only(exc)


def unexpected_error_answer(exc: BaseException) -> tuple[int, dict, dict[str, str]] | None:
    """(status, body, headers) for the errors that are not bugs although no view raised them on purpose."""
    if isinstance(exc, RequestDataTooBig):
        return 413, error_body("request_too_large", "The request body is larger than this API accepts."), {}
    if isinstance(exc, SuspiciousOperation):
        return 400, error_body("bad_request", "The request could not be accepted."), {}
    if isinstance(exc, DataError):
        # A value the database cannot hold that got past validation (PostgreSQL refuses a NUL in text, e.g. in
        # a token header or a signed webhook's field): the request's fault, not a 500. Logged, so that the
        # validation that should have caught it gets written.
        logger.warning("a value the database refused: %s", exc)
        return 400, error_body("bad_request", "The request holds a value that cannot be stored "
                                              "(such as a NUL character)."), {}
    if database_unavailable(exc):
        body = error_body("database_unavailable", "The database is briefly unavailable; nothing was saved. "
                          "Please try again in a few seconds.")
        return 503, body, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    return None


def flatten_fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"guest.phone": ["..."]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(flatten_fields(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_fields(item, f"{prefix}[{index}]"))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def error_body(code: str, detail: str, **extra) -> dict:
    return {"code": code, "detail": detail, **extra}


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, BookError):
        retry_after = getattr(exc, "retry_after", None)
        return Response(error_body(exc.code, exc.detail, **exc.extra), status=exc.status,
                        headers={"Retry-After": str(retry_after)} if retry_after else None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_fields(exc.detail)
        summary = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        return Response(error_body("validation_error", summary or "Invalid input.", fields=fields), status=400)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in CODES.items() if isinstance(exc, cls)), exc.default_code)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(code, detail), status=exc.status_code, headers=headers)
    answer = unexpected_error_answer(exc)
    if answer is not None:
        status_code, body, headers = answer
        return Response(body, status=status_code, headers=headers)
    return None


def error_response(exc: Exception, context: dict | None = None) -> Response:
    """The same answer the handler would give, for views that must keep the response (idempotency)."""
    response = exception_handler(exc, context or {})
    if response is None:
        raise exc
    return response


def json_not_found(request, exception=None):
    from django.http import JsonResponse

    return JsonResponse(error_body("not_found", f"Nothing at {request.path}."), status=status.HTTP_404_NOT_FOUND)


def json_server_error(request):
    from django.http import JsonResponse

    return JsonResponse(error_body("server_error", "Something went wrong on our side; nothing was saved."), status=500)
