"""A Saturday evening at Samna's front desk, in Chromium, as the host and the manager live it.

Each test sets the book up through the booking services, opens the desk in a real browser and asserts what
a person sees there; where the page claims it changed the book, the database is read back to confirm it.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import book, screenshot

OVERRIDE_REASON = "Regulars, celebrating their anniversary"


def booking_block(page, reservation):
    return page.get_by_test_id(f"booking-{reservation.pk}")


def open_booking_form(page, *, walk_in: bool = False):
    page.get_by_test_id("new-walk-in" if walk_in else "new-booking").click()
    form = page.get_by_test_id("booking-form")
    expect(form).to_be_visible()
    return form


def ask_for(form, *, party_size: int, day, hhmm: str | None = None, name: str = "", phone: str = ""):
    """Type a request into the booking form the way a host does: size and date first, then pick the time."""
    form.locator("[name=party_size]").fill(str(party_size))
    date_input = form.locator("[name=date]")
    if date_input.count() and date_input.is_visible():
        date_input.fill(day.isoformat())
    if name:
        form.locator("[name=name]").fill(name)
    if phone:
        form.locator("[name=phone]").fill(phone)
    if hhmm is not None:
        form.locator("[name=time]").fill(hhmm)


# --- logging in -------------------------------------------------------------------------------------------------


def test_anonymous_visitor_gets_the_login_page_not_the_book(new_page, desk_url, demo, tonight):
    guest = book(demo, tonight, "20:00", 2, "Olena Kovalenko")
    page = new_page()

    page.goto(desk_url)

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_text("Olena Kovalenko")).to_have_count(0)
    assert guest.pk  # the book was there to hide


def test_host_logs_in_and_sees_tonights_book_on_the_timeline(new_page, live_server, demo, tonight):
    olena = book(demo, tonight, "20:00", 3, "Olena Kovalenko")
    table = olena.assignments.get().table.name

    page = new_page("host")  # through the login form

    expect(page).to_have_url(re.compile(rf"/desk/{demo.slug}/"))
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_be_visible()
    block = timeline.get_by_test_id(f"table-row-{table}").get_by_test_id(f"booking-{olena.pk}")
    expect(block).to_be_visible()
    expect(block).to_contain_text("Olena")
    expect(block).to_contain_text("3")
    expect(block).to_have_attribute("data-status", "booked")
    # Other tables' rows are there, empty tonight.
    expect(timeline.get_by_test_id("table-row-T10")).to_be_visible()
    screenshot(page, "timeline")
