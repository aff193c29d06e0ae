"""The desk speaks English, Ukrainian and Russian: the user's choice, else their restaurant's, else English.

The API keeps to English whatever a client asks (its words are the contract), and the committed catalogues
are complete and compiled.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from .conftest import DEMO_PASSWORD, log_in

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.fixture(autouse=True)
def _english_after():
    """A request leaves its language active in this thread: put English back for the tests that follow."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def logged_in(username: str, **headers) -> Client:
    client = Client(**headers)
    assert log_in(client, username)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the login page ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Log in", "Username", "Password"]),
    ("uk", ["Увійти", "Ім'я користувача", "Пароль"]),
    ("ru", ["Войти", "Имя пользователя", "Пароль"]),
])
def test_the_login_page_speaks_the_chosen_language(db, language, words):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = html(client.get("/accounts/login/"))

    assert f'<html lang="{language}">' in page
    for word in words:
        assert word in page
    if language != "en":
        assert "Username" not in page


def test_a_stranger_gets_the_browsers_language_then_english(db):
    assert "Увійти" in html(Client(HTTP_ACCEPT_LANGUAGE="uk,en;q=0.5").get("/accounts/login/"))
    assert "Войти" in html(Client(HTTP_ACCEPT_LANGUAGE="ru-RU").get("/accounts/login/"))
    assert "Log in" in html(Client(HTTP_ACCEPT_LANGUAGE="de-DE").get("/accounts/login/"))
    assert "Log in" in html(Client().get("/accounts/login/"))


# --- the desk: the user's choice, else the restaurant's ------------------------------------------------------


def test_the_desk_speaks_the_restaurants_language_when_the_user_chose_none(samna, steakhouse, staff):
    assert (samna.language, steakhouse.language) == ("uk", "en")

    # The tablet's browser says English; Samna's host still gets Samna's Ukrainian.
    samna_page = html(logged_in("host", HTTP_ACCEPT_LANGUAGE="en").get("/desk/samna/"))
    steak_page = html(logged_in("steak-host", HTTP_ACCEPT_LANGUAGE="uk").get(f"/desk/{steakhouse.slug}/"))

    assert '<html lang="uk">' in samna_page and "Лист очікування" in samna_page and "Waitlist" not in samna_page
    assert '<html lang="en">' in steak_page and "Waitlist" in steak_page and "Лист очікування" not in steak_page


def test_a_restaurant_switched_to_russian_gets_a_russian_desk(samna, staff):
    samna.language = "ru"
    samna.save()

    page = html(logged_in("host").get("/desk/samna/"))

    assert '<html lang="ru">' in page and "Лист ожидания" in page and "Новое бронирование" in page


def test_the_users_choice_beats_the_restaurants(samna, staff):
    host = logged_in("host")

    switched = host.post("/i18n/setlang/", {"language": "ru", "next": "/desk/samna/"})

    assert switched.status_code == 302 and switched["Location"] == "/desk/samna/"
    assert host.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = html(host.get("/desk/samna/"))
    assert '<html lang="ru">' in page and "Лист ожидания" in page and "Лист очікування" not in page
    host.post("/i18n/setlang/", {"language": "en", "next": "/desk/samna/"})
    assert "Waitlist" in html(host.get("/desk/samna/"))


def test_a_superuser_gets_the_language_of_the_desk_they_open(samna, steakhouse, staff):
    admin = logged_in("admin", HTTP_ACCEPT_LANGUAGE="ru")

    assert '<html lang="uk">' in html(admin.get("/desk/samna/"))
    assert '<html lang="en">' in html(admin.get(f"/desk/{steakhouse.slug}/"))


def test_a_user_of_no_restaurant_is_refused_in_their_browsers_language(samna, staff):
    """Staff are members (a role is a membership's): without one, the desk refuses them as any visitor, in
    the language their browser asks for, with no restaurant's to take."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("new-host", password=DEMO_PASSWORD)  # no membership yet
    client = logged_in("new-host", HTTP_ACCEPT_LANGUAGE="uk")

    refused = client.get("/desk/")

    assert refused.status_code == 403
    page = refused.content.decode()
    assert '<html lang="uk">' in page and "Заборонено" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Not allowed" in client.get("/desk/").content.decode()  # their own choice still counts


def test_the_restaurant_default_names_a_status_in_its_language(samna, staff, tuesday):
    from reservations.services.booking import reservation_create
    from reservations.services.guests import GuestDetails

    from .conftest import kyiv

    reservation_create(restaurant=samna, start=kyiv(tuesday, "20:00"), party_size=2, channel="phone",
                       guest=GuestDetails(name="Olena K.", phone="+380671234567"))

    page = html(logged_in("host").get("/desk/samna/", {"date": tuesday.isoformat(), "view": "list"}))

    assert "Olena K." in page and "заброньовано" in page


# --- the API and the admin keep their own rules --------------------------------------------------------------


def test_the_api_answers_in_english_whatever_the_client_asks(samna, manager_api, tuesday):
    manager_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"

    response = manager_api.post("/api/v1/restaurants/samna/reservations/", {"party_size": 2}, format="json",
                                HTTP_ACCEPT_LANGUAGE="uk")

    assert response.status_code == 400
    assert response.json()["fields"]["start"] == ["This field is required."]
    assert response["Content-Language"] == "en"


def test_the_admin_follows_the_users_choice_not_the_restaurants(samna, staff):
    manager = logged_in("manager")
    assert "Log out" in html(manager.get("/admin/"))  # Samna is Ukrainian, but the admin's words are English

    manager.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    assert "Вийти" in html(manager.get("/admin/"))  # Django's own Ukrainian for "Log out"


# --- the catalogues -------------------------------------------------------------------------------------------


def read_po(path: Path) -> dict:
    """{msgid: msgstr} or {(msgid, n): msgstr} for plurals, of the entries not marked fuzzy or obsolete; a msgid
    with a context is keyed as gettext keys it, "context\\x04msgid"."""
    entries: dict = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if any(line.startswith("#,") and "fuzzy" in line for line in lines):
            continue
        parts: dict[str, str] = {}
        key = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if match:
                key = match.group(1)
                parts[key] = ""
                line = match.group(2)
            if key and line.startswith('"'):
                parts[key] += bytes(line[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        if "msgid" not in parts or not parts["msgid"]:
            continue
        if "msgctxt" in parts:
            parts["msgid"] = f"{parts['msgctxt']}\x04{parts['msgid']}"
        if "msgid_plural" in parts:
            for name, value in parts.items():
                if name.startswith("msgstr["):
                    entries[(parts["msgid"], int(name[7:-1]))] = value
        else:
            entries[parts["msgid"]] = parts["msgstr"]
    return entries


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_every_string_is_translated_and_keeps_its_placeholders(language):
    entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")

    assert len(entries) > 100
    untranslated = [key for key, text in entries.items() if not text.strip()]
    assert untranslated == []
    for key, text in entries.items():
        msgid = key[0] if isinstance(key, tuple) else key
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(set(re.findall(r"%\(\w+\)s", text))) or (
            isinstance(key, tuple)), (msgid, text)


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_the_committed_mo_is_compiled_from_the_po(language):
    """The .mo files are committed (a clone needs no gettext): one compiled from an older .po is caught here."""
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        catalog = {key: value for key, value in gettext.GNUTranslations(compiled)._catalog.items() if key != ""}

    assert catalog == read_po(folder / "django.po")
