"""The front desk in a real browser: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test runs on a Saturday evening at Samna (19:05, Kyiv time, two weeks ahead): the clock is travelled,
not mocked, so the server's "tonight", the hold-back hours and the waitlist's elapsed minutes are those of a
real Saturday service whenever and wherever the suite runs. Bookings are made through the same services the
desk calls, with the moment they were taken, before the browser looks.

Chromium comes from Debian's package (`apt-get install chromium`; `.ci/run` installs it). A missing browser
fails the run: browser tests are never skipped.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.signals import request_finished, request_started
from playwright.sync_api import expect

from reservations.services.demo import demo_restaurant_reset, demo_users_reset, steakhouse_reset
from tests.conftest import kyiv, next_weekday

CHROMIUM = os.environ.get("CXHOST_CHROMIUM", "/usr/bin/chromium")
# The flags this machine's closed network needs (no background fetches, no QUIC) and a root user needs (no sandbox).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "desk-demo-pw-1"
TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The desk polls its parts; a change made elsewhere must show within this (the poll interval plus a margin).
LIVE_WITHIN_MS = 12_000
# Where screenshots go: a temp dir by default; `make screenshots` points it at docs/screenshots/.
SCREENSHOT_DIR = Path(os.environ.get("CXHOST_SCREENSHOT_DIR", "/tmp/cxhost-screenshots"))


def saturday_evening() -> datetime:
    """19:05 on a Saturday two weeks ahead: the hold-back for walk-ins (Fri/Sat 19:00-22:00) is in force."""
    return kyiv(next_weekday(5), "19:05")


# A shared machine with two cores answers slower than a laptop: give what a person waits for some room.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module, stopped at the module's end.

    Playwright's sync API keeps an asyncio loop running in this thread while it lives, and Django refuses
    ORM calls beside a running loop; the tests' own calls are plain synchronous ones all the same, so they
    are allowed for exactly as long as the browser lives (and no longer, for the rest of the suite).
    """
    if not os.path.exists(CHROMIUM):
        pytest.exit(f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` (the browser tests "
                    "never skip)", returncode=4)
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def evening(chromium) -> Iterator[datetime]:
    """The travelled clock: server and services see Saturday 19:05 in Kyiv, and time keeps ticking."""
    moment = saturday_evening()
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture
def tonight(evening) -> date:
    return evening.date()


@pytest.fixture
def demo(evening, transactional_db):
    """Samna and The Steakhouse with the demo's five users, as `seed_demo` makes them."""
    samna = demo_restaurant_reset()
    steakhouse_reset()
    demo_users_reset(password=PASSWORD)
    return samna


@pytest.fixture
def staff_users(demo) -> dict:
    from django.contrib.auth import get_user_model

    from reservations.services.demo import DEMO_USERS

    return {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERS)}


@pytest.fixture
def desk_url(live_server, demo) -> str:
    return f"{live_server.url}/desk/{demo.slug}/"


def login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person does, and land on the desk."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url(re.compile(r"/desk/"))


@pytest.fixture
def new_page(chromium, live_server, demo):
    """`new_page(username, viewport=TABLET, language="en")`: a fresh browser context logged in as that demo user,
    who chose `language` with the switcher before (None: never chose)."""
    contexts = []
    # The Content-Security-Policy forbids inline scripts: anything of the desk's it blocked fails the test.
    blocked: list[str] = []

    def make(username: str | None = None, *, viewport: dict | None = None, language: str | None = "en"):
        context = chromium.new_context(viewport=viewport or TABLET, locale="en-US", timezone_id="Europe/Kyiv")
        context.set_default_timeout(10_000)
        if language:  # the language this tablet's user picked with the switcher earlier (else: Samna's, Ukrainian)
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        # What went wrong in the page, printed with a failing test's output.
        page.on("console", lambda msg: msg.type in ("error", "warning") and print(f"[{username} console] {msg.text}"))
        page.on("pageerror", lambda exc: print(f"[{username} page error] {exc}"))
        page.on("console", lambda msg: "Content Security Policy" in msg.text and blocked.append(msg.text))
        page.on("response", lambda r: r.status >= 400 and print(f"[{username}] {r.status} {r.request.method} {r.url}"))
        if username:
            login(page, live_server.url, username)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not blocked, blocked
    # The desk polls; a request the server is still answering would hold SQLite's tables while the test
    # database is flushed. Wait for the server to finish what it started (closing stopped new polls).
    server_idle()


class _InFlight:
    """Requests the live server is answering now, counted by Django's own request signals.

    Only the live server's own threads count: a test calling the app in its own thread (the schema fuzz's
    WSGI calls) may never close its response, and so never sends `request_finished`.
    """

    count = 0
    lock = threading.Lock()

    @classmethod
    def started(cls, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            with cls.lock:
                cls.count += 1

    @classmethod
    def finished(cls, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            with cls.lock:
                cls.count -= 1


request_started.connect(_InFlight.started, dispatch_uid="browser-tests-in-flight")
request_finished.connect(_InFlight.finished, dispatch_uid="browser-tests-in-flight")


def server_idle(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _InFlight.count > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"the live server still answers {_InFlight.count} request(s) after {timeout}s")
        time.sleep(0.02)


@pytest.fixture
def host_page(new_page):
    return new_page("host")


@pytest.fixture
def manager_page(new_page):
    return new_page("manager")


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """Keep what the person saw: `<SCREENSHOT_DIR>/<name>.png`."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --- the book, through the services the desk calls ---------------------------------------------------------


def phone_for(n: int) -> str:
    return f"+38067{n:07d}"


def book(restaurant, day: date, hhmm: str, party_size: int, name: str, *, n: int = 1, channel: str = "phone"):
    """A booking taken by phone at noon that day, as the book fills before the evening."""
    from reservations.services.booking import reservation_create
    from reservations.services.guests import GuestDetails

    return reservation_create(restaurant=restaurant, start=kyiv(day, hhmm), party_size=party_size, channel=channel,
                              guest=GuestDetails(name=name, phone=phone_for(n)), now=kyiv(day, "12:00"))


def fill(restaurant, day: date, hhmm: str, party_size: int = 2) -> list:
    """Book parties by phone at `hhmm` until the book says no: every free table that is not held back taken,
    then the overbooking allowance used up. Returns the bookings made."""
    from reservations.errors import NoTables

    made = []
    for n in range(1, 40):  # Samna has 12 tables and 4 overbooked covers: far fewer than this
        try:
            made.append(book(restaurant, day, hhmm, party_size, f"Filler {n}", n=500 + n))
        except NoTables:
            return made
    raise AssertionError(f"{hhmm} never filled up")


def walk_in(restaurant, moment: datetime, party_size: int, name: str, *, n: int):
    from reservations.services.guests import GuestDetails
    from reservations.services.walk_ins import walk_in_arrive

    return walk_in_arrive(restaurant=restaurant, party_size=party_size,
                          guest=GuestDetails(name=name, phone=phone_for(n)), now=moment)
