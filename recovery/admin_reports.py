"""The REPORTS part of recovery's admin: expectations' outcomes and the overbooking cap's changes, read-only.

Both are history (what staff scored, what a manager applied): read here, never typed in.
"""

from django.contrib import admin

from reservations.access import manages_any
from reservations.admin import BY_RESTAURANT, ScopedAdmin, local_time

from .models import ExpectationOutcome, OverbookingCapChange


class HistoryAdmin(ScopedAdmin):
    # A manager reads the history of the restaurants they manage (the queryset is scoped) without a model
    # permission to grant.
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and manages_any(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExpectationOutcome)
class ExpectationOutcomeAdmin(HistoryAdmin):
    list_display = ["reservation", "reservation_start", "expectation", "outcome", "note", "by", "local_at"]
    list_filter = [BY_RESTAURANT, "outcome"]
    search_fields = ["expectation", "note"]
    reservation_start = local_time("reservation__start", "booking at")
    local_at = local_time("at", "scored at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "reservation", "by")


@admin.register(OverbookingCapChange)
class OverbookingCapChangeAdmin(HistoryAdmin):
    list_display = ["restaurant", "service", "previous_cap", "new_cap", "by", "local_at"]
    list_filter = [BY_RESTAURANT, "service"]
    local_at = local_time("at", "applied at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "by")
