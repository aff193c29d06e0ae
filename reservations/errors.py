"""The book's errors as types. The API maps each to one HTTP answer in `api.errors`."""

from __future__ import annotations

from datetime import datetime


class BookError(Exception):
    status = 400
    code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, **extra) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)


class InvalidInput(BookError):
    code = "validation_error"
    default_detail = "Some fields are not valid."

    def __init__(self, fields: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()), fields=fields)


class NoTables(BookError):
    status = 409
    code = "no_tables"
    default_detail = "No table is free for this party at this time."

    def __init__(self, reasons: list[str], alternatives: list[datetime], detail: str | None = None) -> None:
        self.reasons = reasons
        self.alternatives = alternatives
        super().__init__(detail, reasons=reasons, alternatives=[{"start": a.isoformat()} for a in alternatives])


class OverrideForbidden(BookError):
    status = 403
    code = "override_forbidden"
    default_detail = "Only a manager may override the book."


class InvalidTransition(BookError):
    status = 409
    code = "invalid_transition"


class NoShowTooEarly(BookError):
    status = 409
    code = "no_show_too_early"
    default_detail = "A guest can only be marked a no-show once their start time has passed."


class TableTaken(BookError):
    status = 409
    code = "table_taken"
    default_detail = "That table is taken at that time."


class TableHeld(BookError):
    status = 409
    code = "held_for_walk_ins"
    default_detail = "That table is held back for walk-ins at that time; a manager may override with a reason."


class NoFreeTable(BookError):
    status = 409
    code = "no_free_table"
    default_detail = "No free table fits this party right now."


class OutsideServiceHours(BookError):
    status = 409
    code = "outside_service_hours"
    default_detail = "The restaurant is not seating guests at this time."


class BookBusy(BookError):
    status = 409
    code = "book_busy"
    default_detail = "The book is busy with other changes for this day; please try again."


class TooManyBookings(BookError):
    """An anonymous booking past a daily cap (per phone, number prefix or address): `services/public_caps.py`."""

    status = 429
    code = "too_many_requests"
    default_detail = ("Too many online bookings today for this phone number, its number range or this connection. "
                      "Please try again tomorrow, or call the restaurant.")

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class IdempotencyKeyReused(BookError):
    status = 422
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request body."


class IdempotencyInFlight(BookError):
    status = 409
    code = "idempotency_in_flight"
    default_detail = "A request with this Idempotency-Key is still being processed."


class InvalidCredentials(BookError):
    code = "invalid_credentials"
    default_detail = "Unable to log in with that username and password."


class NotFound(BookError):
    status = 404
    code = "not_found"
    default_detail = "Not found."


class NotYourRestaurant(BookError):
    status = 403
    code = "not_your_restaurant"
    default_detail = "You are not on the staff of this restaurant."


class PhoneTaken(BookError):
    status = 409
    code = "phone_taken"
    default_detail = "Another guest of this restaurant group already has this phone number."


class ManagersOnly(BookError):
    status = 403
    code = "managers_only"
    default_detail = "Only a manager may do this."


class GestureNeedsApproval(BookError):
    status = 409
    code = "needs_approval"
    default_detail = "This gesture is over the service's budget: a manager must approve it before it is presented."


class NoSmsNumber(BookError):
    status = 409
    code = "no_sms_number"
    default_detail = "This party left no phone number we may text (none given, or they opted out): tell them in person."


class MessageFateUnknown(BookError):
    status = 409
    code = "message_fate_unknown"
    default_detail = ("This text's worker stopped after handing it to the provider, so it may have arrived: it is "
                      "not sent again until the provider has been asked (the outbox does this by itself).")


class BadTwilioSignature(BookError):
    status = 403
    code = "invalid_signature"
    default_detail = "This request is not signed by Twilio for this deployment."
