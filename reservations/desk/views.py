"""The front desk (`/desk/`): thin views over the same scoped services and selectors as the API.

Every read and write goes through `reservations.access` (another restaurant's desk is 403, its bookings
404) and the booking services; the views parse the host's input, call one service, and answer with the
page or, for htmx, the fragment to swap. Every action is a POST under CSRF; the undo of the user's last
action is kept in their session.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import access, engine, selectors
from ..errors import NoTables, NotFound, OverrideForbidden
from ..models import Restaurant
from ..services.booking import TRANSITIONS, refusal_record, reservation_create, reservation_transition
from ..services.gestures import gesture_approve, gesture_present
from ..services.guests import guest_update
from ..services.messaging import waitlist_notify
from ..services.undo import reservation_step_back
from ..services.walk_ins import waitlist_leave, waitlist_seat, walk_in_arrive
from . import board as b
from .forms import BookingForm, DayForm, GuestForm, RefusalForm, SeatForm, WalkInForm
from .frame import UNDO_KEY, desk_view, entry_here, final, forbidden, remember, reservation_here, toast, when


@require_GET
def desk_home(request: HttpRequest) -> HttpResponse:
    """`/desk/`: the user's (first) restaurant's desk."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    first = access.restaurants_for(request.user).order_by("name").first()
    if first is None:
        return forbidden(request, _("You are not on the staff of any restaurant."))
    return redirect("desk-page", slug=first.slug)


# --- the page and its live parts -------------------------------------------------------------------------


