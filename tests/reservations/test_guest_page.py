"""The guest's own page: the link in their SMS, and what they can do there without a login or JavaScript.

Everything goes through the real services and the real outbox (file backend); the client enforces CSRF and
posts the token it found on the page, as a browser would.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from reservations.errors import NoTables
from reservations.models import Guest, Reservation
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.guests import GuestDetails
from reservations.services.messaging import reminders_queue
from tests.conftest import at, kyiv

pytestmark = pytest.mark.django_db(transaction=True)  # the confirmation is queued on commit

PHONE = "+380671234567"
LINK = re.compile(r"(https?://\S+?)(/b/[A-Za-z0-9_-]+/)")


@pytest.fixture
def outbox(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def sent(outbox: Path) -> list[dict]:
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def link_in(body: str) -> str:
    """The page's path from an SMS body, checked to start with PUBLIC_BASE_URL."""
    from django.conf import settings

    match = LINK.search(body)
    assert match, body
    assert match.group(1) == settings.PUBLIC_BASE_URL
    return match.group(2)


def book_online(anon_api, day, hhmm="20:00", party_size=2, phone=PHONE) -> dict:
    response = anon_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(day, hhmm), "party_size": party_size, "guest": {"name": "Olena", "phone": phone}},
        format="json")
    return response


def page_of(outbox: Path, reservation_id: int) -> str:
    [line] = [m for m in sent(outbox) if m["reservation"] == reservation_id and m["kind"] == "confirmation"]
    return link_in(line["body"])


def press(browser: Client, page: str, action: str, **fields):
    """Submit one of the page's forms with the CSRF token the page carries, as the browser would."""
    html = browser.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, f"no form on the page:\n{html}"
    return browser.post(f"{page}{action}/", {"csrfmiddlewaretoken": token.group(1), **fields})


def text(response) -> str:
    return response.content.decode()


def test_the_link_in_the_confirmation_opens_the_booking_in_the_guests_language(anon_api, browser, samna, tuesday,
                                                                               outbox):
    response = book_online(anon_api, tuesday)
    assert response.status_code == 201, response.json()

    page = page_of(outbox, response.json()["id"])
    shown = browser.get(page)

    assert shown.status_code == 200
    html = text(shown)
    assert '<html lang="uk">' in html and "Samna" in html and "20:00" in html
    assert f"{tuesday.day} " in html and "вівторок" in html  # the date as said in Ukrainian
    assert "Ваше бронювання" in html and "Заброньовано" in html
    assert "<script" not in html  # plain forms: it works without JavaScript
    assert "no-store" in shown["Cache-Control"]  # a personal page: no proxy keeps a copy
    assert browser.head(page).status_code == 200  # a link preview's HEAD is answered, and changes nothing


def test_the_reminder_carries_the_same_link(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]

    assert reminders_queue(now=kyiv(tuesday, "20:00") - timedelta(hours=23)) == 1

    reminder = [m for m in sent(outbox) if m["kind"] == "reminder"][0]
    assert link_in(reminder["body"]) == page_of(outbox, reservation_id)
    assert browser.get(link_in(reminder["body"])).status_code == 200


