"""The desk's frame: who may reach which desk, how an action answers (a toast, the dialog, "the book
changed"), and the user's last step kept for undo."""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views import csrf
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect

from .. import access
from ..errors import BookError, NotFound, NotYourRestaurant
from ..models import Reservation, Restaurant, WaitlistEntry
from . import board as b

UNDO_KEY = "desk_undo"


# --- the frame: who may reach which desk ------------------------------------------------------------------


def forbidden(request: HttpRequest, detail: str) -> HttpResponse:
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
        if not access.is_staff_member(request.user):
            return forbidden(request, _("Only the restaurant's staff may use the desk."))
        try:
            restaurant = access.restaurant_for(request.user, slug)
        except NotFound:
            return forbidden(request, _("There is no such restaurant."))  # as absent as another's
        except NotYourRestaurant:
            return forbidden(request, _("You are not on the staff of this restaurant."))
        # Times on the desk are the restaurant's wall clock, wherever the server runs.
        timezone.activate(restaurant.tz)
        try:
            return view(request, restaurant, *args, **kwargs)
        except NotFound:
            return toast(request, _("Not found."), status=404, error=True)
        except BookError as exc:
            said = b.ERROR_TEXTS.get(exc.code) if exc.detail == exc.default_detail else None
            return toast(request, str(said or exc.detail), status=exc.status, error=True)
        finally:
            timezone.deactivate()

    return wrapper


def toast(request: HttpRequest, text: str, *, status: int = 200, error: bool = False, undo: bool = False,
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


def remember(request: HttpRequest, restaurant: Restaurant, **step) -> None:
    request.session[UNDO_KEY] = {"restaurant": restaurant.slug, **step}


def final(request: HttpRequest, restaurant: Restaurant, why: str) -> None:
    """The user's last action has no inverse: undo says why rather than taking back an older step."""
    remember(request, restaurant, kind="final", why=str(why))


def when(restaurant: Restaurant, moment: datetime) -> str:
    return formats.time_format(moment.astimezone(restaurant.tz), "H:i")


def reservation_here(request: HttpRequest, restaurant: Restaurant, pk: int) -> Reservation:
    """The booking by id among the caller's, and of the desk it is asked on (another's is as absent)."""
    reservation = access.reservation_for(request.user, pk)
    if reservation.restaurant_id != restaurant.pk:
        raise NotFound()
    return reservation


def entry_here(request: HttpRequest, restaurant: Restaurant, pk: int) -> WaitlistEntry:
    entry = access.waitlist_entry_for(request.user, pk)
    if entry.restaurant_id != restaurant.pk:
        raise NotFound()
    return entry


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused cross-site (or stale) POST: Django's page, but a toast for the desk's own htmx requests, whose
    token goes stale when the user logs in again in another tab."""
    if getattr(request, "htmx", False):
        response = render(request, "desk/partials/toast.html", {
            "text": _("This page is out of date (you logged in again?): reload it and try once more."),
            "error": True, "dialog": None}, status=403)
        response["HX-Reswap"] = "none"
        return response
    return csrf.csrf_failure(request, reason=reason)
