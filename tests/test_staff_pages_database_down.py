"""While the database is down, staff pages answer a 503 page in the user's language that says it is temporary
and when to retry, with one log line per failed request; once the database is back, the pages are back.

A live gunicorn on a PostgreSQL cluster of the test's own (`tests/own_postgres.py`); the host and the manager
logged in through the login page while the database was up, and keep their session cookies. Runs in the
PostgreSQL pass (it needs PostgreSQL's binaries).
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.conf import settings

from tests.own_postgres import LiveServer, OwnPostgres, live_gunicorn, own_postgres_cluster

pytestmark = pytest.mark.postgres

PASSWORD = "db-down-pw-1"
DB_NAME = "cxhost_db_down"
# What the page says, by language: the book is safe, and it tries again by itself.
SAYS = {
    "en": ["The book is briefly unavailable", "bookings already made are safe", "tries again by itself in 5 seconds"],
    "uk": ["Книга бронювань тимчасово недоступна", "в безпеці", "спробує знову через 5 секунд"],
    "ru": ["Книга бронирований временно недоступна", "в сохранности", "попробует снова через 5 секунд"],
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Browser:
    """Just enough of a browser: cookies kept, redirects not followed."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, form: dict | None = None, **headers: str) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {**self.headers, **headers}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if form is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=None if form is None else urlencode(form), headers=sent)
            response = conn.getresponse()
            for header in response.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie(header)
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read().decode(errors="replace"))
        finally:
            conn.close()

    def log_in(self, username: str) -> None:
        self.call("GET", "/accounts/login/")
        answer = self.call("POST", "/accounts/login/", {
            "username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.cookies["csrftoken"]})
        assert answer.status == 302 and "sessionid" in self.cookies, (answer.status, answer.text[:500])


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    with own_postgres_cluster(DB_NAME) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(own_postgres: OwnPostgres) -> Iterator[LiveServer]:
    # No access log: what the server writes is then only what the app and gunicorn have to say.
    with live_gunicorn(own_postgres, DB_NAME, password=PASSWORD, GUNICORN_ACCESS_LOG="") as live:
        yield live


def assert_try_again_page(answer: Answer, language: str, path: str) -> None:
    assert answer.status == 503, (path, answer.status, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert int(answer.headers["retry-after"]) > 0, answer.headers
    assert f'<html lang="{language}">' in answer.text, answer.text[:500]
    for words in SAYS[language]:
        assert words in answer.text, (words, answer.text)
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', answer.text), answer.text
    assert "Server Error" not in answer.text


def test_staff_pages_answer_503_in_their_language_while_the_database_is_down(own_postgres, server):
    host = Browser(server.port)
    host.log_in("host")
    host.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    manager = Browser(server.port)
    manager.log_in("manager")
    manager.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # A tablet whose user never chose a language: the browser's wish decides (the restaurant's is in the database).
    tablet = Browser(server.port, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    tablet.log_in("host")
    desk = host.call("GET", "/desk/samna/")
    assert desk.status == 200
    booking = re.search(r'data-testid="booking-(\d+)"', desk.text).group(1)
    fragment = {"HX-Request": "true", "HX-Current-URL": f"{server.url}/desk/samna/"}
    csrf = {"X-CSRFToken": host.cookies["csrftoken"], **fragment}
    calls = [
        (host, "uk", "GET", "/desk/", {}),
        (host, "uk", "GET", "/desk/samna/", {}),
        (host, "uk", "GET", "/desk/samna/board/", fragment),
        (host, "uk", "POST", f"/desk/samna/r/{booking}/confirm/", csrf),
        (tablet, "ru", "GET", "/desk/samna/", {}),
        (manager, "en", "GET", "/desk/samna/board/", fragment),
        (manager, "en", "GET", "/admin/", {}),
        (manager, "en", "GET", "/admin/reservations/reservation/", {}),
        (manager, "en", "GET", "/recovery/samna/report/", {}),
    ]
    logged_before = len(server.log_text().splitlines())

    own_postgres.stop()
    try:
        answers = [(language, path, who.call(method, path, {} if method == "POST" else None, **headers))
                   for who, language, method, path, headers in calls]
        log = server.log_text().splitlines()[logged_before:]
    finally:
        own_postgres.start()

    for language, path, answer in answers:
        assert_try_again_page(answer, language, path)
    text = "\n".join(log)
    assert "Traceback" not in text and "_session_cache" not in text, text
    assert len(log) == len(calls), text
    for (_who, _language, _method, path, _headers), line in zip(calls, log, strict=True):
        assert f" {path}" in line and "OperationalError" in line, (path, line)

    # Back: the same sessions, the same pages.
    for who, path in [(host, "/desk/samna/"), (host, "/desk/samna/board/"), (tablet, "/desk/samna/"),
                      (manager, "/admin/"), (manager, "/recovery/samna/report/")]:
        assert who.call("GET", path).status == 200, path