def test_confirm_from_the_page(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    page = page_of(outbox, reservation_id)

    answer = press(browser, page, "confirm")

    assert answer.status_code == 302 and answer["Location"] == page  # redirect after POST
    assert Reservation.objects.get(pk=reservation_id).status == "confirmed"
    html = text(browser.get(page))
    assert "Дякуємо! Ваше бронювання підтверджено." in html and "Підтверджено" in html
    assert "Підтверджую, прийду" not in html  # confirmed once: no confirm button any more
    assert "Скасувати бронювання" in html  # still theirs to cancel or change


def test_cancel_from_the_page_frees_the_table_at_once(anon_api, browser, samna, tuesday, outbox):
    # A party of eight takes Samna's only table for eight (T9+T10); a second one is refused.
    first = book_online(anon_api, tuesday, party_size=8).json()["id"]
    assert book_online(anon_api, tuesday, party_size=8, phone="+380671112233").status_code == 409

    answer = press(browser, page_of(outbox, first), "cancel")

    assert answer.status_code == 302
    assert Reservation.objects.get(pk=first).status == "cancelled"
    assert book_online(anon_api, tuesday, party_size=8, phone="+380671112233").status_code == 201
    html = text(browser.get(page_of(outbox, first)))
    assert "Бронювання скасовано" in html and "Скасовано" in html


def test_a_change_of_party_size_and_of_time_that_fits(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    page = page_of(outbox, reservation_id)

    answer = press(browser, page, "change", date=tuesday.isoformat(), time="20:00", party_size="4")
    assert answer.status_code == 302 and answer["Location"] == page
    answer = press(browser, page, "change", date=tuesday.isoformat(), time="21:15", party_size="4")
    assert answer.status_code == 302

    booking = Reservation.objects.get(pk=reservation_id)
    assert (booking.party_size, booking.start, booking.status) == (4, kyiv(tuesday, "21:15"), "booked")
    assert booking.end == kyiv(tuesday, "23:15")  # a four's turn: 120 minutes
    [table] = booking.assignments.filter(released=False).values_list("table__max_covers", flat=True)
    assert table >= 4
    html = text(browser.get(page))
    assert "Готово! Бронювання змінено." in html and "21:15" in html


def test_a_change_that_does_not_fit_is_refused_kindly_and_the_booking_stays(anon_api, browser, samna, tuesday,
                                                                            outbox):
    ours = book_online(anon_api, tuesday, "14:00", party_size=8).json()["id"]
    book_online(anon_api, tuesday, "18:00", party_size=8, phone="+380671112233")  # T9+T10 from 18:00 to 21:00
    before = Reservation.objects.get(pk=ours)
    tables_before = list(before.assignments.values_list("table_id", "start", "end", "released"))
    page = page_of(outbox, ours)

    answer = press(browser, page, "change", date=tuesday.isoformat(), time="19:00", party_size="8")

    assert answer.status_code == 409
    html = text(answer)
    assert "немає вільного столика на 8 о 19:00" in html and "Ваше бронювання не змінилося" in html
    # The nearest starts a party of eight could really have: after the other eight leave at 21:00.
    assert [m for m in re.findall(r'name="time" value="(\d\d:\d\d)"', html)][-3:] == ["21:00", "21:15", "21:30"]
    after = Reservation.objects.get(pk=ours)
    assert (after.start, after.end, after.party_size, after.status) == (
        before.start, before.end, before.party_size, before.status)
    assert list(after.assignments.values_list("table_id", "start", "end", "released")) == tables_before

    # One of the alternatives, taken with one press of its button.
    taken = press(browser, page, "change", date=tuesday.isoformat(), time="21:00", party_size="8")
    assert taken.status_code == 302
    assert Reservation.objects.get(pk=ours).start == kyiv(tuesday, "21:00")


def test_a_party_too_large_for_any_table_is_asked_to_call(anon_api, browser, samna, tuesday, outbox):
    ours = book_online(anon_api, tuesday).json()["id"]

    answer = press(browser, page_of(outbox, ours), "change", date=tuesday.isoformat(), time="20:00",
                   party_size="12")

    assert answer.status_code == 409
    assert "зателефонуйте до ресторану" in text(answer)
    assert Reservation.objects.get(pk=ours).party_size == 2


def test_a_change_is_decided_as_an_online_booking_whatever_channel_made_it(host_api, browser, samna, saturday,
                                                                          outbox):
    # Saturday 20:00: T3 and T4 are held back for walk-ins; the other tables for one guest are taken.
    for n, phone in enumerate(["+380670000001", "+380670000002", "+380670000003", "+380670000004"]):
        reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=1, channel="online",
                           guest=GuestDetails(name=f"G{n}", phone=phone))
    # Control: a phone booking for one at 20:00 would still be taken, overbooked under the phone policy.
    control = reservation_create(restaurant=samna, start=kyiv(saturday, "20:00"), party_size=1, channel="phone",
                                 guest=GuestDetails(name="Control", phone="+380670000005"))
    assert control.overbooked
    reservation_transition(reservation=control, action="cancel")
    ours = host_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(saturday, "14:00"), "party_size": 1, "channel": "phone",
        "guest": {"name": "Olena", "phone": PHONE}}, format="json").json()["id"]

    answer = press(browser, page_of(outbox, ours), "change", date=saturday.isoformat(), time="20:00",
                   party_size="1")

    assert answer.status_code == 409  # neither a held table nor an overbooking, for the guest's own hand
    booking = Reservation.objects.get(pk=ours)
    assert booking.start == kyiv(saturday, "14:00") and not booking.overbooked


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character changed
    lambda token: "x" * len(token),  # well formed, nobody's
    lambda token: signing.dumps(1),  # somebody else's idea of a token
    lambda token: "1",  # the booking's id
    lambda token: token + token,
])
def test_a_tampered_or_foreign_token_is_a_404_page(anon_api, browser, samna, tuesday, outbox, tamper):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    token = Reservation.objects.get(pk=reservation_id).guest_token
    wrong = f"/b/{tamper(token)}/"

    shown = browser.get(wrong)
    assert shown.status_code == 404
    assert "Посилання більше не дійсне" in text(shown) and "Samna" not in text(shown)
    for action in ("confirm", "cancel", "change"):
        assert Client().post(f"{wrong}{action}/", {"party_size": "4"}).status_code == 404
    assert Reservation.objects.get(pk=reservation_id).status == "booked"


