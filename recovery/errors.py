"""Recovery's errors as types; the API's one handler (`reservations.api.errors`) answers each with its code."""

from reservations.errors import BookError


class CaseClosed(BookError):
    status = 409
    code = "case_closed"
    default_detail = "This case is closed: its timeline is history now."
