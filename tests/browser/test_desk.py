"""A Saturday evening at Samna's front desk, in Chromium, as the host and the manager live it.

Each test sets the book up through the booking services, opens the desk in a real browser and asserts what
a person sees there; where the page says it changed the book, the database is read back to confirm it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reservations.models import Refusal, Reservation, WaitlistEntry
from reservations.services.demo import demo_book_seed
from tests.browser.conftest import LIVE_WITHIN_MS, PHONE, book, fill, screenshot, walk_in
from tests.conftest import kyiv

pytestmark = pytest.mark.browser
OVERRIDE_REASON = "Regulars, celebrating their anniversary"


def block_of(page, reservation):
    return page.get_by_test_id("timeline").get_by_test_id(f"booking-{reservation.pk}")


def open_form(page, *, walk_in: bool = False):
    page.get_by_test_id("new-walk-in" if walk_in else "new-booking").click()
    form = page.get_by_test_id("booking-form")
    expect(form).to_be_visible()
    return form


def ask_for(page, *, party_size: int, hhmm: str, name: str, phone: str = ""):
    """A new booking typed as a host does: party size, then the time, the guest's name and phone; Book."""
    form = open_form(page)
    form.locator("[name=party_size]").fill(str(party_size))
    form.locator("[name=time]").fill(hhmm)
    form.locator("[name=name]").fill(name)
    if phone:
        form.locator("[name=phone]").fill(phone)
    form.get_by_test_id("book-submit").click()


def toast(page):
    return page.get_by_test_id("toast")


# --- logging in -------------------------------------------------------------------------------------------------


def test_an_anonymous_visitor_gets_the_login_page_not_the_book(new_page, desk_url, demo, tonight):
    book(demo, tonight, "20:00", 2, "Olena Kovalenko")
    page = new_page()

    page.goto(desk_url)

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_text("Olena Kovalenko")).to_have_count(0)


def test_a_wrong_password_is_told_and_stays_on_the_login_page(new_page, live_server):
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "host")
    page.fill("input[name=password]", "not-the-password")
    page.get_by_test_id("login-submit").click()

    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_the_host_logs_in_and_sees_tonights_book_on_the_timeline(new_page, demo, tonight):
    made = demo_book_seed(demo, day=tonight)  # the demo's evening, as `seed_demo` books it
    olena = next(r for r in made if r.guest.name == "Olena Kovalenko")
    table = olena.assignments.get().table.name

    page = new_page("host")  # through the login form

    expect(page).to_have_url(re.compile(rf"/desk/{demo.slug}/"))
    block = page.get_by_test_id(f"table-row-{table}").get_by_test_id(f"booking-{olena.pk}")
    expect(block).to_be_visible()
    expect(block).to_contain_text("Olena Kovalenko")
    expect(block).to_contain_text("2")
    expect(block).to_have_attribute("data-status", "booked")
    bondarenko = next(r for r in made if r.guest.name == "Bondarenko family")
    expect(block_of(page, bondarenko).locator("[data-badge=expectations]")).to_be_visible()
    expect(block_of(page, bondarenko)).to_have_attribute("data-status", "confirmed")
    # Every table has its row, the empty ones too.
    for name in ("T1", "T4", "T10", "T12"):
        expect(page.get_by_test_id(f"table-row-{name}")).to_be_visible()
    screenshot(page, "timeline")


def test_a_host_sees_no_other_restaurants_book(new_page, live_server, demo):
    page = new_page("steak-host")

    expect(page).to_have_url(re.compile(r"/desk/steakhouse/"))
    response = page.goto(f"{live_server.url}/desk/{demo.slug}/")

    assert response.status == 403
    expect(page.get_by_test_id("timeline")).to_have_count(0)


def test_the_admin_switches_between_the_restaurants_they_reach(new_page):
    page = new_page("admin")

    switcher = page.get_by_test_id("restaurant-switcher")
    expect(switcher.locator("option")).to_have_text(["Samna", "The Steakhouse"])
    switcher.select_option(label="The Steakhouse")

    expect(page).to_have_url(re.compile(r"/desk/steakhouse/"))
    expect(page.get_by_test_id("table-row-S1")).to_be_visible()
    expect(page.get_by_test_id("table-row-T1")).to_have_count(0)


def test_a_host_of_one_restaurant_gets_no_switcher(host_page):
    expect(host_page.get_by_test_id("timeline")).to_be_visible()
    expect(host_page.get_by_test_id("restaurant-switcher")).to_have_count(0)


# --- booking ------------------------------------------------------------------------------------------------


