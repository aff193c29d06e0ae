"""Where a change came from: the `source` every audit-history row carries (api, desk, admin, sms, task …).

One context variable, set by whoever starts the work: `AuditSourceMiddleware` from the request's path, a
Celery `task_prerun` receiver for tasks (`reservations.audit_receivers`), `manage.py` for management commands.
Anything else (a shell, a test calling a service) is `system`. Kept free of model imports: the historical
models' `source` default points here, so migrations import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

API = "api"
DESK = "desk"
ADMIN = "admin"
SMS = "sms"
TASK = "task"
COMMAND = "command"
GUEST_PAGE = "guest page"
SYSTEM = "system"
SOURCES = (API, DESK, ADMIN, SMS, TASK, COMMAND, GUEST_PAGE, SYSTEM)

# By path prefix, first match wins. The recovery pages are the desk's too.
PATH_SOURCES = (
    ("/api/", API),
    ("/admin/", ADMIN),
    ("/sms/", SMS),
    ("/desk/", DESK),
    ("/recovery/", DESK),
    ("/b/", GUEST_PAGE),
)

_source: ContextVar[str] = ContextVar("cxhost_audit_source", default=SYSTEM)


def current_source() -> str:
    """The source of the change being made now (the historical models' `source` default)."""
    return _source.get()


@contextmanager
def acting_as(source: str) -> Iterator[None]:
    """Every change recorded inside is from `source`; the previous source is back afterwards."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def source_for_path(path: str) -> str:
    for prefix, source in PATH_SOURCES:
        if path.startswith(prefix):
            return source
    return SYSTEM


def set_source(source: str):
    """Set the source until reset with the returned token (for signal pairs such as a task's pre/post run)."""
    return _source.set(source)


def reset_source(token) -> None:
    _source.reset(token)


class AuditSourceMiddleware:
    """Marks every change a request makes with where it came from, by the request's path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(source_for_path(request.path)):
            return self.get_response(request)
