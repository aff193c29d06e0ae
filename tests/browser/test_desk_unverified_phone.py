"""An anonymous online booking on the desk, in Chromium (issue 16): the host sees at a glance that nobody proved
its phone — in the language the host reads — and a booking taken by phone wears no such badge."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import book

pytestmark = pytest.mark.browser


def test_the_host_sees_which_phone_nobody_proved_in_their_language(new_page, desk_url, demo, tonight):
    online = book(demo, tonight, "20:00", 2, "Mallory Online", n=71, channel="online")
    by_phone = book(demo, tonight, "19:00", 2, "Olena by phone", n=72)

    page = new_page("host", language="uk")
    page.goto(desk_url)

    timeline = page.get_by_test_id("timeline")
    badge = timeline.get_by_test_id(f"booking-{online.pk}").locator("[data-badge=phone_unverified]")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("title", "телефон не підтверджено")
    expect(timeline.get_by_test_id(f"booking-{by_phone.pk}").locator("[data-badge=phone_unverified]")).to_have_count(0)

    timeline.get_by_test_id(f"booking-{online.pk}").click()
    expect(page.get_by_text("телефон не підтверджено").last).to_be_visible()
