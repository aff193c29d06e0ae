"""Which errors are an outage and which are a bug: a database that is away answers 503 "try again" with one
warning line; anything else is still a 500 with its traceback in the log, where it can be found and fixed.

The views here raise the database's own error type, as a view does when its connection is refused; the real
outage (a stopped PostgreSQL behind a live server) is `tests/test_staff_pages_database_down.py`.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

from cxhost.urls import urlpatterns as site_urlpatterns


def database_away(request):
    raise OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                           "Connection refused\n\tIs the server running on that host?")


def a_bug(request):
    raise ZeroDivisionError("division by zero")


urlpatterns = [path("desk/away/", database_away), path("api/v1/away/", database_away), path("desk/bug/", a_bug),
               *site_urlpatterns]
handler404 = "cxhost.errors.not_found"
handler500 = "cxhost.errors.server_error"


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def test_a_database_away_is_one_warning_line_and_a_503_page_in_the_browsers_language(client, caplog):
    with caplog.at_level(logging.WARNING):
        answer = client.get("/desk/away/", headers={"Accept-Language": "uk"})

    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer["Content-Type"].startswith("text/html")
    assert '<html lang="uk">' in answer.content.decode()
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", 'database_unavailable on /desk/away/: OperationalError: connection failed: connection to server '
                    'at "127.0.0.1", port 5432 failed: Connection refused', None)]


def test_under_the_api_a_database_away_stays_json(client, caplog):
    with caplog.at_level(logging.WARNING):
        answer = client.get("/api/v1/away/")

    assert answer.status_code == 503 and answer.json()["code"] == "database_unavailable"
    assert int(answer["Retry-After"]) > 0
    assert len(caplog.records) == 1


def test_a_bug_is_still_a_500_with_its_traceback_in_the_log(client, caplog):
    with caplog.at_level(logging.WARNING):
        answer = client.get("/desk/bug/")

    assert answer.status_code == 500
    assert "Retry-After" not in answer
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ZeroDivisionError]
