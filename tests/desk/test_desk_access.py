"""Who reaches which desk: login, the walls between restaurants, and CSRF on every action."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from reservations.models import Reservation
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import DEMO_PASSWORD, kyiv, log_in

from .conftest import HX, desk_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(samna, staff, tuesday) -> Reservation:
    return reservation_create(restaurant=samna, start=kyiv(tuesday, "19:00"), party_size=2, channel="phone",
                              guest=GuestDetails(name="Olena K."), by=staff["host"])


def test_anonymous_is_sent_to_the_login_page_and_changes_nothing(booking, tuesday):
    anon = Client()
    for url in ("/desk/", "/desk/samna/", f"/desk/samna/?date={tuesday}", f"/desk/samna/r/{booking.pk}/"):
        response = anon.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    # htmx (a poll after the session ended) is told to take the whole page to the login.
    polled = anon.get(f"/desk/samna/board/?date={tuesday}", HTTP_HX_REQUEST="true",
                      HTTP_HX_CURRENT_URL=f"http://testserver/desk/samna/?date={tuesday}")
    assert polled["HX-Redirect"] == f"/accounts/login/?next=/desk/samna/%3Fdate%3D{tuesday}"
    response = anon.post(f"/desk/samna/r/{booking.pk}/confirm/")
    assert response.status_code in (302, 403)  # CSRF refuses it first, or the login redirect
    booking.refresh_from_db()
    assert booking.status == "booked"


def test_staff_log_in_and_land_on_their_restaurants_desk(staff):
    browser = Client()
    page = browser.get("/accounts/login/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    wrong = browser.post("/accounts/login/", {"username": "host", "password": "nope"})
    assert wrong.status_code == 200 and 'data-testid="login-error"' in wrong.content.decode()
    response = browser.post("/accounts/login/", {"username": "host", "password": DEMO_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/desk/samna/"
    assert response.status_code == 200
    assert "Samna" in response.content.decode()
    steak = Client()
    response = steak.post("/accounts/login/", {"username": "steak-host", "password": DEMO_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/desk/steakhouse/"


def test_another_restaurants_desk_is_403_and_its_bookings_404(staff, booking, steakhouse):
    steak_host = desk_client(staff["steak-host"])
    assert steak_host.get("/desk/samna/").status_code == 403
    assert steak_host.get(f"/desk/samna/r/{booking.pk}/").status_code == 403
    # Through their own desk, Samna's booking is as absent as one that never was.
    assert steak_host.get(f"/desk/steakhouse/r/{booking.pk}/", **HX).status_code == 404
    assert steak_host.post(f"/desk/steakhouse/r/{booking.pk}/cancel/", **HX).status_code == 404
    assert steak_host.get(f"/desk/steakhouse/guest/{booking.guest_id}/", **HX).status_code == 404
    booking.refresh_from_db()
    assert booking.status == "booked"
    # Samna's host cannot open The Steakhouse either, nor reach Samna's booking through it.
    host = desk_client(staff["host"])
    assert host.get("/desk/steakhouse/").status_code == 403
    assert host.post(f"/desk/steakhouse/r/{booking.pk}/confirm/").status_code == 403
    assert host.get("/desk/no-such-place/").status_code == 403


def test_a_logged_in_user_who_is_nobodys_staff_gets_403(db, samna):
    get_user_model().objects.create_user("diner", password=DEMO_PASSWORD)
    diner = Client()
    log_in(diner, "diner")
    assert diner.get("/desk/").status_code == 403
    assert diner.get("/desk/samna/").status_code == 403


def test_the_restaurant_switcher_is_for_members_of_several(staff, samna, steakhouse):
    admin_page = desk_client(staff["admin"]).get("/desk/samna/").content.decode()
    assert 'data-testid="restaurant-switcher"' in admin_page
    assert "/desk/steakhouse/" in admin_page
    host_page = desk_client(staff["host"]).get("/desk/samna/").content.decode()
    assert 'data-testid="restaurant-switcher"' not in host_page


def test_a_cross_site_post_without_the_csrf_token_is_refused(staff, booking):
    browser = desk_client(staff["host"], csrf=True)
    page = browser.get("/desk/samna/")
    assert page.status_code == 200
    refused = browser.post(f"/desk/samna/r/{booking.pk}/confirm/", **HX)
    assert refused.status_code == 403 and "reload it" in refused.content.decode()
    booking.refresh_from_db()
    assert booking.status == "booked"
    wrong = browser.post(f"/desk/samna/r/{booking.pk}/confirm/", HTTP_X_CSRFTOKEN="x" * 64, **HX)
    assert wrong.status_code == 403
    # The page carries the token for htmx's requests; with it the same POST works.
    token = browser.cookies["csrftoken"].value
    assert 'X-CSRFToken' in page.content.decode()
    done = browser.post(f"/desk/samna/r/{booking.pk}/confirm/", HTTP_X_CSRFTOKEN=token, **HX)
    assert done.status_code == 200
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_every_desk_action_refuses_a_post_without_csrf(staff, booking):
    browser = desk_client(staff["manager"], csrf=True)
    for url in ("/desk/samna/book/", "/desk/samna/walk-in/", "/desk/samna/refusal/", "/desk/samna/undo/",
                f"/desk/samna/r/{booking.pk}/cancel/", f"/desk/samna/r/{booking.pk}/seat/", "/desk/samna/w/1/seat/",
                "/desk/samna/w/1/notify/", "/accounts/logout/", "/i18n/setlang/"):
        assert browser.post(url, {"party_size": 2}).status_code == 403, url
    booking.refresh_from_db()
    assert booking.status == "booked"


def test_logging_out_is_a_post_and_ends_the_desk(staff):
    browser = desk_client(staff["host"])
    assert browser.get("/desk/samna/").status_code == 200
    assert browser.get("/accounts/logout/").status_code == 405
    assert browser.post("/accounts/logout/").status_code == 302
    assert browser.get("/desk/samna/").status_code == 302


def test_the_language_switcher_posts_the_users_choice_to_set_language(staff):
    browser = desk_client(staff["host"], csrf=True)
    page = browser.get("/desk/samna/").content.decode()
    switcher = re.search(r'<form class="language" action="([^"]+)" method="post">(.*?)</form>', page, re.S)
    assert switcher and switcher.group(1) == "/i18n/setlang/"
    assert 'data-testid="language-switcher"' in switcher.group(2)
    assert re.findall(r'<option value="(\w+)"', switcher.group(2)) == ["en", "uk", "ru"]
    token = browser.cookies["csrftoken"].value
    response = browser.post("/i18n/setlang/", {"language": "uk", "next": "/desk/samna/",
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/desk/samna/"
    assert browser.cookies["django_language"].value == "uk"