def test_the_host_books_a_party_from_the_free_times_the_form_shows(host_page, demo, tonight):
    fill(demo, tonight, "21:00", 2)  # 21:00 is gone for two: the form must not offer it

    form = open_form(host_page)
    form.locator("[name=party_size]").fill("2")
    slots = form.get_by_test_id("slots")
    expect(slots.locator("[data-slot='19:30']")).to_be_visible()
    expect(slots.locator("[data-slot='21:00']")).to_have_count(0)
    slots.locator("[data-slot='19:30']").click()
    expect(form.locator("[name=time]")).to_have_value("19:30")
    form.locator("[name=name]").fill("Iryna Bondar")
    form.locator("[name=phone]").fill("067 123 45 67")  # as the guest says it
    form.get_by_test_id("book-submit").click()

    expect(toast(host_page)).to_contain_text("Iryna Bondar")
    booked = Reservation.objects.get(guest__name="Iryna Bondar")
    assert booked.start == kyiv(tonight, "19:30") and booked.party_size == 2
    assert str(booked.guest.phone) == "+380671234567"
    expect(block_of(host_page, booked)).to_contain_text("Iryna Bondar")


def test_no_tables_shows_why_and_the_nearest_times_and_a_host_gets_no_override(host_page, demo, tonight):
    fill(demo, tonight, "21:00", 2)

    ask_for(host_page, party_size=2, hhmm="21:00", name="Oleh Marchuk", phone="+380509876543")

    dialog = host_page.get_by_test_id("no-tables")
    expect(dialog).to_be_visible()
    reasons = dialog.get_by_test_id("refusal-reasons")
    expect(reasons).to_contain_text("held back for walk-ins")
    expect(reasons).to_contain_text("overbooking limit")
    expect(dialog.get_by_test_id("alternative").first).to_be_visible()
    expect(host_page.get_by_test_id("override")).to_have_count(0)  # not hidden: absent
    expect(host_page.get_by_test_id("override-submit")).to_have_count(0)

    dialog.get_by_test_id("record-refusal").click()

    expect(toast(host_page)).to_contain_text("+380509876543")
    kept = Refusal.objects.get(guest_phone="+380509876543")
    assert kept.party_size == 2 and kept.start == kyiv(tonight, "21:00")
    assert not Reservation.objects.filter(guest__name="Oleh Marchuk").exists()


def test_an_alternative_in_the_no_tables_dialog_books_that_time(host_page, demo, tonight):
    fill(demo, tonight, "21:00", 2)
    ask_for(host_page, party_size=2, hhmm="21:00", name="Oleh Marchuk")
    first = host_page.get_by_test_id("no-tables").get_by_test_id("alternative").first
    hhmm = first.get_attribute("data-slot")

    first.click()

    expect(toast(host_page)).to_contain_text(hhmm)
    booked = Reservation.objects.get(guest__name="Oleh Marchuk")
    assert booked.start == kyiv(tonight, hhmm)


def test_the_manager_overrides_no_tables_with_a_reason_and_the_booking_wears_the_badge(manager_page, demo,
                                                                                        tonight):
    fill(demo, tonight, "21:00", 2)

    ask_for(manager_page, party_size=2, hhmm="21:00", name="Oleh Marchuk", phone="+380509876543")
    override = manager_page.get_by_test_id("no-tables").get_by_test_id("override")
    expect(override).to_be_visible()
    override.locator("[name=override_reason]").fill(OVERRIDE_REASON)
    screenshot(manager_page, "no-tables-override")
    override.get_by_test_id("override-submit").click()

    expect(toast(manager_page)).to_contain_text("Oleh Marchuk")
    booked = Reservation.objects.get(guest__name="Oleh Marchuk")
    assert booked.override_reason == OVERRIDE_REASON
    assert [a.table.name for a in booked.assignments.all()] in (["T3"], ["T4"])  # a held table, not overbooked
    block = block_of(manager_page, booked)
    expect(block.locator("[data-badge=override]")).to_be_visible()
    held_row = manager_page.get_by_test_id(f"table-row-{booked.assignments.get().table.name}")
    expect(held_row.get_by_test_id(f"booking-{booked.pk}")).to_be_visible()


# --- walk-ins, statuses, undo -------------------------------------------------------------------------------


