"""Recovery's errors as types (mapped to HTTP by the book's one handler, like every `BookError`)."""

from reservations.errors import BookError


class NotEnoughHistory(BookError):
    status = 409
    code = "not_enough_history"
    default_detail = "There is not enough no-show history for this service to suggest a cap."


class NotVisited(BookError):
    status = 409
    code = "not_visited"
    default_detail = "Expectations are scored after a visit: this party has not arrived."
class CaseClosed(BookError):
    status = 409
    code = "case_closed"
    default_detail = "This case is closed: its timeline is history now."
