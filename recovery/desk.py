"""Recovery on the front desk: a mistake logged in two taps, the cases somebody owes an answer, the tables
held for a recovery offer, and how a party's expectations went.

Thin views in the desk's frame (`reservations.desk.frame`: staff only, this restaurant only, the book's
typed errors as a toast) over the recovery services — the same ones the API's views call.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reservations.access import is_manager
from reservations.desk.board import Hold
from reservations.desk.frame import desk_view, final, reservation_here, toast, when
from reservations.errors import NotFound
from reservations.models import Reservation, Restaurant

from . import selectors
from .errors import NotVisited
from .models import CaseAction, ExpectationOutcome, RecoveryCase
from .services.cases import case_decide, case_record, is_overdue
from .services.causes import mistake_log
from .services.outcomes import expectations_of, outcomes_mark, outcomes_of

Status = RecoveryCase.Status
Step = CaseAction.Kind

# A mistake is logged for a party at its table; a "no" before they came is a refusal or a cancellation.
ON_THE_FLOOR = (Reservation.Status.ARRIVED, Reservation.Status.SEATED)
# Expectations are scored for a party at its table or just gone.
SCORED = (Reservation.Status.SEATED, Reservation.Status.COMPLETED)

MISTAKE_LABELS = {
    RecoveryCase.Mistake.WRONG_DISH: gettext_lazy("Wrong dish"),
    RecoveryCase.Mistake.SPILLED_DRINK: gettext_lazy("Spilled drink"),
    RecoveryCase.Mistake.FORGOTTEN_REQUEST: gettext_lazy("Forgotten request"),
    RecoveryCase.Mistake.OTHER: gettext_lazy("Something else"),
}
KIND_LABELS = {
    RecoveryCase.Kind.TURNED_AWAY: gettext_lazy("Turned away"),
    RecoveryCase.Kind.LONG_WAIT: gettext_lazy("Long wait"),
    RecoveryCase.Kind.CANCELLED_BY_RESTAURANT: gettext_lazy("Cancelled by us"),
    RecoveryCase.Kind.MISTAKE: gettext_lazy("Mistake"),
}
CASE_STATUS_LABELS = {Status.OPEN: gettext_lazy("open"), Status.OFFERED: gettext_lazy("table offered")}
# The desk's one-tap steps: what staff did for the guest (anyone), and closing the case (a manager's).
CASE_STEPS = {"called": Step.CALLED, "apology": Step.APOLOGY, "note": Step.NOTE}
CASE_CLOSING = {"resolve": Status.RESOLVED, "lost": Status.LOST}
STEP_DONE = {
    "called": gettext_lazy("Call recorded."), "apology": gettext_lazy("Apology recorded."),
    "note": gettext_lazy("Note added."), "resolve": gettext_lazy("Case resolved: the guest was looked after."),
    "lost": gettext_lazy("Case closed as lost."),
}
OUTCOME_LABELS = {
    ExpectationOutcome.Outcome.FAIL: gettext_lazy("fail"), ExpectationOutcome.Outcome.OK: gettext_lazy("OK"),
    ExpectationOutcome.Outcome.WOW: gettext_lazy("WOW"),
}


class MistakeForm(forms.Form):
    what = forms.ChoiceField(choices=RecoveryCase.Mistake.choices)
    note = forms.CharField(max_length=200, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=1000, required=False)


class OutcomeForm(forms.Form):
    expectation = forms.CharField(max_length=100)
    outcome = forms.ChoiceField(choices=ExpectationOutcome.Outcome.choices)


def _invalid(request: HttpRequest, form: forms.Form) -> HttpResponse:
    return toast(request, "; ".join(e for errs in form.errors.values() for e in errs), status=400, error=True)


# --- tables held for an offer, on the timeline ---------------------------------------------------------------


def offer_hold_blocks(restaurant: Restaurant, start: datetime, end: datetime) -> list[Hold]:
    """The timeline's blocks for tables held for a pending recovery offer (`board.HOLD_BLOCKS`)."""
    return [
        Hold(key=f"offer-hold-{o['id']}", table_ids=tuple(o["tables"]), start=o["start"], end=o["end"],
             text=_("held for %(guest)s until %(time)s — offered by SMS") % {
                 "guest": o["guest"] or _("a guest"), "time": when(restaurant, o["expires_at"])})
        for o in selectors.offer_holds_shown(restaurant, start, end)
    ]