def test_a_walk_in_is_seated_at_once_on_a_table_held_back_for_walk_ins(host_page, demo, tonight):
    fill(demo, tonight, "19:00", 2)  # every table for two not held back is taken for the next hours

    form = open_form(host_page, walk_in=True)
    form.locator("[name=party_size]").fill("2")
    form.locator("[name=name]").fill("Denys Walker")
    form.get_by_test_id("book-submit").click()

    expect(toast(host_page)).to_contain_text(re.compile(r"seated at T[34]"))
    seated = Reservation.objects.get(guest__name="Denys Walker")
    assert seated.status == "seated" and seated.channel == "walk_in"
    table = seated.assignments.get().table.name
    assert table in ("T3", "T4")
    block = host_page.get_by_test_id(f"table-row-{table}").get_by_test_id(f"booking-{seated.pk}")
    expect(block).to_have_attribute("data-status", "seated")


def test_one_tap_status_changes_update_the_page_and_undo_takes_the_last_one_back(host_page, demo, tonight):
    olena = book(demo, tonight, "19:30", 2, "Olena Kovalenko")
    block = block_of(host_page, olena)
    panel = host_page.get_by_test_id("booking-panel")

    block.click()
    expect(panel.locator("[data-action=complete]")).to_have_count(0)  # only what is valid now
    panel.locator("[data-action=confirm]").click()
    expect(block).to_have_attribute("data-status", "confirmed")
    expect(toast(host_page)).to_contain_text("confirmed")

    toast(host_page).get_by_test_id("undo").click()
    expect(block).to_have_attribute("data-status", "booked")
    olena.refresh_from_db()
    assert olena.status == "booked"

    block.click()
    panel.locator("[data-action=seat]").click()
    seat = host_page.get_by_test_id("seat-tables")
    expect(seat.locator("input[name=tables]:checked")).to_have_count(1)  # the suggested table, chosen
    seat.get_by_test_id("seat-submit").click()
    expect(block).to_have_attribute("data-status", "seated")

    block.click()
    panel.locator("[data-action=complete]").click()
    expect(block).to_have_attribute("data-status", "completed")
    olena.refresh_from_db()
    assert olena.status == "completed"


def test_cancelling_takes_the_booking_off_the_floor_and_undo_puts_it_back(host_page, demo, tonight):
    olena = book(demo, tonight, "20:30", 2, "Olena Kovalenko")
    block = block_of(host_page, olena)

    block.click()
    host_page.get_by_test_id("booking-panel").locator("[data-action=cancel]").click()
    expect(block).to_have_count(0)
    olena.refresh_from_db()
    assert olena.status == "cancelled"

    toast(host_page).get_by_test_id("undo").click()
    expect(block).to_have_attribute("data-status", "booked")
    olena.refresh_from_db()
    assert olena.status == "booked"


def test_a_guests_name_opens_their_panel_with_expectations_and_past_visits(host_page, demo, tonight):
    from datetime import timedelta

    from reservations.services.booking import reservation_transition

    before = book(demo, tonight - timedelta(days=7), "19:00", 4, "Petro Marchenko", n=7)
    reservation_transition(reservation=before, action="seat", now=kyiv(tonight - timedelta(days=7), "19:00"))
    reservation_transition(reservation=before, action="complete", now=kyiv(tonight - timedelta(days=7), "21:00"))
    tonight_visit = book(demo, tonight, "20:00", 4, "Petro Marchenko", n=7)
    tonight_visit.guest.expectations = ["kids menu"]
    tonight_visit.guest.save(update_fields=["expectations"])

    block_of(host_page, tonight_visit).click()
    host_page.get_by_test_id("booking-panel").locator(f"[data-guest='{tonight_visit.guest_id}']").click()

    panel = host_page.get_by_test_id("guest-panel")
    expect(panel).to_contain_text("Petro Marchenko")
    expect(panel.get_by_test_id("guest-expectations")).to_contain_text("kids menu")
    expect(panel.get_by_test_id("guest-sms")).to_contain_text("may be texted")
    history = panel.get_by_test_id("guest-history")
    expect(history).to_contain_text((tonight - timedelta(days=7)).isoformat())
    expect(history).to_contain_text("completed")


# --- the waitlist -------------------------------------------------------------------------------------------


