"""The guest's own page, reached by the link in their confirmation and reminder (`/b/<token>/`).

No login and no JavaScript: plain forms that POST with CSRF and redirect after a change that worked. The
token is the whole key (`access.reservation_for_guest`); the page shows the booking and nothing else about
the guest. Every change goes through the same services as the API's (`reservation_transition`,
`reservation_change`), so the same rules hold: a cancellation frees the table at once, a change is decided
as an online booking would be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from redis.exceptions import RedisError

from cxhost.redis_guard import describe

from .. import engine, selectors
from ..access import reservation_for_guest
from ..api.throttling import GuestPageThrottle
from ..errors import BookError, InvalidInput, InvalidTransition, NoTables, NotFound
from ..models import Reservation
from ..services.booking import CHANGEABLE, reservation_change, reservation_transition
from .texts import date_words, page_texts

Status = Reservation.Status
FINISHED = {Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW}
logger = logging.getLogger(__name__)


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Too many requests from one address (GUEST_PAGE_THROTTLE_RATE, counted in the shared cache) get a 429 with
    Retry-After instead of the page: the token is the only key, so guessing it must stay slow. A dead cache
    costs the guest nothing: uncounted, as for the API's public endpoints."""
    @wraps(view)
    def limited(request: HttpRequest, token: str) -> HttpResponse:
        throttle = GuestPageThrottle()
        try:
            allowed = throttle.allow_request(request, None)
        except RedisError as exc:
            logger.info("guest page rate limit not counted: the shared cache is unavailable (%s)", describe(exc))
            allowed = True
        if allowed:
            return view(request, token)
        response = render(request, "guest/too_many.html", status=429)
        response["Retry-After"] = str(int(throttle.wait()))
        return response
    return limited


def _booking(token: str, now: datetime) -> Reservation | None:
    """The link's booking, or None once the link is no longer valid (a wrong token, or well after the end)."""
    try:
        reservation = reservation_for_guest(token)
    except NotFound:
        return None
    if now > reservation.end + timedelta(days=settings.GUEST_PAGE_DAYS_AFTER):
        return None
    return reservation


def _may_act(reservation: Reservation, now: datetime) -> bool:
    """A guest changes a booking still ahead of them; from its start on, it is the floor's."""
    return reservation.status in CHANGEABLE and now < reservation.start


def _gone(request: HttpRequest) -> HttpResponse:
    """A 404 page in all three languages: a link we cannot read tells us no language either."""
    return render(request, "guest/gone.html", {"versions": [page_texts(lang) for lang in ("uk", "en", "ru")]},
                  status=404)


def _page(request: HttpRequest, reservation: Reservation, now: datetime, *, status: int = 200,
          refusal: dict | None = None, error: str | None = None, form: dict | None = None) -> HttpResponse:
    restaurant = reservation.restaurant
    language = restaurant.language
    texts = page_texts(language)
    local = reservation.start.astimezone(restaurant.tz)
    config = selectors.restaurant_config(restaurant)
    context = {
        "t": texts,
        "language": language,
        "token": reservation.guest_token,
        "restaurant": restaurant.name,
        "date": date_words(language, local),
        "time": f"{local:%H:%M}",
        "party": reservation.party_size,
        "status": texts[f"status_{reservation.status}"],
        "may_act": _may_act(reservation, now),
        "may_confirm": reservation.status == Status.BOOKED,
        "over": reservation.status in FINISHED,
        "form": form or {"date": local.date().isoformat(), "time": f"{local:%H:%M}",
                         "party_size": reservation.party_size},
        "slot_seconds": config.slot_minutes * 60,
        "refusal": refusal,
        "error": error,
    }
    return render(request, "guest/page.html", context, status=status)


@require_safe  # GET and HEAD: link previews fetch it, and looking changes nothing
@never_cache  # one guest's booking, as it is now: no shared cache keeps it, no back button shows it stale
@rate_limited
def guest_page(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    reservation = _booking(token, now)
    if reservation is None:
        return _gone(request)
    return _page(request, reservation, now)


def _transition(request: HttpRequest, token: str, action: str) -> HttpResponse:
    now = timezone.now()
    reservation = _booking(token, now)
    if reservation is None:
        return _gone(request)
    if not _may_act(reservation, now):
        return redirect("guest-page", token=token)  # the page says why: over, or its time has come
    texts = page_texts(reservation.restaurant.language)
    try:
        reservation_transition(reservation=reservation, action=action, now=now)
    except InvalidTransition:
        return redirect("guest-page", token=token)  # it moved on meanwhile (confirmed twice, cancelled by staff)
    except BookError as exc:
        return _page(request, reservation, now, status=exc.status, error=texts["try_again"])
    messages.success(request, texts[f"done_{action}"])
    return redirect("guest-page", token=token)


@require_POST
@rate_limited
def guest_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _transition(request, token, "confirm")


@require_POST
@rate_limited
def guest_cancel(request: HttpRequest, token: str) -> HttpResponse:
    return _transition(request, token, "cancel")


def _parse_change(data, restaurant) -> tuple[datetime | None, int | None, dict]:
    """The form's new start and party size (None where unreadable), and the form as typed, to show again."""
    form = {"date": data.get("date", "").strip(), "time": data.get("time", "").strip(),
            "party_size": data.get("party_size", "").strip()}
    start = None
    try:
        day = date.fromisoformat(form["date"])
        at = time.fromisoformat(form["time"])
        start = engine.local_moment(day, at.replace(second=0, microsecond=0, tzinfo=None), restaurant.tz)
    except ValueError:
        pass
    party_size = int(form["party_size"]) if form["party_size"].isdigit() else None
    if party_size is not None and not 1 <= party_size <= 99:
        party_size = None
    return start, party_size, form


@require_POST
@rate_limited
def guest_change(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    reservation = _booking(token, now)
    if reservation is None:
        return _gone(request)
    if not _may_act(reservation, now):
        return redirect("guest-page", token=token)
    restaurant = reservation.restaurant
    texts = page_texts(restaurant.language)
    start, party_size, form = _parse_change(request.POST, restaurant)
    if party_size is None:
        return _page(request, reservation, now, status=400, error=texts["bad_party"], form=form)
    if start is None:
        return _page(request, reservation, now, status=400, error=texts["bad_time"], form=form)
    try:
        reservation_change(reservation=reservation, start=start, party_size=party_size, now=now)
    except NoTables as refused:
        local = start.astimezone(restaurant.tz)
        refusal = {
            "message": texts["too_large" if engine.PARTY_TOO_LARGE in refused.reasons else "refused"].format(
                party=party_size, time=f"{local:%H:%M}", date=date_words(restaurant.language, local)),
            "party_size": party_size,
            "alternatives": [{"date": a.date().isoformat(), "time": f"{a:%H:%M}",
                              "label": f"{date_words(restaurant.language, a)}, {a:%H:%M}"}
                             for a in (alt.astimezone(restaurant.tz) for alt in refused.alternatives)],
            "too_large": engine.PARTY_TOO_LARGE in refused.reasons,
        }
        return _page(request, reservation, now, status=409, refusal=refusal, form=form)
    except InvalidInput:
        return _page(request, reservation, now, status=400, error=texts["bad_time"], form=form)
    except InvalidTransition:
        return redirect("guest-page", token=token)
    except BookError as exc:
        return _page(request, reservation, now, status=exc.status, error=texts["try_again"], form=form)
    messages.success(request, texts["done_change"])
    return redirect("guest-page", token=token)