def test_tokens_are_unguessable_and_distinct(anon_api, samna, tuesday, outbox):
    for n in range(5):
        book_online(anon_api, tuesday, phone=f"+38067000001{n}")
    tokens = list(Reservation.objects.values_list("guest_token", flat=True))
    assert len(set(tokens)) == 5 and all(len(t) >= 12 for t in tokens)
    assert not any(str(pk) in t for pk, t in Reservation.objects.values_list("pk", "guest_token"))


def test_a_finished_or_cancelled_booking_shows_its_state_without_buttons(host_api, anon_api, browser, samna, tuesday,
                                                                       outbox, settings):
    cancelled = book_online(anon_api, tuesday, "13:00").json()["id"]
    completed = book_online(anon_api, tuesday, "18:00", phone="+380671112233").json()["id"]
    assert host_api.post(f"/api/v1/reservations/{cancelled}/cancel/").status_code == 200
    visit = Reservation.objects.get(pk=completed)
    reservation_transition(reservation=visit, action="seat", now=kyiv(tuesday, "18:05"))
    reservation_transition(reservation=visit, action="complete", now=kyiv(tuesday, "19:30"))

    for reservation_id, state in ((cancelled, "Скасовано"), (completed, "Візит завершено")):
        page = page_of(outbox, reservation_id)
        html = text(browser.get(page))
        assert state in html and "завершене" in html
        assert "<form" not in html and "<button" not in html
        # A form kept open in another tab changes nothing either.
        client = Client()
        client.get(page)
        for action in ("confirm", "cancel"):
            assert client.post(f"{page}{action}/").status_code == 302
        assert client.post(f"{page}change/", {"date": tuesday.isoformat(), "time": "20:00",
                                              "party_size": "2"}).status_code == 302
        assert Reservation.objects.get(pk=reservation_id).status in ("cancelled", "completed")
        assert Reservation.objects.get(pk=reservation_id).start != kyiv(tuesday, "20:00")

    # Some days after the visit the link stops working: an old SMS is no key for ever.
    gone = timezone.now() - timedelta(days=settings.GUEST_PAGE_DAYS_AFTER + 1)
    Reservation.objects.filter(pk=completed).update(start=gone - timedelta(hours=2), end=gone)
    assert browser.get(page_of(outbox, completed)).status_code == 404


def test_the_posts_need_the_csrf_token(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    page = page_of(outbox, reservation_id)
    browser.get(page)  # the browser has the cookie, but a forged form has no token

    for action, fields in (("confirm", {}), ("cancel", {}),
                           ("change", {"date": tuesday.isoformat(), "time": "21:00", "party_size": "4"})):
        assert browser.post(f"{page}{action}/", fields).status_code == 403

    booking = Reservation.objects.get(pk=reservation_id)
    assert (booking.status, booking.party_size, booking.start) == ("booked", 2, kyiv(tuesday, "20:00"))


def test_the_page_shows_nothing_else_about_the_guest(host_api, browser, samna, tuesday, outbox):
    response = host_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(tuesday, "20:00"), "party_size": 2, "channel": "phone", "notes": "Booking secret: proposal",
        "expectations": ["quiet table"], "guest": {"name": "Olena Kovalenko", "phone": PHONE}}, format="json")
    assert response.status_code == 201, response.json()
    Guest.objects.filter(phone=PHONE).update(notes="Guest secret: difficult about wine", tags=["vip-secret"])
    host_api.post("/api/v1/restaurants/samna/reservations/", {
        "start": at(tuesday + timedelta(days=1), "19:00"), "party_size": 6, "channel": "phone",
        "guest": {"name": "Olena Kovalenko", "phone": PHONE}}, format="json")

    html = text(browser.get(page_of(outbox, response.json()["id"])))

    for secret in ("Booking secret", "proposal", "quiet table", "Guest secret", "vip-secret", "Olena", "Kovalenko",
                   "+380", "0671234567", "19:00"):
        assert secret not in html


