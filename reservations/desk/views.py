"""The front desk (`/desk/`): thin views over the same scoped services and selectors as the API.

Every read and write goes through `reservations.access` (another restaurant's desk is 403, its bookings
404) and the booking services; the views parse the host's input, call one service, and answer with the
page or, for htmx, the fragment to swap. Every action is a POST under CSRF; the undo of the user's last
action is kept in their session.
"""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from .. import access, engine, selectors
from ..errors import BookError, NoTables, NotFound, NotYourRestaurant, OverrideForbidden
from ..models import Reservation, Restaurant
from ..roles import is_manager, is_staff_member
from ..services.booking import TRANSITIONS, refusal_record, reservation_create, reservation_transition
from ..services.messaging import waitlist_notify
from ..services.undo import reservation_step_back
from ..services.walk_ins import waitlist_leave, waitlist_seat, walk_in_arrive
from . import board as b
from .forms import BookingForm, DayForm, RefusalForm, SeatForm, WalkInForm

UNDO_KEY = "desk_undo"


# --- the frame: who may reach which desk ------------------------------------------------------------------


def _forbidden(request: HttpRequest, detail: str) -> HttpResponse:
    return render(request, "desk/forbidden.html", {"detail": detail}, status=403)


def desk_view(view):
    """Staff only, their own restaurant only; the book's typed errors become a toast with their status."""

    @functools.wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.htmx:  # a poll or a tap after the session ended: the whole page goes to the login
                page = request.htmx.current_url_abs_path or reverse("desk-page", kwargs={"slug": slug})
                return HttpResponseClientRedirect(f"{reverse('login')}?next={quote(page)}")
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            return _forbidden(request, _("Only the restaurant's staff may use the desk."))
        try:
            restaurant = access.restaurant_for(request.user, slug)
        except NotFound:
            return _forbidden(request, _("There is no such restaurant."))  # as absent as another's
        except NotYourRestaurant:
            return _forbidden(request, _("You are not on the staff of this restaurant."))
        # Times on the desk are the restaurant's wall clock, wherever the server runs.
        timezone.activate(restaurant.tz)
        try:
            return view(request, restaurant, *args, **kwargs)
        except NotFound:
            return _toast(request, _("Not found."), status=404, error=True)
        except BookError as exc:
            said = b.ERROR_TEXTS.get(exc.code) if exc.detail == exc.default_detail else None
            return _toast(request, str(said or exc.detail), status=exc.status, error=True)
        finally:
            timezone.deactivate()

    return wrapper


@require_GET
def desk_home(request: HttpRequest) -> HttpResponse:
    """`/desk/`: the user's (first) restaurant's desk."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    first = access.restaurants_for(request.user).order_by("name").first()
    if first is None:
        return _forbidden(request, _("You are not on the staff of any restaurant."))
    return redirect("desk-page", slug=first.slug)


def _toast(request: HttpRequest, text: str, *, status: int = 200, error: bool = False, undo: bool = False,
           changed: bool = False, dialog: str | None = None) -> HttpResponse:
    """The answer to an action: a toast (out of band), the dialog's new content, and "the book changed"."""
    response = render(request, "desk/partials/toast.html", {
        "text": text, "error": error, "undo": undo, "dialog": dialog,
        "restaurant_slug": request.resolver_match.kwargs.get("slug") if request.resolver_match else "",
    }, status=status)
    if dialog is None:
        response["HX-Reswap"] = "none"  # keep the dialog as it is: only the toast changes
    if changed:
        response["HX-Trigger"] = "book-changed"
    return response


def _remember(request: HttpRequest, restaurant: Restaurant, **step) -> None:
    request.session[UNDO_KEY] = {"restaurant": restaurant.slug, **step}


def _when(restaurant: Restaurant, moment: datetime) -> str:
    return formats.time_format(moment.astimezone(restaurant.tz), "H:i")


def _reservation(request: HttpRequest, restaurant: Restaurant, pk: int) -> Reservation:
    """The booking by id among the caller's, and of the desk it is asked on (another's is as absent)."""
    reservation = access.reservation_for(request.user, pk)
    if reservation.restaurant_id != restaurant.pk:
        raise NotFound()
    return reservation


def _entry(request: HttpRequest, restaurant: Restaurant, pk: int):
    entry = access.waitlist_entry_for(request.user, pk)
    if entry.restaurant_id != restaurant.pk:
        raise NotFound()
    return entry


