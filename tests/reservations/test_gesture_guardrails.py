"""Gestures with guardrails: triggers, item costs, the budget, one surprise in N visits, a host proposes and a
manager approves beyond the rules, and the guest's reaction on the record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from reservations.errors import InvalidTransition
from reservations.models import Gesture, StaffNote
from reservations.services.booking import reservation_create, reservation_transition
from reservations.services.gestures import (
    gesture_approve,
    gesture_offer,
    gesture_present,
    gesture_propose,
    gesture_react,
    guest_prepare,
)
from reservations.services.guests import GuestDetails
from tests.factories import small_restaurant

from ..conftest import kyiv

pytestmark = pytest.mark.django_db

OLENA = GuestDetails(name="Olena K.", phone="+380671234567")


@pytest.fixture
def bistro(staff):
    """Four tables; its costs: dessert 150, drink 90, starter 220; a budget of 300 a service."""
    from reservations.models import StaffMembership

    bistro = small_restaurant(tables=4, slug="bistro", gesture_budget_per_service=Decimal("300.00"))
    for who in ("host", "manager"):  # each in the same role here as at Samna: a role is the membership's
        StaffMembership.objects.create(user=staff[who], restaurant=bistro, role=who)
    return bistro


def visit(bistro, day, *, guest=OLENA, hhmm="19:00", **extra):
    return reservation_create(restaurant=bistro, start=kyiv(day, hhmm), party_size=2, channel="phone",
                              guest=guest, **extra)


def complete(reservation, day):
    reservation_transition(reservation=reservation, action="seat", now=kyiv(day, "19:00"))
    return reservation_transition(reservation=reservation, action="complete", now=kyiv(day, "20:30"))


# --- budget and approval ------------------------------------------------------------------------------------


def test_within_the_budget_a_hosts_proposal_is_queued_beyond_it_a_manager_must_approve(bistro, staff, tuesday):
    host, manager = staff["host"], staff["manager"]
    first = visit(bistro, tuesday, guest=GuestDetails(name="A", phone="+380501110001"))
    second = visit(bistro, tuesday, guest=GuestDetails(name="B", phone="+380501110002"))

    starter = gesture_propose(reservation=first, by=host, item="starter", reason="their anniversary")
    # 220 spent; a dessert more is 370 > 300.
    dessert = gesture_propose(reservation=second, by=host, item="dessert", reason="a long wait at the bar")

    assert (starter.status, starter.cost, starter.proposed_by, starter.beyond_rules) == (
        "queued", Decimal("220.00"), host, "")
    assert (dessert.status, dessert.cost, dessert.beyond_rules) == (
        "needs_approval", Decimal("150.00"), "over the service's budget")
    with pytest.raises(Exception) as refused:
        gesture_approve(gesture=dessert, by=host)
    assert refused.value.code == "managers_only"
    approved = gesture_approve(gesture=dessert, by=manager)
    assert (approved.status, approved.approved_by) == ("queued", manager)


def test_a_managers_own_proposal_beyond_the_budget_is_their_decision_on_the_record(bistro, staff, tuesday):
    manager = staff["manager"]
    first = visit(bistro, tuesday, guest=GuestDetails(name="A", phone="+380501110001"))
    gesture_propose(reservation=first, by=manager, item="starter", reason="regulars")  # 220

    over = gesture_propose(reservation=first, by=manager, item="dessert", reason="and a dessert")  # 370 > 300

    assert (over.status, over.approved_by, over.proposed_by) == ("queued", manager, manager)
    assert over.beyond_rules == "over the service's budget"


def test_the_api_takes_a_hosts_proposal_and_the_guests_reaction(bistro, staff, tuesday, host_api, manager_api):
    reservation = visit(bistro, tuesday)
    gesture_propose(reservation=reservation, by=staff["manager"], item="starter", reason="regulars")  # 220 spent

    response = host_api.post(f"/api/v1/reservations/{reservation.pk}/gestures/",
                             {"item": "dessert", "reason": "spilled wine on her coat"}, format="json")

    assert response.status_code == 201, response.json()
    proposed = response.json()
    assert (proposed["status"], proposed["item"], proposed["occasion"], proposed["cost"], proposed["proposed_by"],
            proposed["beyond_rules"]) == ("needs_approval", "dessert", "judgment", "150.00", "host",
                                          "over the service's budget")
    early = host_api.post(f"/api/v1/comps/{proposed['id']}/reaction/", {"reaction": "delighted"}, format="json")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")

    assert manager_api.post(f"/api/v1/comps/{proposed['id']}/approve/").json()["status"] == "queued"
    assert host_api.post(f"/api/v1/comps/{proposed['id']}/present/").json()["status"] == "presented"
    noted = host_api.post(f"/api/v1/comps/{proposed['id']}/reaction/",
                          {"reaction": "delighted", "note": "she laughed and hugged the waiter"}, format="json")

    assert noted.status_code == 200, noted.json()
    assert (noted.json()["reaction"], noted.json()["reaction_note"], noted.json()["reaction_by"]) == (
        "delighted", "she laughed and hugged the waiter", "host")
    bad = host_api.post(f"/api/v1/comps/{proposed['id']}/reaction/", {"reaction": "ecstatic"}, format="json")
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["reaction"])


def test_a_reaction_is_noted_only_once_it_was_presented(bistro, staff, tuesday):
    gesture = gesture_offer(reservation=visit(bistro, tuesday), occasion="won_back", reason="turned away")
    with pytest.raises(InvalidTransition):
        gesture_react(gesture=gesture, reaction="pleased", by=staff["host"])
    gesture_present(gesture=gesture, by=staff["host"])
    noted = gesture_react(gesture=gesture, reaction="refused", by=staff["host"], note="on a diet")
    assert (noted.reaction, noted.reaction_note, noted.reaction_by) == ("refused", "on a diet", staff["host"])


# --- one surprise in N visits ---------------------------------------------------------------------------------


def test_one_surprise_in_three_visits(bistro, staff, tuesday):
    bistro.gesture_every_visits = 3
    bistro.gesture_pause_days = 0  # only the visits rule here
    bistro.save()
    days = [tuesday + timedelta(days=7 * i) for i in range(4)]

    first = visit(bistro, days[0])
    given = gesture_offer(reservation=first, occasion="won_back", reason="turned away")
    gesture_present(gesture=given, by=staff["host"])
    complete(first, days[0])
    second = visit(bistro, days[1])
    complete(second, days[1])

    third = visit(bistro, days[2])
    # The 1st visit had one: the 3rd is within the same three visits, so nothing automatic, a note instead.
    assert gesture_offer(reservation=third, occasion="mistake", reason="cold soup") is None
    (note,) = StaffNote.objects.filter(reservation=third, kind="recent_gesture")
    assert f"Dessert for their visit on {days[0].isoformat()}" in note.text and "one surprise in 3 visits" in note.text
    # A host may still propose one; it waits for a manager, saying why. Promised beforehand, it is no surprise.
    held = gesture_propose(reservation=third, by=staff["host"], item="drink", reason="she asked for the chef")
    assert (held.status, held.beyond_rules) == ("needs_approval", "a surprise within the last 3 visits")
    promised = gesture_propose(reservation=third, by=staff["host"], item="dessert", occasion="mistake",
                               reason="we promised on the phone", announced=True)
    assert promised.status == "queued"
    complete(third, days[2])

    fourth = visit(bistro, days[3])
    # Visits 1, 2 and 3 completed since the last surprise: the 4th may have one again.
    assert gesture_offer(reservation=fourth, occasion="won_back", reason="turned away").status == "queued"


def test_with_the_default_of_one_visit_only_the_pause_in_days_applies(bistro, staff, tuesday):
    assert bistro.gesture_every_visits == 1
    first = visit(bistro, tuesday)
    gesture_present(gesture=gesture_offer(reservation=first, occasion="won_back", reason="x"), by=staff["host"])
    complete(first, tuesday)

    later = visit(bistro, tuesday + timedelta(days=100))  # past the 90 days' pause

    assert gesture_offer(reservation=later, occasion="won_back", reason="again").status == "queued"


# --- triggers ---------------------------------------------------------------------------------------------------


def test_a_celebration_queues_a_dessert_and_a_visit_gets_at_most_one_welcome_and_one_amends(bistro, staff, tuesday):
    birthday = visit(bistro, tuesday, expectations=["birthday_cake", "window_seat"])
    guest_prepare(reservation_id=birthday.pk)

    (dessert,) = Gesture.objects.filter(reservation=birthday)
    assert (dessert.item, dessert.occasion, dessert.cost) == ("dessert", "celebration", Decimal("150.00"))
    assert "birthday cake" in dessert.reason and "celebrating with us" in dessert.prompt

    # A long wait on the same visit still earns its amends (a welcome never holds one back) …
    assert gesture_offer(reservation=birthday, occasion="long_wait", reason="waited 30 min").item == "drink"
    # … but a second failure the same night gives nothing more automatically: a manager decides.
    assert gesture_offer(reservation=birthday, occasion="mistake", reason="cold soup") is None
    assert sorted(Gesture.objects.filter(reservation=birthday).values_list("occasion", flat=True)) == [
        "celebration", "long_wait"]


def test_a_booking_won_through_an_override_gets_its_dessert_and_no_celebration_besides(bistro, staff, tuesday):
    visit(bistro, tuesday, guest=GuestDetails(name="First", phone="+380501110005"))
    visit(bistro, tuesday, guest=GuestDetails(name="Second", phone="+380501110006"))
    visit(bistro, tuesday, guest=GuestDetails(name="Third", phone="+380501110007"))
    visit(bistro, tuesday, guest=GuestDetails(name="Fourth", phone="+380501110008"))
    won = visit(bistro, tuesday, expectations=["anniversary"], by=staff["manager"], override_reason="regulars")
    guest_prepare(reservation_id=won.pk)

    assert list(Gesture.objects.filter(reservation=won).values_list("occasion", flat=True)) == ["override"]


def test_a_first_visit_gets_a_drink_only_where_the_restaurant_wants_it(bistro, staff, tuesday):
    plain = visit(bistro, tuesday, guest=GuestDetails(name="New", phone="+380501110009"))
    guest_prepare(reservation_id=plain.pk)
    assert not Gesture.objects.filter(reservation=plain).exists()

    bistro.first_visit_gesture = True
    bistro.save()
    first = visit(bistro, tuesday, guest=OLENA)
    guest_prepare(reservation_id=first.pk)
    (drink,) = Gesture.objects.filter(reservation=first)
    assert (drink.item, drink.occasion, drink.cost) == ("drink", "first_visit", Decimal("90.00"))

    complete(first, tuesday)
    returning = visit(bistro, tuesday + timedelta(days=1), guest=OLENA)
    guest_prepare(reservation_id=returning.pk)
    assert not Gesture.objects.filter(reservation=returning).exists()


def test_a_long_wait_and_a_mistake_trigger_their_own_items(bistro, tuesday):
    waited = gesture_offer(reservation=visit(bistro, tuesday, guest=GuestDetails(name="W", phone="+380501110003")),
                           occasion="long_wait", reason="waited 35 minutes past the quote")
    mistake = gesture_offer(reservation=visit(bistro, tuesday, guest=GuestDetails(name="M", phone="+380501110004")),
                            occasion="mistake", reason="wrong dish")

    assert (waited.item, waited.cost, mistake.item, mistake.cost) == (
        "drink", Decimal("90.00"), "dessert", Decimal("150.00"))
    assert "waited longer than we told you" in waited.prompt


def test_nobody_is_given_a_gesture_for_a_cancelled_booking(bistro, staff, tuesday, host_api):
    cancelled = reservation_transition(reservation=visit(bistro, tuesday), action="cancel")

    response = host_api.post(f"/api/v1/reservations/{cancelled.pk}/gestures/", {"reason": "sorry"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert not Gesture.objects.exists()
