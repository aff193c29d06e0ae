"""The manager's recovery report as a page: the same numbers as the API, and the one-click cap."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from reservations import access
from reservations.errors import BookError, NotFound, NotYourRestaurant

from .reports_api import RangeQuery
from .services.overbooking import overbooking_cap_apply
from .services.report_data import recovery_report


def _manager_restaurant(request: HttpRequest, slug: str):
    try:
        restaurant = access.restaurant_for(request.user, slug)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except NotYourRestaurant as exc:
        raise PermissionDenied(str(exc)) from exc
    if not access.is_manager(request.user, restaurant):
        raise PermissionDenied("Only a manager may read the restaurant's reports.")
    return restaurant


def _range(restaurant, data):
    form = RangeQuery(data=data, context={"tz": restaurant.tz})
    if not form.is_valid():
        return None, {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
    return (form.validated_data["from"], form.validated_data["to"]), {}


@login_required
@require_http_methods(["GET", "HEAD"])
def report_page(request: HttpRequest, slug: str) -> HttpResponse:
    restaurant = _manager_restaurant(request, slug)
    dates, errors = _range(restaurant, request.GET)
    report = recovery_report(restaurant, *dates) if dates else None
    return render(request, "recovery/report.html", {
        "restaurant": restaurant, "report": report, "errors": errors,
        "date_from": request.GET.get("from", ""), "date_to": request.GET.get("to", ""),
    }, status=200 if report else 400)


@login_required
@require_POST
def cap_apply(request: HttpRequest, slug: str) -> HttpResponse:
    restaurant = _manager_restaurant(request, slug)
    dates, errors = _range(restaurant, request.POST)
    target = reverse("recovery-report", args=[slug])
    if not dates:
        messages.error(request, "; ".join(errors.values()))
        return redirect(target)
    try:
        change = overbooking_cap_apply(restaurant=restaurant, service=request.POST.get("service", ""),
                                       date_from=dates[0], date_to=dates[1], by=request.user)
    except BookError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"The overbooking cap is now {change.new_cap} covers "
                                  f"(it was {change.previous_cap if change.previous_cap is not None else 'unset'}).")
    return redirect(f"{target}?from={dates[0].isoformat()}&to={dates[1].isoformat()}")