def _board_context(request: HttpRequest, restaurant: Restaurant) -> dict:
    now = timezone.now()
    query = DayForm(request.GET)
    query.is_valid()
    board = b.board_build(restaurant, query.day(b.tonight(restaurant, now)),
                          service=query.cleaned_data.get("service"), now=now)
    view = query.cleaned_data.get("view") or "timeline"
    return {"restaurant": restaurant, "board": board, "view": view,
            "is_manager": access.is_manager(request.user, restaurant),
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
    reservation = selectors.desk_marks([selectors.reservation_get(reservation_here(request, restaurant, pk).pk)])[0]
    # Only the steps valid now: a no-show only once their time has passed.
    sources = [action for action in b.ACTION_LABELS if reservation.status in TRANSITIONS[action][0]
               and (action != "no-show" or timezone.now() >= reservation.start)]
    notes, gestures = selectors.booking_floor_notes(reservation)
    return render(request, "desk/partials/booking_panel.html", {
        "restaurant": restaurant, "r": reservation, "badges": b.badges(reservation),
        "notes": notes, "gestures": gestures, "is_manager": access.is_manager(request.user, restaurant),
        "tables": b.tables_of(reservation), "actions": [(a, b.ACTION_LABELS[a]) for a in sources],
        "status_label": b.STATUS_LABELS.get(reservation.status, reservation.status),
    })


# --- status changes ---------------------------------------------------------------------------------------


@require_GET
@desk_view
def seat_form(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    reservation = selectors.reservation_get(reservation_here(request, restaurant, pk).pk)
    return render(request, "desk/partials/seat_form.html", {
        "restaurant": restaurant, "r": reservation, "is_manager": access.is_manager(request.user, restaurant),
        **b.seat_choices(restaurant, reservation, timezone.now()),
    })


@require_POST
@desk_view
def booking_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    if action not in TRANSITIONS:
        raise NotFound()
    reservation = reservation_here(request, restaurant, pk)
    tables = override = None
    if action == "seat":
        form = SeatForm(request.POST, table_names=[t.name for t in selectors.desk_tables(restaurant)])
        if not form.is_valid():
            return toast(request, _("Choose tables that exist."), status=400, error=True)
        tables, override = form.cleaned_data["tables"] or None, form.cleaned_data["override_reason"]
    before = reservation.status
    done = reservation_transition(reservation=reservation, action=action, by=request.user, table_names=tables,
                                  override_reason=override)
    remember(request, restaurant, kind="status", id=done.pk, expected=done.status, to=before)
    who = done.guest.name if done.guest and done.guest.name else _("party of %(n)s") % {"n": done.party_size}
    where = ", ".join(b.tables_of(done))
    text = _("%(who)s: %(status)s") % {"who": who, "status": b.STATUS_LABELS.get(done.status, done.status)}
    if action == "seat" and where:
        text += " · " + where
    return toast(request, text, undo=True, changed=True, dialog="")


@require_POST
@desk_view
def undo(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """Take back this user's last action on this desk, where the book allows it; say so where it does not."""
    step = request.session.get(UNDO_KEY)
    if not step or step.get("restaurant") != restaurant.slug:
        return toast(request, _("Nothing to undo."), status=409, error=True)
    kind = step["kind"]
    if kind in ("status", "seated"):
        reservation = reservation_here(request, restaurant, step["id"])
        reservation_step_back(reservation=reservation, expected=step["expected"], to_status=step["to"])
        text = _("Undone: back to %(status)s.") % {"status": b.STATUS_LABELS.get(step["to"], step["to"])}
    elif kind == "booked":
        reservation = reservation_here(request, restaurant, step["id"])
        reservation_transition(reservation=reservation, action="cancel", by=request.user)
        text = _("Undone: the booking is cancelled.")
    elif kind == "waitlisted":
        waitlist_leave(entry=entry_here(request, restaurant, step["id"]))
        text = _("Undone: the party is off the waitlist.")
    else:  # a step with no inverse: say why, and keep saying it until the next action
        return toast(request, step.get("why") or _("That cannot be undone."), status=409, error=True)
    del request.session[UNDO_KEY]
    return toast(request, text, changed=True)


# --- new bookings, walk-ins and "no tables" ---------------------------------------------------------------


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
        "slots": [] if walk_in else b.free_slots(restaurant, day, 2, channel="host", now=now),
        "now": b.walk_in_outlook(restaurant, 2, now) if walk_in else None,
    })


@require_GET
@desk_view
def slots(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    query = BookingForm(request.GET, restaurant=restaurant)
    query.is_valid()
    size, day = query.cleaned_data.get("party_size"), query.cleaned_data.get("date")
    channel = "phone" if query.cleaned_data.get("phone") else "host"  # as the booking will be made
    free = b.free_slots(restaurant, day, size, channel=channel, now=timezone.now()) if size and day else []
    return render(request, "desk/partials/slots.html", {"slots": free, "chosen": request.GET.get("time", "")})


@require_GET
@desk_view
def walk_in_now(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """Before the host taps: would this party sit now (and where), or wait (and about how long)?"""
    form = WalkInForm(request.GET, restaurant=restaurant)
    form.is_valid()
    size = form.cleaned_data.get("party_size")
    return render(request, "desk/partials/walk_in_now.html", {"now": b.walk_in_outlook(restaurant, size,
                                                                                          timezone.now())})


def _no_tables(request: HttpRequest, restaurant: Restaurant, form: BookingForm, refused: NoTables, *,
               recorded: bool) -> HttpResponse:
    start = form.cleaned_data["start"]
    return render(request, "desk/partials/no_tables.html", {
        "restaurant": restaurant, "form": form, "start": start, "recorded": recorded,
        "start_value": start.astimezone(restaurant.tz).strftime("%Y-%m-%dT%H:%M"),
        "reasons": [b.REASON_LABELS.get(r, r) for r in refused.reasons], "reason_codes": ",".join(refused.reasons),
        "alternatives": [a.astimezone(restaurant.tz).strftime("%H:%M") for a in refused.alternatives],
        "is_manager": access.is_manager(request.user, restaurant),
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
    if override is not None and not access.is_manager(request.user, restaurant):
        raise OverrideForbidden()
    if override is None:
        # Ask the book first: a "no" is shown with its alternatives, and recorded when the host records the
        # guest's phone (`refusal`), not once more for each alternative the guest then turns down.
        refused = b.booking_refusal(restaurant, start=data["start"], party_size=data["party_size"],
                                    channel=form.channel, now=timezone.now())
        if refused is not None:
            return _no_tables(request, restaurant, form, refused, recorded=False)
    try:
        reservation = reservation_create(
            restaurant=restaurant, start=data["start"], party_size=data["party_size"], channel=form.channel,
            guest=form.guest_details(), by=request.user, expectations=data["expectations"], notes=data["notes"],
            override_reason=override,
        )
    except NoTables as refused:  # the book filled between the look and the booking: the service recorded it
        return _no_tables(request, restaurant, form, refused, recorded=True)
    remember(request, restaurant, kind="booked", id=reservation.pk)
    reservation = selectors.reservation_get(reservation.pk)
    text = _("Booked: %(name)s, %(n)s at %(time)s") % {
        "name": data["name"], "n": reservation.party_size, "time": when(restaurant, reservation.start)}
    if reservation.override_bypassed:
        text += " · " + _("override")
    elif reservation.overbooked:
        text += " · " + _("overbooked")
    else:
        text += " · " + ", ".join(b.tables_of(reservation))
    return toast(request, text, undo=True, changed=True, dialog="")


@require_POST
@desk_view
def refusal(request: HttpRequest, restaurant: Restaurant) -> HttpResponse:
    """The host's way out of "no tables": keep the guest's number so the restaurant can come back to them."""
    form = RefusalForm(request.POST, restaurant=restaurant)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return toast(request, errors, status=400, error=True)
    data = form.cleaned_data
    refusal_record(restaurant=restaurant, start=data["start"], party_size=data["party_size"],
                   channel="phone" if data["phone"] else "host", reasons=data["reasons"] or [engine.FULLY_BOOKED],
                   guest=form.guest_details(), by=request.user)
    final(request, restaurant, _("A refusal stays on the record: it is the restaurant's lost demand."))
    if data["phone"]:
        text = _("Refusal recorded: we will come back to %(phone)s.") % {"phone": data["phone"]}
    else:
        text = _("Refusal recorded (no phone).")
    return toast(request, text, changed=True, dialog="")


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
        remember(request, restaurant, kind="seated", id=result.reservation.pk, expected="seated", to="cancelled")
        seated = selectors.reservation_get(result.reservation.pk)
        text = _("Walk-in seated at %(tables)s") % {"tables": ", ".join(b.tables_of(seated))}
    else:
        remember(request, restaurant, kind="waitlisted", id=result.entry.pk)
        text = _("Waitlisted: number %(pos)s, quote %(min)s min") % {
            "pos": result.position, "min": result.entry.quoted_wait_minutes}
    return toast(request, text, undo=True, changed=True, dialog="")


# --- the waitlist ----------------------------------------------------------------------------------------


@require_POST
@desk_view
def waitlist_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    entry = entry_here(request, restaurant, pk)
    if action == "notify":
        waitlist_notify(entry=entry)
        final(request, restaurant, _("A text once sent cannot be taken back."))
        return toast(request, _("Texted: your table is ready."), undo=True, changed=True)
    if action == "seat":
        reservation = waitlist_seat(entry=entry, by=request.user)
        final(request, restaurant, _("A party seated from the waitlist cannot be put back in line here; "
                                      "open their booking to change it."))
        seated = selectors.reservation_get(reservation.pk)
        return toast(request, _("Seated at %(tables)s") % {"tables": ", ".join(b.tables_of(seated))},
                      undo=True, changed=True)
    if action == "leave":
        waitlist_leave(entry=entry)
        final(request, restaurant, _("A party that left the waitlist joins it again as a new walk-in."))
        return toast(request, _("The party left the waitlist."), undo=True, changed=True)
    raise NotFound()


# --- the floor's gestures ---------------------------------------------------------------------------------


@require_POST
@desk_view
def comp_action(request: HttpRequest, restaurant: Restaurant, pk: int, action: str) -> HttpResponse:
    """The dessert was presented (anyone on the floor), or a manager lets one over the budget through."""
    gesture = access.comp_for(request.user, pk)
    if gesture.restaurant_id != restaurant.pk or action not in ("present", "approve"):
        raise NotFound()
    if action == "present":
        gesture_present(gesture=gesture, by=request.user)
        final(request, restaurant, _("A gesture once presented stays presented."))
        text = _("Dessert presented.")
    else:
        gesture_approve(gesture=gesture, by=request.user)
        final(request, restaurant, _("An approval stays on the record."))
        text = _("Dessert approved: the floor may present it.")
    return toast(request, text, undo=True, changed=True, dialog="")


# --- the guest -------------------------------------------------------------------------------------------


def _guest_panel(request: HttpRequest, restaurant: Restaurant, guest, *, form: GuestForm | None = None,
                 status: int = 200) -> HttpResponse:
    guest = selectors.guest_with_visits(guest)
    history = selectors.guest_history(access.reservations_for(request.user), guest)
    form = form or GuestForm(initial={"notes": guest.notes, "tags": ", ".join(guest.tags),
                                      "expectations": ", ".join(guest.expectations),
                                      "sms_opt_out": guest.sms_opt_out})
    return render(request, "desk/partials/guest_panel.html", {
        "restaurant": restaurant, "guest": guest, "form": form,
        "history": [(r, b.STATUS_LABELS.get(r.status, r.status)) for r in history],
    }, status=status)


@require_http_methods(["GET", "POST"])
@desk_view
def guest_panel(request: HttpRequest, restaurant: Restaurant, pk: int) -> HttpResponse:
    """The guest's card: what we know of them, and the host's corrections to it (POST)."""
    guest = access.guest_for(request.user, pk)
    if request.method == "GET":
        return _guest_panel(request, restaurant, guest)
    form = GuestForm(request.POST)
    if not form.is_valid():
        return _guest_panel(request, restaurant, guest, form=form, status=400)
    changes = form.cleaned_data
    # The desk may stop our texts, never restart them: a guest who said STOP says START themselves.
    changes["sms_opt_out"] = changes["sms_opt_out"] or guest.sms_opt_out
    guest_update(guest=guest, **changes)
    response = _guest_panel(request, restaurant, guest)
    response["HX-Trigger"] = "book-changed"
    return response


def desk_url(restaurant: Restaurant) -> str:
    return reverse("desk-page", kwargs={"slug": restaurant.slug})
