"""The front desk as a browser without JavaScript sees it: Django's test client, logged in per role."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import DEMO_PASSWORD


def desk_client(user=None, *, csrf: bool = False) -> Client:
    """A logged-in browser; `csrf=True` checks CSRF as a real browser's requests are checked."""
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        assert client.login(username=user.username, password=DEMO_PASSWORD)
    return client


@pytest.fixture
def host(staff) -> Client:
    return desk_client(staff["host"])


@pytest.fixture
def manager(staff) -> Client:
    return desk_client(staff["manager"])


HX = {"HTTP_HX_REQUEST": "true"}
