"""Recovery in the back office: cases with their timeline, and the offers of freed tables.

Both are history written by the book and by staff through the API: read-only here, scoped to the manager's
own restaurants like every page of the book. A manager can close cases from the list (resolved or lost),
through the same service as the API, so the timeline records who closed them.
"""

from django.contrib import admin, messages
from django.utils import timezone

from reservations.admin import BY_RESTAURANT, ScopedAdmin, local_time
from reservations.errors import BookError

from .models import CaseAction, RecoveryCase, RecoveryOffer
from .selectors import overdue_q
from .services.cases import case_decide, is_overdue


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue: nobody has answered the guest in time"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(overdue_q(timezone.now()))
        return queryset


class CaseActionInline(admin.TabularInline):
    """The case's timeline: what was done for the guest, by whom, when. History: never edited here."""

    model = CaseAction
    extra = 0
    can_delete = False
    fields = ["local_at", "kind", "note", "by"]
    readonly_fields = fields
    ordering = ["at", "id"]

    @admin.display(description="at")
    def local_at(self, action: CaseAction) -> str:
        return f"{timezone.localtime(action.at, action.case.restaurant.tz):%Y-%m-%d %H:%M %Z}"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _close(modeladmin, request, queryset, status: str) -> None:
    done, failed = 0, []
    for case in queryset:
        try:
            case_decide(case=case, status=status, note="closed from the admin", by=request.user)
            done += 1
        except BookError as exc:
            failed.append(f"#{case.pk}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"{done} case(s) {status}.", messages.SUCCESS)
    for line in failed:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.action(description="Resolve the selected cases (the guest was looked after)")
def resolve_cases(modeladmin, request, queryset):
    _close(modeladmin, request, queryset, RecoveryCase.Status.RESOLVED)


@admin.action(description="Mark the selected cases lost (the guest could not be won back)")
def lose_cases(modeladmin, request, queryset):
    _close(modeladmin, request, queryset, RecoveryCase.Status.LOST)


@admin.register(RecoveryCase)
class RecoveryCaseAdmin(ScopedAdmin):
    list_display = ["id", "restaurant", "kind", "status", "overdue", "guest", "summary", "local_opened_at",
                    "local_respond_by"]
    list_filter = ["kind", "status", OverdueFilter, BY_RESTAURANT]
    search_fields = ["summary", "guest__name", "guest__phone", "refusal__guest_phone"]
    date_hierarchy = "opened_at"
    actions = [resolve_cases, lose_cases]
    inlines = [CaseActionInline]
    local_opened_at = local_time("opened_at", "opened at")
    local_respond_by = local_time("respond_by", "respond by")
    local_closed_at = local_time("closed_at", "closed at")
    fields = ["restaurant", "kind", "mistake", "status", "overdue", "summary", "guest", "refusal", "reservation",
              "waitlist_entry", "local_opened_at", "opened_by", "local_respond_by", "local_closed_at", "won_back"]
    readonly_fields = fields

    @admin.display(description="overdue", boolean=True)
    def overdue(self, case: RecoveryCase) -> bool:
        return is_overdue(case, timezone.now())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "guest").prefetch_related("actions")

    def has_add_permission(self, request) -> bool:
        return False  # cases are opened by what happened: a refusal, a wait, a cancellation, a host's two taps

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a guest we failed stays on the record


@admin.register(RecoveryOffer)
class RecoveryOfferAdmin(ScopedAdmin):
    """Tables offered by SMS to turned-away guests: written by the offer service, read here."""

    list_display = ["id", "restaurant", "case", "local_start", "party_size", "status", "local_offered_at",
                    "local_expires_at", "reservation"]
    list_filter = ["status", BY_RESTAURANT]
    date_hierarchy = "start"
    local_start = local_time("start", "table at")
    local_end = local_time("end", "until")
    local_offered_at = local_time("offered_at", "offered at")
    local_expires_at = local_time("expires_at", "expires at")
    local_answered_at = local_time("answered_at", "answered at")
    fields = ["restaurant", "case", "freed_by", "table_names", "local_start", "local_end", "party_size", "status",
              "local_offered_at", "local_expires_at", "local_answered_at", "reservation"]
    readonly_fields = fields

    @admin.display(description="tables")
    def table_names(self, offer: RecoveryOffer) -> str:
        return "+".join(t.name for t in offer.tables.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "case", "reservation")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

from . import admin_reports  # noqa: E402, F401  (the REPORTS engineer's admin pages: outcomes, cap changes)