def test_the_waitlist_shows_quoted_and_elapsed_minutes_and_turns_red_when_we_are_late(new_page, demo, evening):
    day = evening.date()
    # Only T9 and T10 seat six. Two parties of six sat down at 16:10 and are still there (their turn ended at
    # 18:40): the party of six waiting since 18:00 has outlived its quote.
    for n, name in ((1, "Early Six"), (2, "Other Six")):
        assert walk_in(demo, kyiv(day, "16:10"), 6, name, n=n).status == "seated"
    late = walk_in(demo, kyiv(day, "18:00"), 6, "Hanna Late", n=3).entry
    # Every table for two is booked from 19:00 (the held ones went to two walk-ins): a couple just came in.
    fill(demo, day, "19:00", 2)
    for n, moment in ((4, "19:00"), (5, "19:01")):
        assert walk_in(demo, kyiv(day, moment), 2, f"Couple {n}", n=n).status == "seated"
    fresh = walk_in(demo, kyiv(day, "19:04"), 2, "Petro Fresh", n=6).entry
    assert late is not None and fresh is not None  # both on the waitlist
    assert late.quoted_wait_minutes < 65 < fresh.quoted_wait_minutes  # 65: 18:00 → 19:05

    page = new_page("host")

    waitlist = page.get_by_test_id("waitlist")
    late_row, fresh_row = waitlist.get_by_test_id(f"waiting-{late.pk}"), waitlist.get_by_test_id(f"waiting-{fresh.pk}")
    expect(late_row).to_contain_text("Hanna Late")
    expect(late_row).to_have_attribute("data-late", "true")
    expect(late_row).to_contain_text(f"quoted {late.quoted_wait_minutes} min")
    expect(late_row).to_contain_text(re.compile(r"waiting 6[5-7] min"))
    expect(fresh_row).to_contain_text("Petro Fresh")
    expect(fresh_row).to_have_attribute("data-late", "false")
    expect(fresh_row).to_contain_text(re.compile(r"waiting [0-2] min"))
    late_wait, fresh_wait = (row.get_by_test_id("elapsed").evaluate("e => getComputedStyle(e).color")
                             for row in (late_row, fresh_row))
    assert late_wait != fresh_wait and _reddish(late_wait), (late_wait, fresh_wait)
    screenshot(page, "waitlist")

    late_row.locator("[data-action=notify]").click()
    expect(toast(page)).to_contain_text("Texted")
    assert WaitlistEntry.objects.get(pk=late.pk).notified_at is not None


def _reddish(css: str) -> bool:
    """Some colour in a computed style string is red-dominant."""
    for r, g, b in re.findall(r"rgba?\((\d+), (\d+), (\d+)", css):
        if int(r) > 150 and int(r) > int(g) + 60 and int(r) > int(b) + 60:
            return True
    return False


def test_a_waiting_party_is_seated_when_a_table_frees(new_page, demo, evening):
    seated = [walk_in(demo, kyiv(evening.date(), "16:10"), 6, name, n=n).reservation
              for n, name in ((1, "Early Six"), (2, "Other Six"))]
    waiting = walk_in(demo, kyiv(evening.date(), "18:30"), 6, "Hanna Waits", n=3).entry
    page = new_page("host")

    block_of(page, seated[0]).click()
    page.get_by_test_id("booking-panel").locator("[data-action=complete]").click()
    expect(block_of(page, seated[0])).to_have_attribute("data-status", "completed")
    page.get_by_test_id(f"waiting-{waiting.pk}").locator("[data-action=seat]").click()

    expect(toast(page)).to_contain_text("Seated at T")
    expect(page.get_by_test_id(f"waiting-{waiting.pk}")).to_have_count(0)
    entry = WaitlistEntry.objects.get(pk=waiting.pk)
    assert entry.status == "seated"
    expect(block_of(page, entry.reservation)).to_contain_text("Hanna Waits")


# --- language, two tablets, the phone -----------------------------------------------------------------------


def test_switching_to_ukrainian_changes_the_page_text(host_page, demo, tonight):
    demo_book_seed(demo, day=tonight)
    host_page.reload()
    expect(host_page.get_by_test_id("new-booking")).to_have_text("New booking")

    host_page.get_by_test_id("language-switcher").select_option("uk")

    expect(host_page.locator("html")).to_have_attribute("lang", "uk")
    expect(host_page.get_by_test_id("new-booking")).not_to_have_text("New booking")
    expect(host_page.get_by_test_id("new-booking")).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]"))
    expect(host_page.get_by_test_id("waitlist")).to_contain_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]{4,}"))
    # Longer words ("притримано": held) must not push a row's time axis out of line with the others.
    lanes = {round(box["x"]) for box in (lane.bounding_box() for lane in host_page.locator(".timeline .lane").all())}
    assert len(lanes) == 1, f"the timeline's rows start their hours at different places: {sorted(lanes)}"
    screenshot(host_page, "desk-uk")


