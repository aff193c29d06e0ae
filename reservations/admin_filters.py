"""The admin's list filters that need the restaurant's own calendar or the book's own words."""

from __future__ import annotations

from datetime import timedelta
from functools import reduce
from operator import or_

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from . import access
from .selectors import local_day_range

# (the parameter's value, its label, the first day and the number of days, counted from the restaurant's today)
DAYS = [
    ("yesterday", "Yesterday", -1, 1),
    ("today", "Today", 0, 1),
    ("tomorrow", "Tomorrow", 1, 1),
    ("next7", "The next 7 days", 0, 7),
    ("past7", "The past 7 days", -7, 7),
]


class LocalDayFilter(admin.SimpleListFilter):
    """Bookings by the restaurant's own day: "today" in Kyiv starts at Kyiv's midnight, not UTC's.

    A manager of restaurants in several zones gets each restaurant's own today.
    """

    title = "day (restaurant's time)"
    parameter_name = "day"
    field = "start"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _, _ in DAYS]

    def queryset(self, request, queryset):
        chosen = next((d for d in DAYS if d[0] == self.value()), None)
        if chosen is None:
            return queryset
        _, _, first, days = chosen
        windows = []
        for restaurant in access.restaurants_for(request.user):
            today = timezone.localdate(timezone=restaurant.tz)
            start, _ = local_day_range(restaurant, today + timedelta(days=first))
            _, end = local_day_range(restaurant, today + timedelta(days=first + days - 1))
            windows.append(Q(restaurant=restaurant, **{f"{self.field}__gte": start, f"{self.field}__lt": end}))
        if not windows:
            return queryset.none()
        return queryset.filter(reduce(or_, windows))


class OverrideFilter(admin.SimpleListFilter):
    title = "override"
    parameter_name = "override"

    def lookups(self, request, model_admin):
        return [("yes", "Won through an override"), ("no", "Ordinary")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(override_bypassed="")
        if self.value() == "no":
            return queryset.filter(override_bypassed="")
        return queryset
