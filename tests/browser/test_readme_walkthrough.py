"""The README's "Saturday evening in five steps", followed in Chromium on the data `seed_demo` makes.

A newcomer runs `make demo` on a weekday afternoon and follows the README; so does this test, on a Wednesday
at 15:00 (Kyiv) with the coming Saturday booked full at 20:00 by the demo.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import expect

from reservations.models import Reservation, WaitlistEntry
from tests.browser.conftest import PASSWORD
from tests.conftest import kyiv

pytestmark = pytest.mark.browser


@pytest.fixture
def wednesday(evening, demo):
    """Wednesday 15:00 before the travelled Saturday, and the demo seeded then, as `make demo` does."""
    day = evening.date() - timedelta(days=3)
    with time_machine.travel(kyiv(day, "15:00"), tick=True):
        call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())
        yield day


def test_the_readmes_saturday_evening_in_five_steps(new_page, live_server, wednesday, evening):
    saturday = evening.date()

    # 1. Tonight's book, then the coming Saturday in the date box.
    host = new_page("host")
    olena = Reservation.objects.get(guest__name="Olena Kovalenko", start=kyiv(wednesday, "20:00"))
    expect(host.get_by_test_id("timeline").get_by_test_id(f"booking-{olena.pk}")).to_contain_text("Olena")
    host.get_by_test_id("date-picker").fill(saturday.isoformat())
    host.get_by_test_id("date-picker").dispatch_event("change")
    expect(host).to_have_url(re.compile(rf"date={saturday.isoformat()}"))
    full = Reservation.objects.filter(start=kyiv(saturday, "20:00"))
    assert full.count() >= 5
    for reservation in full:
        expect(host.get_by_test_id("timeline").get_by_test_id(f"booking-{reservation.pk}")).to_be_visible()

    # 2. A booking: a party of 4 on Saturday, at a time the form offers.
    host.get_by_test_id("new-booking").click()
    form = host.get_by_test_id("booking-form")
    form.locator("[name=party_size]").fill("4")
    form.locator("[name=date]").fill(saturday.isoformat())
    form.locator("[name=date]").dispatch_event("change")
    form.get_by_test_id("slots").locator("[data-slot='18:30']").click()
    form.locator("[name=name]").fill("Iryna Bondar")
    form.locator("[name=phone]").fill("067 123 45 67")
    form.get_by_test_id("book-submit").click()
    expect(host.get_by_test_id("toast")).to_contain_text("Iryna Bondar")
    assert Reservation.objects.get(guest__name="Iryna Bondar").start == kyiv(saturday, "18:30")

    # 3. A refusal: two at 20:00 on Saturday. The host sees why and the nearest times, keeps the phone.
    def ask_for_two_at_eight(page, name):
        page.get_by_test_id("new-booking").click()
        form = page.get_by_test_id("booking-form")
        form.locator("[name=party_size]").fill("2")
        form.locator("[name=date]").fill(saturday.isoformat())
        form.locator("[name=time]").fill("20:00")
        form.locator("[name=name]").fill(name)
        form.get_by_test_id("book-submit").click()
        dialog = page.get_by_test_id("no-tables")
        expect(dialog).to_be_visible()
        return dialog

    dialog = ask_for_two_at_eight(host, "Olena K.")
    expect(dialog.get_by_test_id("refusal-reasons")).to_contain_text("held back for walk-ins")
    expect(dialog.get_by_test_id("alternative").first).to_be_visible()
    expect(dialog.get_by_test_id("override")).to_have_count(0)
    dialog.locator("input[name=phone]:not([type=hidden])").fill("067 765 43 21")
    dialog.get_by_test_id("record-refusal").click()
    expect(host.get_by_test_id("toast")).to_contain_text("+380677654321")

    # 4. An override: the manager asks the same and overrides with a reason; a held table takes them.
    manager = new_page("manager")
    dialog = ask_for_two_at_eight(manager, "Olena K.")
    dialog.get_by_test_id("override").locator("[name=override_reason]").fill("regulars, celebrating")
    dialog.get_by_test_id("override-submit").click()
    expect(manager.get_by_test_id("toast")).to_contain_text("override")
    booked = Reservation.objects.get(guest__name="Olena K.")
    assert [a.table.name for a in booked.assignments.all()] in (["T3"], ["T4"])
    assert booked.override_reason == "regulars, celebrating"

    # 5. Walk-ins tonight: parties of six until one goes on the waitlist.
    host.get_by_test_id("date-picker").fill(wednesday.isoformat())
    host.get_by_test_id("date-picker").dispatch_event("change")
    for expected in (re.compile(r"seated at T9|seated at T10"), re.compile(r"seated at T9|seated at T10"),
                     re.compile(r"Waitlisted")):
        host.get_by_test_id("new-walk-in").click()
        walk_in = host.get_by_test_id("booking-form")
        walk_in.locator("[name=party_size]").fill("6")
        walk_in.get_by_test_id("book-submit").click()
        expect(host.get_by_test_id("toast")).to_contain_text(expected)
    [waiting] = WaitlistEntry.objects.filter(status="waiting")
    expect(host.get_by_test_id(f"waiting-{waiting.pk}")).to_contain_text(f"quoted {waiting.quoted_wait_minutes} min")
