"""The front desk as a browser without JavaScript sees it: Django's test client, logged in per role."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import log_in


def desk_client(user=None, *, csrf: bool = False) -> Client:
    """A logged-in browser; `csrf=True` checks CSRF as a real browser's requests are checked."""
    client = Client(enforce_csrf_checks=csrf)
    # These tests read the desk's English words: the user chose English with the switcher. Without a choice
    # Samna's staff get Samna's Ukrainian (tests/test_i18n.py).
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        assert log_in(client, user.username)
    return client


@pytest.fixture
def host(staff) -> Client:
    return desk_client(staff["host"])


@pytest.fixture
def manager(staff) -> Client:
    return desk_client(staff["manager"])


HX = {"HTTP_HX_REQUEST": "true"}
