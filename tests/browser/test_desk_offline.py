"""The desk while its database is away, in Chromium: it says "offline", keeps the last book on screen, says a
tapped status change did not go through, and comes back by itself when the database does.

The server is a live gunicorn (production settings) on a PostgreSQL cluster of the test's own
(`tests/own_postgres.py`), stopped for real mid-test: the suite's own database (SQLite in the browser pass) is
never touched. Needs PostgreSQL's binaries beside Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import LIVE_WITHIN_MS, TABLET, screenshot
from tests.own_postgres import LiveServer, OwnPostgres, live_gunicorn, own_postgres_cluster

pytestmark = pytest.mark.browser

PASSWORD = "desk-offline-pw-1"
DB_NAME = "cxhost_desk_offline"
OFFLINE = {"en": "Offline — retrying…", "uk": "Немає зв'язку — пробуємо знову…"}
FAILED = {"en": "That did not go through", "uk": "Не вдалося"}


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    with own_postgres_cluster(DB_NAME) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(own_postgres: OwnPostgres) -> Iterator[LiveServer]:
    with live_gunicorn(own_postgres, DB_NAME, password=PASSWORD, GUNICORN_ACCESS_LOG="") as live:
        yield live


@pytest.fixture
def desk(chromium, server):
    """`desk(username, language)`: that user's desk in a fresh tablet, logged in through the login form."""
    contexts, blocked = [], []

    def open_desk(username: str, language: str):
        context = chromium.new_context(viewport=TABLET, locale="en-US", timezone_id="Europe/Kyiv")
        context.set_default_timeout(10_000)
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.url}])
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: "Content Security Policy" in msg.text and blocked.append(msg.text))
        page.goto(f"{server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form [type=submit]").first.click()
        page.wait_for_url(re.compile(r"/desk/samna/"))
        return page

    yield open_desk
    for context in contexts:
        context.close()
    assert not blocked, blocked


def blocks(page) -> list[tuple[str, str]]:
    """The booking blocks on the board: (test id, status)."""
    return [(b.get_attribute("data-testid"), b.get_attribute("data-status"))
            for b in page.locator('#board [data-testid^="booking-"]').all()]


@pytest.mark.parametrize(("username", "language"), [("host", "uk"), ("manager", "en")])
def test_the_desk_says_offline_keeps_its_book_and_comes_back(desk, own_postgres, username, language):
    page = desk(username, language)
    offline = page.get_by_test_id("offline")
    before = blocks(page)
    assert before, "the demo's book tonight has bookings"
    expect(offline).to_be_hidden()
    # The host opens a booking to change its status, as the database goes.
    booked = page.locator('#board .timeline [data-status="booked"]').first
    booking_id = booked.get_attribute("data-testid")
    booked.click()
    confirm = page.locator('#dialog button[data-action="confirm"]')
    expect(confirm).to_be_visible()

    own_postgres.stop()
    try:
        # The next poll (every 5 s) hears 503: the desk says so, and the book it showed stays.
        expect(offline).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(offline).to_have_text(OFFLINE[language])
        assert blocks(page) == before
        # A status change tapped now did not go through, and the desk says so.
        confirm.click()
        expect(page.get_by_test_id("toast")).to_contain_text(FAILED[language])
        expect(offline).to_be_visible()
        assert blocks(page) == before
        screenshot(page, f"desk-offline-{username}")
    finally:
        own_postgres.start()

    # Back: the poll is answered again, the word goes; the change was not made, and now it can be.
    expect(offline).to_be_hidden(timeout=LIVE_WITHIN_MS)
    assert dict(blocks(page))[booking_id] == "booked"
    confirm.click()  # the booking's panel is still open
    expect(page.locator(f'#board .timeline [data-testid="{booking_id}"]')).to_have_attribute(
        "data-status", "confirmed")
    expect(offline).to_be_hidden()