# --- the page and its live parts -------------------------------------------------------------------------


def _board_context(request: HttpRequest, restaurant: Restaurant) -> dict:
    now = timezone.now()
    query = DayForm(request.GET)
    query.is_valid()
    board = b.board_build(restaurant, query.day(b.tonight(restaurant, now)),
                          service=query.cleaned_data.get("service"), now=now)
    view = query.cleaned_data.get("view") or "timeline"
    return {"restaurant": restaurant, "board": board, "view": view, "is_manager": is_manager(request.user),
            "query": f"date={board.day.isoformat()}&view={view}&service={board.service}"}


@require_GET
@desk_view
def desk_page(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    context = _board_context(request, restaurant)
    context["restaurants"] = list(access.restaurants_for(request.user).order_by("name"))
    return render(request, "desk/page.html", context)


@require_GET
@desk_view
def desk_board(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """The book and the waitlist, polled every few seconds so every host sees the same evening."""
    return render(request, "desk/partials/board.html", _board_context(request, restaurant))


@require_GET
@desk_view
def booking_panel(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    reservation = selectors.desk_marks([selectors.reservation_get(_reservation(request, restaurant, pk).pk)])[0]
    # Only the steps valid now: a no-show only once their time has passed.
    sources = [action for action in b.ACTION_LABELS if reservation.status in TRANSITIONS[action][0]
               and (action != "no-show" or timezone.now() >= reservation.start)]
    return render(request, "desk/partials/booking_panel.html", {
        "restaurant": restaurant, "r": reservation, "badges": b.badges(reservation),
        "tables": b.tables_of(reservation), "actions": [(a, b.ACTION_LABELS[a]) for a in sources],
        "status_label": b.STATUS_LABELS.get(reservation.status, reservation.status),
    })


# --- status changes ---------------------------------------------------------------------------------------


def _seat_choices(restaurant: Restaurant, reservation: Reservation, now: datetime) -> dict:
    """The tables free for this party's time, held ones marked, and the one the book would give them."""
    plan = selectors.day_plan(restaurant, engine.service_day(selectors.restaurant_config(restaurant),
                                                             reservation.start), exclude_reservation=reservation.pk)
    start, end = reservation.start, reservation.end
    held = {t for h in plan.holds if h.start < end and start < h.end for t in h.tables}
    current = b.tables_of(reservation)
    suggestion = engine.decide_seating(plan, party_size=reservation.party_size, start=start, end=end, now=now)
    suggested = current or (list(suggestion.seating.names) if suggestion.seating else [])
    free = [(t.name, t.pk in held, t.min_covers, t.max_covers) for t in selectors.desk_tables(restaurant)
            if plan.table_free(t.pk, start, end) or t.name in current]
    return {"free": free, "suggested": suggested}


@require_GET
@desk_view
def seat_form(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    reservation = selectors.reservation_get(_reservation(request, restaurant, pk).pk)
    return render(request, "desk/partials/seat_form.html", {
        "restaurant": restaurant, "r": reservation, "is_manager": is_manager(request.user),
        **_seat_choices(restaurant, reservation, timezone.now()),
    })


@require_POST
@desk_view
def booking_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    if action not in TRANSITIONS:
        raise NotFound()
    reservation = _reservation(request, restaurant, pk)
    tables = override = None
    if action == "seat":
        form = SeatForm(request.POST, table_names=[t.name for t in selectors.desk_tables(restaurant)])
        if not form.is_valid():
            return _toast(request, _("Choose tables that exist."), status=400, error=True)
        tables, override = form.cleaned_data["tables"] or None, form.cleaned_data["override_reason"]
    before = reservation.status
    done = reservation_transition(reservation=reservation, action=action, by=request.user, table_names=tables,
                                  override_reason=override)
    _remember(request, restaurant, kind="status", id=done.pk, expected=done.status, to=before)
    who = done.guest.name if done.guest and done.guest.name else _("party of %(n)s") % {"n": done.party_size}
    where = ", ".join(b.tables_of(done))
    text = _("%(who)s: %(status)s") % {"who": who, "status": b.STATUS_LABELS.get(done.status, done.status)}
    if action == "seat" and where:
        text += " · " + where
    return _toast(request, text, undo=True, changed=True, dialog="")


@require_POST
@desk_view
def undo(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """Take back this user's last action on this desk, where the book allows it; say so where it does not."""
    step = request.session.get(UNDO_KEY)
    if not step or step.get("restaurant") != restaurant.slug:
        return _toast(request, _("Nothing to undo."), status=409, error=True)
    kind = step["kind"]
    if kind in ("status", "seated"):
        reservation = _reservation(request, restaurant, step["id"])
        reservation_step_back(reservation=reservation, expected=step["expected"], to_status=step["to"])
        text = _("Undone: back to %(status)s.") % {"status": b.STATUS_LABELS.get(step["to"], step["to"])}
    elif kind == "booked":
        reservation = _reservation(request, restaurant, step["id"])
        reservation_transition(reservation=reservation, action="cancel", by=request.user)
        text = _("Undone: the booking is cancelled.")
    elif kind == "waitlisted":
        waitlist_leave(entry=_entry(request, restaurant, step["id"]))
        text = _("Undone: the party is off the waitlist.")
    else:
        return _toast(request, _("That cannot be undone."), status=409, error=True)
    del request.session[UNDO_KEY]
    return _toast(request, text, changed=True)


# --- new bookings, walk-ins and "no tables" ---------------------------------------------------------------


def _slots(restaurant: Restaurant, day, party_size: int) -> list[str]:
    plan = selectors.day_plan(restaurant, day)
    tz = restaurant.tz
    return [s.start.astimezone(tz).strftime("%H:%M")
            for s in engine.availability(plan, party_size=party_size, channel="host", now=timezone.now())
            if s.available]


@require_GET
@desk_view
def booking_form(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    walk_in = request.GET.get("kind") == "walk_in"
    now = timezone.now()
    day = b.tonight(restaurant, now)
    initial = {"party_size": 2, "date": day.isoformat()}
    form = (WalkInForm if walk_in else BookingForm)(initial=initial, restaurant=restaurant)
    return render(request, "desk/partials/booking_form.html", {
        "restaurant": restaurant, "form": form, "walk_in": walk_in, "day": day,
        "slots": [] if walk_in else _slots(restaurant, day, 2),
    })


@require_GET
@desk_view
def slots(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    query = BookingForm(request.GET, restaurant=restaurant)
    query.is_valid()
    size, day = query.cleaned_data.get("party_size"), query.cleaned_data.get("date")
    free = _slots(restaurant, day, size) if size and day and b.EARLIEST <= day <= b.LATEST else []
    return render(request, "desk/partials/slots.html", {"slots": free, "chosen": request.GET.get("time", "")})


def _no_tables(request: HttpRequest, restaurant: Restaurant, form: BookingForm, refused: NoTables, *,
               recorded: bool) -> HttpResponse:
    start = form.cleaned_data["start"]
    return render(request, "desk/partials/no_tables.html", {
        "restaurant": restaurant, "form": form, "start": start, "recorded": recorded,
        "start_value": start.astimezone(restaurant.tz).strftime("%Y-%m-%dT%H:%M"),
        "reasons": [b.REASON_LABELS.get(r, r) for r in refused.reasons], "reason_codes": ",".join(refused.reasons),
        "alternatives": [a.astimezone(restaurant.tz).strftime("%H:%M") for a in refused.alternatives],
        "is_manager": is_manager(request.user),
    }, status=409)


@require_POST
@desk_view
def booking_create(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    form = BookingForm(request.POST, restaurant=restaurant)
    if not form.is_valid():
        return render(request, "desk/partials/booking_form.html", {
            "restaurant": restaurant, "form": form, "walk_in": False, "slots": []}, status=400)
    data = form.cleaned_data
    override = data["override_reason"]
    if override is not None and not is_manager(request.user):
        raise OverrideForbidden()
    if override is None:
        # Ask the book first: a "no" is shown with its alternatives, and recorded when the host records the
        # guest's phone (`refusal`), not once more for each alternative the guest then turns down.
        plan = selectors.day_plan(restaurant, engine.service_day(selectors.restaurant_config(restaurant),
                                                                 data["start"]))
        now = timezone.now()
        decision = engine.decide_booking(plan, party_size=data["party_size"], channel=form.channel,
                                         start=data["start"], now=now)
        if not decision.available and not set(decision.reasons) & {engine.IN_THE_PAST, engine.OUTSIDE_SERVICE_HOURS,
                                                                     engine.CLOSED}:
            alternatives = engine.booking_alternatives(plan, party_size=data["party_size"], channel=form.channel,
                                                       start=data["start"], now=now)
            return _no_tables(request, restaurant, form, NoTables(list(decision.reasons), alternatives),
                              recorded=False)
    try:
        reservation = reservation_create(
            restaurant=restaurant, start=data["start"], party_size=data["party_size"], channel=form.channel,
            guest=form.guest_details(), by=request.user, expectations=data["expectations"], notes=data["notes"],
            override_reason=override,
        )
    except NoTables as refused:  # the book filled between the look and the booking: the service recorded it
        return _no_tables(request, restaurant, form, refused, recorded=True)
    _remember(request, restaurant, kind="booked", id=reservation.pk)
    reservation = selectors.reservation_get(reservation.pk)
    text = _("Booked: %(name)s, %(n)s at %(time)s") % {
        "name": data["name"], "n": reservation.party_size, "time": _when(restaurant, reservation.start)}
    if reservation.override_bypassed:
        text += " · " + _("override")
    elif reservation.overbooked:
        text += " · " + _("overbooked")
    else:
        text += " · " + ", ".join(b.tables_of(reservation))
    return _toast(request, text, undo=True, changed=True, dialog="")


@require_POST
@desk_view
def refusal(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """The host's way out of "no tables": keep the guest's number so the restaurant can come back to them."""
    form = RefusalForm(request.POST, restaurant=restaurant)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return _toast(request, errors, status=400, error=True)
    data = form.cleaned_data
    refusal_record(restaurant=restaurant, start=data["start"], party_size=data["party_size"],
                   channel="phone" if data["phone"] else "host", reasons=data["reasons"] or [engine.FULLY_BOOKED],
                   guest=form.guest_details(), by=request.user)
    request.session.pop(UNDO_KEY, None)
    if data["phone"]:
        text = _("Refusal recorded: we will come back to %(phone)s.") % {"phone": data["phone"]}
    else:
        text = _("Refusal recorded (no phone).")
    return _toast(request, text, changed=True, dialog="")


@require_POST
@desk_view
def walk_in(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    form = WalkInForm(request.POST, restaurant=restaurant)
    if not form.is_valid():
        return render(request, "desk/partials/booking_form.html", {
            "restaurant": restaurant, "form": form, "walk_in": True, "slots": []}, status=400)
    result = walk_in_arrive(restaurant=restaurant, party_size=form.cleaned_data["party_size"],
                            guest=form.guest_details(), by=request.user)
    if result.reservation is not None:
        _remember(request, restaurant, kind="seated", id=result.reservation.pk, expected="seated", to="cancelled")
        seated = selectors.reservation_get(result.reservation.pk)
        text = _("Walk-in seated at %(tables)s") % {"tables": ", ".join(b.tables_of(seated))}
    else:
        _remember(request, restaurant, kind="waitlisted", id=result.entry.pk)
        text = _("Waitlisted: number %(pos)s, quote %(min)s min") % {
            "pos": result.position, "min": result.entry.quoted_wait_minutes}
    return _toast(request, text, undo=True, changed=True, dialog="")


# --- the waitlist ----------------------------------------------------------------------------------------


@require_POST
@desk_view
def waitlist_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    entry = _entry(request, restaurant, pk)
    if action == "notify":
        waitlist_notify(entry=entry)
        request.session.pop(UNDO_KEY, None)  # a text once sent cannot be taken back
        return _toast(request, _("Texted: your table is ready."), changed=True)
    if action == "seat":
        reservation = waitlist_seat(entry=entry, by=request.user)
        request.session.pop(UNDO_KEY, None)
        seated = selectors.reservation_get(reservation.pk)
        return _toast(request, _("Seated at %(tables)s") % {"tables": ", ".join(b.tables_of(seated))},
                      changed=True)
    if action == "leave":
        waitlist_leave(entry=entry)
        request.session.pop(UNDO_KEY, None)
        return _toast(request, _("The party left the waitlist."), changed=True)
    raise NotFound()


# --- the guest -------------------------------------------------------------------------------------------


@require_GET
@desk_view
def guest_panel(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    guest = selectors.guest_with_visits(access.guest_for(request.user, pk))
    history = selectors.guest_history(access.reservations_for(request.user), guest)
    return render(request, "desk/partials/guest_panel.html", {
        "restaurant": restaurant, "guest": guest, "history": [
            (r, b.STATUS_LABELS.get(r.status, r.status)) for r in history],
    })


def desk_url(restaurant: Restaurant) -> str:
    return reverse("desk-page", kwargs={"slug": restaurant.slug})
