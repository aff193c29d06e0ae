"""A local Twilio: the Programmable Messaging endpoints we use, answered as Twilio documents them.

Twilio itself is never called from a test. The SDK is pointed here through `TWILIO_API_BASE_URL`, and the fake
speaks the documented REST API (API version 2010-04-01), nothing more:

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` creates a message (form fields `To`, `From` or
  `MessagingServiceSid`, `Body`, `StatusCallback`) and answers 201 with the Message resource;
- `GET  /2010-04-01/Accounts/{AccountSid}/Messages.json` lists messages, newest first, filtered by `To`, `From`,
  `DateSent`, `DateSent<` and `DateSent>` (the SDK's `date_sent_before`/`_after`), paged by `PageSize`/`Page`;
- `GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` fetches one.

Every request must carry HTTP Basic auth with the account's SID and auth token (401, Twilio code 20003,
otherwise). A `To` that is not E.164 is refused with 400, code 21211, as Twilio refuses it.

Faults are set from the test, in-thread (`FakeTwilio`), never through the HTTP API a client sees:
`fail_next` answers the next requests with an error, and `hold` parks a create request — before the message
is recorded (the provider never got it) or after (it has it, but the caller never hears the SID) — until the
test releases it, so a worker can be killed at that moment. A request parked before the record whose caller
has hung up by the release is dropped, never recorded (`Hold.dropped`): the message never reached Twilio.

Run alone for a process that is not a test (the production smoke test): `python -m tests.fakes.twilio --port N
--account-sid AC… --auth-token …`; it prints `ready <url>` once it listens. What it was sent is read back through
Twilio's own list endpoint.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import select
import socket
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class Hold:
    """A create request parked at `when` ("before_record" or "after_record") until `release` is set."""

    when: str
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # Set when a request parked "before_record" was dropped because its caller had gone by the release.
    dropped: threading.Event = field(default_factory=threading.Event)


def _twilio_error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


def _parse_iso(value: str) -> datetime:
    """The SDK sends `DateSent` filters as ISO 8601 (`2026-12-07T23:53:25Z`); Twilio also takes a bare date."""
    value = value.strip()
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeTwilio:
    """The fake's state and its server, on 127.0.0.1 (a free port unless `port` says otherwise)."""

    def __init__(self, *, account_sid: str, auth_token: str, port: int = 0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []  # in the order they were created
        self.requests: list[dict] = []  # every request, as received: method, path, auth, form, query
        self._errors: list[tuple[int, dict]] = []
        self._hold: Hold | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- what a test sets and reads -------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._hold is not None:
            self._hold.release.set()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, code: int, message: str, *, times: int = 1) -> None:
        """Answer the next `times` create requests with this Twilio error instead of creating anything."""
        with self._lock:
            self._errors.extend([_twilio_error(status, code, message)] * times)

    def hold(self, when: str) -> Hold:
        """Park the next create request `when` ("before_record" or "after_record"); see `Hold`."""
        if when not in ("before_record", "after_record"):
            raise ValueError(when)
        with self._lock:
            self._hold = Hold(when)
            return self._hold

    def sent_to(self, to: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["to"] == to]

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> dict:
        """What the carrier later reports (delivered, undelivered, failed …), as a later fetch shows it."""
        with self._lock:
            message = next(m for m in self.messages if m["sid"] == sid)
            message.update(status=status, error_code=error_code, date_updated=_rfc2822(datetime.now(UTC)))
            return dict(message)

    # --- Twilio's API -----------------------------------------------------------------------------------

    def _create(self, form: dict[str, str], *, caller_gone=lambda: False) -> tuple[int, dict]:
        with self._lock:
            if self._errors:
                return self._errors.pop(0)
            hold, self._hold = self._hold, None
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not (sender or service):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        if hold is not None and hold.when == "before_record":
            hold.arrived.set()
            hold.release.wait(timeout=120)
            if caller_gone():
                hold.dropped.set()
                return _twilio_error(400, 20001, "The request was abandoned by the client.")
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid, "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "to": to, "from": sender or None, "messaging_service_sid": service or None,
            "status": "accepted" if service and not sender else "queued", "direction": "outbound-api",
            "num_segments": "1", "num_media": "0", "price": None, "price_unit": "USD",
            "error_code": None, "error_message": None,
            "date_created": _rfc2822(now), "date_updated": _rfc2822(now), "date_sent": _rfc2822(now),
            "uri": f"{API}/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {"media": f"{API}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "_sent_at": now, "_status_callback": form.get("StatusCallback", ""),
        }
        with self._lock:
            self.messages.append(message)
        if hold is not None and hold.when == "after_record":
            hold.arrived.set()
            hold.release.wait(timeout=120)
        return 201, _public(message)

    def _list(self, query: dict[str, str]) -> tuple[int, dict]:
        try:
            before = _parse_iso(query["DateSent<"]) if query.get("DateSent<") else None
            after = _parse_iso(query["DateSent>"]) if query.get("DateSent>") else None
            on = _parse_iso(query["DateSent"]).date() if query.get("DateSent") else None
            page_size = max(1, min(int(query.get("PageSize", 50)), 1000))
            page = max(0, int(query.get("Page", 0)))
        except ValueError as exc:
            return _twilio_error(400, 20001, f"Invalid parameter: {exc}")
        with self._lock:
            found = [
                m for m in reversed(self.messages)  # newest first, as Twilio lists them
                if (not query.get("To") or m["to"] == query["To"])
                and (not query.get("From") or m["from"] == query["From"])
                and (before is None or m["_sent_at"] <= before)
                and (after is None or m["_sent_at"] >= after)
                and (on is None or m["_sent_at"].date() == on)
            ]
        chunk = found[page * page_size:(page + 1) * page_size]
        base = f"{API}/Accounts/{self.account_sid}/Messages.json"
        more = (page + 1) * page_size < len(found)
        filters = "".join(f"&{k}={v}" for k, v in query.items() if k not in ("Page", "PageSize", "PageToken"))
        return 200, {
            "messages": [_public(m) for m in chunk],
            "uri": f"{base}?PageSize={page_size}&Page={page}{filters}",
            "first_page_uri": f"{base}?PageSize={page_size}&Page=0{filters}",
            "next_page_uri": f"{base}?PageSize={page_size}&Page={page + 1}{filters}" if more else None,
            "previous_page_uri": f"{base}?PageSize={page_size}&Page={page - 1}{filters}" if page else None,
            "page": page, "page_size": page_size, "start": page * page_size,
            "end": page * page_size + max(len(chunk) - 1, 0),
        }

    def _fetch(self, sid: str) -> tuple[int, dict]:
        with self._lock:
            for message in self.messages:
                if message["sid"] == sid:
                    return 200, _public(message)
        return _twilio_error(404, 20404, f"The requested resource {API}/Accounts/{self.account_sid}/Messages/"
                                          f"{sid}.json was not found")

    def _handler(self):
        fake = self
        messages_path = re.compile(rf"^{API}/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the caller hung up (a killed worker): nobody to answer

            def _caller_gone(self) -> bool:
                """The caller closed its end (a killed process's socket reads as end-of-file, or resets)."""
                try:
                    readable, _, _ = select.select([self.connection], [], [], 0)
                    return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                auth = self.headers.get("Authorization", "")
                with fake._lock:
                    fake.requests.append({"method": method, "path": parts.path, "auth": auth, "form": form,
                                          "query": query})
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                match = messages_path.match(parts.path)
                if auth != expected:
                    return self._answer(*_twilio_error(401, 20003, "Authenticate"))
                if match is None or match["account"] != fake.account_sid:
                    return self._answer(*_twilio_error(404, 20404, f"The requested resource {parts.path} "
                                                                   "was not found"))
                if method == "POST" and match["sid"] is None:
                    return self._answer(*fake._create(form, caller_gone=self._caller_gone))
                if method == "GET" and match["sid"] is None:
                    return self._answer(*fake._list(query))
                if method == "GET":
                    return self._answer(*fake._fetch(match["sid"]))
                return self._answer(*_twilio_error(405, 20004, "Method not allowed"))

            def do_GET(self):  # noqa: N802 (the http.server API)
                self._route("GET")

            def do_POST(self):  # noqa: N802
                self._route("POST")

            def log_message(self, *args):
                pass

        return Handler


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True).replace("GMT", "+0000")


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    args = parser.parse_args(argv)
    fake = FakeTwilio(account_sid=args.account_sid, auth_token=args.auth_token, port=args.port)
    print(f"ready {fake.url}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()


if __name__ == "__main__":
    sys.exit(main())