@pytest.mark.parametrize(("language", "words"), [
    ("uk", ["Ваше бронювання", "Підтверджую, прийду", "Скасувати бронювання", "Змінити бронювання"]),
    ("en", ["Your booking", "Confirm I&#x27;m coming", "Cancel my booking", "Change my booking"]),
    ("ru", ["Ваша бронь", "Подтверждаю, приду", "Отменить бронь", "Изменить бронь"]),
])
def test_each_language_renders(anon_api, browser, samna, tuesday, outbox, language, words):
    samna.language = language
    samna.save()
    response = book_online(anon_api, tuesday, "20:15")

    [line] = sent(outbox)
    html = text(browser.get(link_in(line["body"])))

    assert f'<html lang="{language}">' in html
    assert response.status_code == 201
    for word in words:
        assert word in html
    assert date_word(language, tuesday) in html


def date_word(language: str, day) -> str:
    """The day and month as the guest says them, written out here from the language, not from the page's code."""
    months = {"uk": ["січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
                     "жовтня", "листопада", "грудня"],
              "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                     "October", "November", "December"],
              "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                     "октября", "ноября", "декабря"]}
    return f"{day.day} {months[language][day.month - 1]}"


def test_a_booking_whose_time_has_come_is_the_floors(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    Reservation.objects.filter(pk=reservation_id).update(start=timezone.now() - timedelta(minutes=5),
                                                         end=timezone.now() + timedelta(minutes=85))
    html = text(browser.get(page_of(outbox, reservation_id)))
    assert "<form" not in html and "Зателефонуйте до ресторану" in html


def test_bad_form_input_is_a_kind_400_not_a_500(anon_api, browser, samna, tuesday, outbox):
    reservation_id = book_online(anon_api, tuesday).json()["id"]
    page = page_of(outbox, reservation_id)

    for fields in ({"date": "tomorrow", "time": "20:00", "party_size": "2"},
                   {"date": tuesday.isoformat(), "time": "25:99", "party_size": "2"},
                   {"date": tuesday.isoformat(), "time": "20:07", "party_size": "2"},  # off the 15-minute grid
                   {"date": "2001-01-01", "time": "20:00", "party_size": "2"},  # the past
                   {"date": tuesday.isoformat(), "time": "20:00", "party_size": "0"},
                   {"date": tuesday.isoformat(), "time": "20:00", "party_size": "-3"},
                   {"date": tuesday.isoformat(), "time": "20:00", "party_size": "999999999999"},
                   {}):
        answer = press(browser, page, "change", **fields)
        assert answer.status_code == 400, (fields, answer.status_code)
        assert "не змінилося" in text(answer) or "цілим числом" in text(answer)
    booking = Reservation.objects.get(pk=reservation_id)
    assert (booking.party_size, booking.start) == (2, kyiv(tuesday, "20:00"))


def test_a_change_never_double_books_under_the_service(samna, tuesday):
    """The service on its own: a refused change raises `NoTables` and leaves the booking as it was."""
    from reservations.services.booking import reservation_change

    ours = reservation_create(restaurant=samna, start=kyiv(tuesday, "14:00"), party_size=8, channel="online")
    reservation_create(restaurant=samna, start=kyiv(tuesday, "18:00"), party_size=8, channel="online")

    with pytest.raises(NoTables) as refused:
        reservation_change(reservation=ours, start=kyiv(tuesday, "19:00"))
    assert refused.value.alternatives[0] == kyiv(tuesday, "21:00")
    assert Reservation.objects.get(pk=ours.pk).start == kyiv(tuesday, "14:00")
    moved = reservation_change(reservation=ours, party_size=7, start=kyiv(tuesday, "14:30"))
    assert (moved.party_size, moved.start) == (7, kyiv(tuesday, "14:30"))


def test_the_page_reaches_its_booking_only_through_the_access_module():
    import inspect

    from reservations.guest_page import views

    assert ".objects" not in inspect.getsource(views)
