"""Where an outbound SMS is handed over: the console, a JSON-lines file, or Twilio (`SMS_BACKEND`).

A backend's `send` returns the provider's id for the message, or raises
`SmsProviderError` (`permanent` when retrying cannot help, e.g. an invalid
number). Backends know nothing of the outbox: `messaging.sms_send` claims,
retries and records.
"""

from __future__ import annotations

import fcntl
import json
import sys
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SmsProviderError(Exception):
    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    body: str
    kind: str
    reservation: int | None


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


class TwilioBackend:
    """Twilio's Programmable Messaging through the official SDK (`TWILIO_*` settings)."""

    def __init__(self) -> None:
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
                   if not getattr(settings, name)]
        if missing:
            raise ImproperlyConfigured(f"SMS_BACKEND=twilio needs {', '.join(missing)}.")

    def send(self, sms: Sms) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException
        from twilio.rest import Client

        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=_http_client())
        try:
            # Twilio tells `/sms/status/` whether the text reached the phone (`messaging.message_delivery_record`).
            message = client.messages.create(to=sms.to, from_=settings.TWILIO_FROM, body=sms.body,
                                             status_callback=settings.PUBLIC_BASE_URL + "/sms/status/")
        except TwilioRestException as exc:
            # 4xx other than 429 is Twilio refusing this message (bad number, unsubscribed): retrying won't help.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise SmsProviderError(f"Twilio {exc.status} {exc.code}: {exc.msg}", permanent=permanent) from exc
        except (TwilioException, OSError) as exc:
            raise SmsProviderError(f"Twilio unreachable: {exc}") from exc
        except Exception as exc:  # requests' connection and timeout errors
            raise SmsProviderError(f"Twilio request failed: {type(exc).__name__}: {exc}") from exc
        return message.sid


def _http_client():
    """The SDK's own HTTP client, sending to `TWILIO_API_BASE_URL` (Twilio itself unless a proxy is set)."""
    from twilio.http.http_client import TwilioHttpClient

    base = settings.TWILIO_API_BASE_URL

    class BaseUrlHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if base != "https://api.twilio.com" and url.startswith("https://api.twilio.com"):
                url = base + url.removeprefix("https://api.twilio.com")
            return super().request(method, url, *args, **kwargs)

    return BaseUrlHttpClient(timeout=10)


BACKENDS = {"console": ConsoleBackend, "file": FileBackend, "twilio": TwilioBackend}


def sms_backend():
    try:
        return BACKENDS[settings.SMS_BACKEND]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND must be one of {sorted(BACKENDS)}, not "
                                   f"{settings.SMS_BACKEND!r}.") from exc
