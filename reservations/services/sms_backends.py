"""Where an outbound SMS is handed over: the console, a JSON-lines file, or Twilio (`SMS_BACKEND`).

A backend's `send` returns the provider's id for the message, or raises
`SmsProviderError` (`permanent` when retrying cannot help, e.g. an invalid
number; `unknown` when the request may have reached the provider, e.g. no
answer in time). A backend that can be asked what it has (`lookup`: Twilio's
message list, the file's lines) lets the outbox settle a message whose worker
died mid-send; the console cannot be asked. Backends know nothing of the
outbox: `messaging.sms_send` claims, retries and records.
"""

from __future__ import annotations

import fcntl
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SmsProviderError(Exception):
    def __init__(self, detail: str, *, permanent: bool = False, unknown: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent
        # The request may have reached the provider (it went out, and no answer came back): never simply retried.
        self.unknown = unknown


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    body: str
    kind: str
    reservation: int | None
    # A phone number (Twilio's `From`) or a messaging service's SID (`MessagingServiceSid`); blank: TWILIO_FROM.
    sender: str = ""


def is_messaging_service(sender: str) -> bool:
    return sender.startswith("MG")


@dataclass(frozen=True)
class ProviderMessage:
    """A message the provider has, as its look-up shows it."""

    id: str
    to: str
    body: str
    status: str  # the provider's word: queued, sent, delivered, undelivered …
    sent_at: datetime | None


class ConsoleBackend:
    """The embedded default: prints the text, so a demo shows what a guest would receive."""

    def send(self, sms: Sms) -> str:
        print(f"[sms {sms.kind} → {sms.to}] {sms.body}", file=sys.stdout, flush=True)
        return f"console-{uuid.uuid4().hex[:12]}"


class FileBackend:
    """One JSON object a line (the contract's keys: to, body, kind, reservation), appended to `SMS_FILE_PATH`."""

    def send(self, sms: Sms) -> str:
        line = json.dumps({"to": sms.to, "body": sms.body, "kind": sms.kind, "reservation": sms.reservation},
                          ensure_ascii=False) + "\n"
        with open(settings.SMS_FILE_PATH, "a", encoding="utf-8") as out:
            # Several worker processes append to one file: one whole line each, never interleaved.
            fcntl.flock(out, fcntl.LOCK_EX)
            try:
                out.write(line)
                out.flush()
            finally:
                fcntl.flock(out, fcntl.LOCK_UN)
        return f"file-{uuid.uuid4().hex[:12]}"

    def lookup(self, sms: Sms, *, sent_between: tuple[datetime, datetime]) -> list[ProviderMessage]:
        """The file's lines for this text (to, body, kind and reservation alike). Lines carry no time and no id,
        so the window is not applied: a kind is sent once per booking, and a repeated reply is found as sent."""
        try:
            with open(settings.SMS_FILE_PATH, encoding="utf-8") as lines:
                found = [_json_or_none(line) or {} for line in lines]
        except FileNotFoundError:
            found = []
        except OSError as exc:
            raise SmsProviderError(f"SMS file unreadable: {exc}") from exc
        wanted = {"to": sms.to, "body": sms.body, "kind": sms.kind, "reservation": sms.reservation}
        return [ProviderMessage(id=f"file-line-{n}", to=sms.to, body=sms.body, status="sent", sent_at=None)
                for n, line in enumerate(found, 1) if {k: line.get(k) for k in wanted} == wanted]


def _json_or_none(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None  # a line cut short (a disk full, a crash mid-write): not this message


class TwilioBackend:
    """Twilio's Programmable Messaging through the official SDK (`TWILIO_*` settings)."""

    def __init__(self) -> None:
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
                   if not getattr(settings, name)]
        if missing:
            raise ImproperlyConfigured(f"SMS_BACKEND=twilio needs {', '.join(missing)}.")

    def send(self, sms: Sms) -> str:
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=_http_client())
        sender = sms.sender or settings.TWILIO_FROM
        by = {"messaging_service_sid": sender} if is_messaging_service(sender) else {"from_": sender}
        try:
            # Twilio tells `/sms/status/` whether the text reached the phone (`messaging.message_delivery_record`).
            message = client.messages.create(to=sms.to, body=sms.body, **by,
                                             status_callback=settings.PUBLIC_BASE_URL + "/sms/status/")
        except TwilioRestException as exc:
            # 4xx other than 429 is Twilio refusing this message (bad number, unsubscribed): retrying won't help.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise SmsProviderError(f"Twilio {exc.status} {exc.code}: {exc.msg}", permanent=permanent) from exc
        except Exception as exc:
            raise _unreachable(exc, sending=True) from exc
        return message.sid

    def lookup(self, sms: Sms, *, sent_between: tuple[datetime, datetime]) -> list[ProviderMessage]:
        """Twilio's messages to `sms.to` from its sender sent within `sent_between`, with this very body."""
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=_http_client())
        after, before = sent_between
        sender = sms.sender or settings.TWILIO_FROM
        by_number = not is_messaging_service(sender)  # else a messaging service's SID, which the list cannot filter on
        try:
            found = client.messages.list(to=sms.to, from_=sender if by_number else None, date_sent_after=after,
                                         date_sent_before=before, page_size=100)
        except TwilioRestException as exc:
            raise SmsProviderError(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
        except Exception as exc:
            raise _unreachable(exc, sending=False) from exc
        # Twilio documents the DateSent filters by day: the window is applied here too (a message still queued
        # has no date_sent yet, and is kept).
        return [ProviderMessage(id=m.sid, to=m.to, body=m.body, status=m.status or "", sent_at=m.date_sent)
                for m in found
                if m.body == sms.body and (by_number or m.messaging_service_sid == sender)
                and (m.date_sent is None or after <= m.date_sent <= before)]


def _unreachable(exc: Exception, *, sending: bool) -> SmsProviderError:
    """Twilio not answering: refused or unresolved (the request never left), or no answer in time (it may have
    been created: an unknown outcome when sending)."""
    import requests

    never_left = isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError) or (
        isinstance(exc, requests.exceptions.ConnectionError)
        and any(reason in repr(exc) for reason in ("NewConnectionError", "NameResolutionError")))
    return SmsProviderError(f"Twilio unreachable: {type(exc).__name__}: {exc}",
                            unknown=sending and not never_left)


def _http_client():
    """The SDK's own HTTP client, sending to `TWILIO_API_BASE_URL` (Twilio itself unless a proxy is set)."""
    from twilio.http.http_client import TwilioHttpClient

    base = settings.TWILIO_API_BASE_URL

    class BaseUrlHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if base != "https://api.twilio.com" and url.startswith("https://api.twilio.com"):
                url = base + url.removeprefix("https://api.twilio.com")
            return super().request(method, url, *args, **kwargs)

    return BaseUrlHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS)


BACKENDS = {"console": ConsoleBackend, "file": FileBackend, "twilio": TwilioBackend}


def sms_backend():
    try:
        return BACKENDS[settings.SMS_BACKEND]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND must be one of {sorted(BACKENDS)}, not "
                                   f"{settings.SMS_BACKEND!r}.") from exc