def test_a_host_who_never_chose_a_language_gets_the_restaurants_and_can_switch_to_english(new_page):
    page = new_page("host", language=None)  # Samna speaks Ukrainian

    expect(page.locator("html")).to_have_attribute("lang", "uk")
    expect(page.get_by_test_id("new-booking")).to_have_text(re.compile(r"[А-Яа-яІіЇїЄєҐґ]"))

    page.get_by_test_id("language-switcher").select_option("en")

    expect(page.get_by_test_id("new-booking")).to_have_text("New booking")


def test_two_tablets_see_each_others_change_within_the_poll_interval(new_page, demo, tonight):
    olena = book(demo, tonight, "20:00", 2, "Olena Kovalenko")
    host, manager = new_page("host"), new_page("manager")
    expect(block_of(manager, olena)).to_have_attribute("data-status", "booked")

    block_of(host, olena).click()
    host.get_by_test_id("booking-panel").locator("[data-action=confirm]").click()
    expect(block_of(host, olena)).to_have_attribute("data-status", "confirmed")

    # The manager's page was not touched: it polls.
    expect(block_of(manager, olena)).to_have_attribute("data-status", "confirmed", timeout=LIVE_WITHIN_MS)

    later = book(demo, tonight, "21:30", 4, "Maria Tkachuk", n=2)  # a booking by phone, through the API's service
    for page in (host, manager):
        expect(block_of(page, later)).to_contain_text("Maria Tkachuk", timeout=LIVE_WITHIN_MS)


def test_the_list_view_fits_a_phone(new_page, demo, tonight):
    made = demo_book_seed(demo, day=tonight)
    page = new_page("host", viewport=PHONE)

    page.get_by_test_id("view-list").click()

    book_list = page.get_by_test_id("book-list")
    expect(book_list).to_be_visible()
    for reservation in made:
        expect(book_list.get_by_test_id(f"booking-{reservation.pk}")).to_contain_text(reservation.guest.name)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the page scrolls sideways on a phone: {width}px"
    # Each row's status is in sight without scrolling the list sideways.
    for row in book_list.locator("tbody tr").all():
        status = row.locator("td").last.bounding_box()
        assert status["x"] + status["width"] <= PHONE["width"], f"a status is cut off on a phone: {status}"
    screenshot(page, "list-phone", full_page=True)


# --- the README's picture: Saturday at its busiest ----------------------------------------------------------


def test_saturday_at_its_busiest_shows_every_party_where_it_sits(new_page, demo, evening, staff_users):
    day = evening.date()
    from reservations.services.booking import reservation_create, reservation_transition
    from reservations.services.guests import GuestDetails

    made = demo_book_seed(demo, day=day, full=True)  # the demo's Saturday: 20:00 taken to the last seat
    for reservation in made:
        if reservation.start <= kyiv(day, "18:00"):
            reservation_transition(reservation=reservation, action="seat", now=kyiv(day, "18:05"))
    early = [r for r in made if r.start == kyiv(day, "19:00")]
    for reservation in early:
        reservation_transition(reservation=reservation, action="arrive", now=kyiv(day, "19:02"))
    # At 17:30 the manager took a call for 20:00, before the held tables were released to the book.
    overridden = reservation_create(restaurant=demo, start=kyiv(day, "20:00"), party_size=2, channel="phone",
                                    guest=GuestDetails(name="Regulars Koval", phone="+380671000099"),
                                    by=staff_users["manager"], override_reason=OVERRIDE_REASON,
                                    now=kyiv(day, "17:30"))
    assert overridden.override_bypassed
    seated_walk_in = walk_in(demo, kyiv(day, "19:03"), 2, "Walk-in at the door", n=40).reservation
    waiting = walk_in(demo, kyiv(day, "19:04"), 6, "Party of six", n=41).entry

    page = new_page("host")

    for reservation in made:
        expect(page.get_by_test_id("timeline").get_by_test_id(f"booking-{reservation.pk}")).to_be_visible()
    for reservation in early:
        expect(block_of(page, reservation)).to_have_attribute("data-status", "arrived")
    expect(block_of(page, seated_walk_in)).to_have_attribute("data-status", "seated")
    expect(block_of(page, overridden).locator("[data-badge=override]")).to_be_visible()
    overbooked = [r for r in made if r.overbooked]
    assert overbooked  # the demo's Saturday uses the overbooking allowance
    for reservation in overbooked:
        expect(block_of(page, reservation).locator("[data-badge=overbooked]")).to_be_visible()
    expect(page.get_by_test_id(f"waiting-{waiting.pk}")).to_contain_text("Party of six")
    screenshot(page, "desk-saturday", full_page=True)