# --- a mistake in two taps -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@desk_view
def mistake(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    """GET: what went wrong (the choices); POST: open the case, so a manager answers it within minutes."""
    reservation = reservation_here(request, restaurant, pk)
    if reservation.status not in ON_THE_FLOOR:
        return toast(request, _("A mistake is logged for a party that is here (arrived or seated)."),
                     status=409, error=True)
    if request.method == "GET":
        return render(request, "recovery/desk/mistake.html", {
            "restaurant": restaurant, "r": reservation, "choices": list(MISTAKE_LABELS.items())})
    form = MistakeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    mistake_log(reservation=reservation, what=form.cleaned_data["what"], note=form.cleaned_data["note"],
                by=request.user)
    final(request, restaurant, _("A case once opened stays open until a manager closes it."))
    return toast(request, _("Case opened; the manager will see it."), changed=True, dialog="")


# --- the cases somebody owes an answer -----------------------------------------------------------------------


def _panel(request: HttpRequest, restaurant: Restaurant) -> str:
    now = timezone.now()
    cases = []
    for case in selectors.desk_cases(restaurant, now=now):
        minutes = int((case.respond_by - now).total_seconds() // 60)
        cases.append({"case": case, "overdue": is_overdue(case, now), "minutes_left": max(minutes, 0),
                      "minutes_late": max(-minutes, 0), "kind": KIND_LABELS.get(case.kind, case.kind),
                      "status": CASE_STATUS_LABELS.get(case.status, case.status),
                      "guest": _case_guest(case)})
    overdue = sum(1 for c in cases if c["overdue"])
    return render_to_string("recovery/desk/panel.html", {
        "restaurant": restaurant, "cases": cases, "overdue": overdue,
        "is_manager": is_manager(request.user, restaurant), "now": now}, request=request)


def _case_guest(case: RecoveryCase) -> str:
    if case.guest is not None and (case.guest.name or case.guest.phone):
        return case.guest.name or str(case.guest.phone)
    if case.refusal is not None:
        return case.refusal.guest_name or str(case.refusal.guest_phone or "")
    return ""


@require_GET
@desk_view
def recovery_panel(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    return HttpResponse(_panel(request, restaurant))


@require_GET
@desk_view
def overdue_badge(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """The header's count of overdue cases, refreshed with the book (managers: the list exists for them)."""
    count = selectors.overdue_count(restaurant, now=timezone.now()) if is_manager(request.user, restaurant) else None
    return render(request, "recovery/desk/overdue_badge.html", {"restaurant": restaurant, "overdue": count})


@require_POST
@desk_view
def case_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    """One tap on a case: called, apology, a note (anyone on the staff); resolve or lost (a manager)."""
    if action not in CASE_STEPS and action not in CASE_CLOSING:
        raise NotFound()
    case = selectors.case_for(request.user, restaurant, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    note = form.cleaned_data["note"].strip()
    if action == "note" and not note:
        return toast(request, _("Write the note first."), status=400, error=True)
    if action in CASE_STEPS:
        case_record(case=case, kind=CASE_STEPS[action], note=note, by=request.user)
    else:
        case_decide(case=case, status=CASE_CLOSING[action], note=note, by=request.user)
    final(request, restaurant, _("A case's timeline is history: add a note instead."))
    return toast(request, str(STEP_DONE[action]), changed=True, dialog=mark_safe(_panel(request, restaurant)))


# --- expectations: fail / OK / WOW --------------------------------------------------------------------------


def _outcomes(request: HttpRequest, restaurant: Restaurant, reservation: Reservation) -> str:
    scored = {o.expectation: o.outcome for o in outcomes_of(reservation)}
    rows = [(e, scored.get(e)) for e in expectations_of(reservation)]
    return render_to_string("recovery/desk/outcomes.html", {
        "restaurant": restaurant, "r": reservation, "rows": rows, "choices": list(OUTCOME_LABELS.items())},
        request=request)


@require_http_methods(["GET", "POST"])
@desk_view
def outcomes(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    """GET: the party's expectations with fail / OK / WOW; POST: score one (again: correct it)."""
    reservation = reservation_here(request, restaurant, pk)
    if reservation.status not in SCORED:
        raise NotVisited(_("Expectations are scored once the party is seated or has left."))
    if request.method == "GET":
        return HttpResponse(_outcomes(request, restaurant, reservation))
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    expectation, outcome = form.cleaned_data["expectation"], form.cleaned_data["outcome"]
    if expectation not in expectations_of(reservation):
        return toast(request, _("This party did not expect that."), status=400, error=True)
    outcomes_mark(reservation=reservation, marks=[(expectation, outcome, "")], by=request.user)
    final(request, restaurant, _("Tap another outcome to correct it."))
    text = _("%(expectation)s: %(outcome)s") % {"expectation": expectation, "outcome": OUTCOME_LABELS[outcome]}
    return toast(request, text, changed=True, dialog=mark_safe(_outcomes(request, restaurant, reservation)))
