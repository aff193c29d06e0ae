"""Recovery in the back office: cases with a read-only timeline, overdue flagged, scoped to one's restaurants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from recovery.models import RecoveryCase, RecoveryOffer
from recovery.services.cases import case_act, case_open
from recovery.services.causes import mistake_log
from reservations.models import Table
from reservations.services.booking import reservation_create
from reservations.services.guests import GuestDetails
from tests.conftest import kyiv, log_in

pytestmark = pytest.mark.django_db

CASES = "/admin/recovery/recoverycase/"


def site_for(username: str) -> Client:
    client = Client()
    assert log_in(client, username)
    return client


@pytest.fixture
def cases(samna, steakhouse, staff):
    """At Samna: a mistake overdue (20 minutes old, nobody called), one answered by a call; next door, one."""
    now = timezone.now()
    day = timezone.localdate() + timedelta(days=1)
    reservation = reservation_create(restaurant=samna, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                                     guest=GuestDetails(name="Olena K.", phone="+380671234567"))
    overdue = mistake_log(reservation=reservation, what="wrong_dish", note="soup for the fish", by=staff["host"],
                          now=now - timedelta(minutes=20))
    answered = mistake_log(reservation=reservation, what="spilled_drink", by=staff["host"],
                           now=now - timedelta(minutes=20))
    case_act(case=answered, kind="called", note="apologised", by=staff["manager"], now=now - timedelta(minutes=15))
    steak = reservation_create(restaurant=steakhouse, start=kyiv(day, "19:00"), party_size=2, channel="phone",
                               guest=GuestDetails(name="Next door", phone="+380501112233"))
    elsewhere = case_open(restaurant=steakhouse, kind="mistake", summary="a steak too rare", reservation=steak,
                          now=now - timedelta(minutes=20))
    return overdue, answered, elsewhere


def listed(response) -> list[int]:
    assert response.status_code == 200
    return sorted(c.pk for c in response.context["cl"].result_list)


def test_a_manager_lists_their_own_cases_and_filters_the_overdue(cases):
    overdue, answered, _ = cases
    site = site_for("manager")

    assert listed(site.get(CASES)) == sorted([overdue.pk, answered.pk])
    assert listed(site.get(CASES, {"overdue": "yes"})) == [overdue.pk]
    assert listed(site.get(CASES, {"overdue": "no"})) == [answered.pk]
    assert listed(site.get(CASES, {"kind__exact": "long_wait"})) == []
    assert listed(site.get(CASES, {"status__exact": "open"})) == sorted([overdue.pk, answered.pk])
    assert listed(site.get(CASES, {"q": "soup for the fish"})) == [overdue.pk]
    assert listed(site.get(CASES, {"q": "+380671234567"})) == sorted([overdue.pk, answered.pk])


def test_the_case_page_shows_its_timeline_and_cannot_change_it(cases):
    overdue, answered, _ = cases
    site = site_for("manager")

    page = site.get(f"{CASES}{answered.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "apologised" in html and "Spilled drink" in html
    assert 'name="actions-TOTAL_FORMS"' in html and 'name="actions-0-note"' not in html  # read-only rows
    before = (answered.status, answered.summary, answered.actions.count())
    site.post(f"{CASES}{answered.pk}/change/", {"status": "resolved", "summary": "nothing happened"})
    answered.refresh_from_db()
    assert (answered.status, answered.summary, answered.actions.count()) == before
    assert site.get(f"{CASES}add/").status_code == 403
    assert site.post(f"{CASES}{answered.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_manager_closes_cases_from_the_list_on_the_timeline(cases, staff):
    overdue, answered, elsewhere = cases
    site = site_for("manager")

    site.post(CASES, {"action": "resolve_cases", "_selected_action": [overdue.pk, elsewhere.pk]})

    overdue.refresh_from_db()
    elsewhere.refresh_from_db()
    assert overdue.status == "resolved"
    assert [(a.kind, a.by) for a in overdue.actions.all()] == [("opened", staff["host"]),
                                                             ("resolved", staff["manager"])]
    assert elsewhere.status == "open"  # another restaurant's case is never in the manager's selection


def test_another_restaurants_case_is_out_of_reach(cases):
    overdue, _, elsewhere = cases
    site = site_for("steak-manager")

    assert listed(site.get(CASES)) == [elsewhere.pk]
    assert site.get(f"{CASES}{overdue.pk}/change/").status_code == 302  # Django's "does not exist" redirect


def test_offers_are_listed_read_only(cases, samna):
    overdue = cases[0]
    now = timezone.now()
    offer = RecoveryOffer.objects.create(restaurant=samna, case=overdue, start=now + timedelta(hours=1),
                                         end=now + timedelta(hours=2, minutes=30), party_size=2, offered_at=now,
                                         expires_at=now + timedelta(minutes=10))
    offer.tables.set(Table.objects.filter(restaurant=samna, name="T5"))
    site = site_for("manager")

    assert listed(site.get("/admin/recovery/recoveryoffer/")) == [offer.pk]
    page = site.get(f"/admin/recovery/recoveryoffer/{offer.pk}/change/")
    assert page.status_code == 200 and "T5" in page.content.decode()
    assert site.get("/admin/recovery/recoveryoffer/add/").status_code == 403
    assert listed(site_for("steak-manager").get("/admin/recovery/recoveryoffer/")) == []


def test_a_host_has_no_admin(cases, staff):
    client = Client()
    client.force_login(staff["host"])

    assert client.get(CASES).status_code == 302  # to the admin's login: the desk and the API are the host's
    assert RecoveryCase.objects.count() == 3
