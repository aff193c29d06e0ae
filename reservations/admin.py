"""The manager's back office: configure the room and its rules; see overrides and refusals."""

from django.contrib import admin, messages
from django.utils import timezone

from .errors import BookError
from .models import (
    Area,
    Closure,
    Guest,
    HoldBackRule,
    OverbookingPolicy,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    ServiceHours,
    Table,
    TableCombination,
    TurnTime,
    WaitlistEntry,
)
from .services.booking import reservation_transition


class AreaInline(admin.TabularInline):
    model = Area
    extra = 0


class TableInline(admin.TabularInline):
    model = Table
    extra = 0
    fields = ["name", "area", "min_covers", "max_covers", "is_active"]


class ServiceHoursInline(admin.TabularInline):
    model = ServiceHours
    extra = 0


class TurnTimeInline(admin.TabularInline):
    model = TurnTime
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class OverbookingPolicyInline(admin.StackedInline):
    model = OverbookingPolicy
    extra = 0


@admin.register(Restaurant)
class RestaurantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "slot_minutes", "booking_horizon_days"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AreaInline, TableInline, ServiceHoursInline, TurnTimeInline, ClosureInline, OverbookingPolicyInline]


@admin.register(Table)
class TableAdmin(admin.ModelAdmin):
    list_display = ["name", "restaurant", "area", "min_covers", "max_covers", "is_active"]
    list_filter = ["restaurant", "area", "is_active"]


@admin.register(TableCombination)
class TableCombinationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "restaurant", "min_covers", "max_covers"]
    list_filter = ["restaurant"]
    filter_horizontal = ["tables"]


@admin.register(HoldBackRule)
class HoldBackRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "restaurant", "weekdays", "starts", "ends", "held_tables", "release_minutes_before",
                    "is_active"]
    list_filter = ["restaurant", "is_active"]
    filter_horizontal = ["tables"]

    @admin.display(description="tables")
    def held_tables(self, rule: HoldBackRule) -> str:
        return ", ".join(t.name for t in rule.tables.all())


@admin.register(OverbookingPolicy)
class OverbookingPolicyAdmin(admin.ModelAdmin):
    list_display = ["restaurant", "max_overbooked_covers", "max_party_size", "channels", "is_active"]


class ReservationTableInline(admin.TabularInline):
    model = ReservationTable
    extra = 0
    can_delete = False
    readonly_fields = ["table", "start", "end", "released"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Cancel the selected bookings (frees their tables)")
def cancel_reservations(modeladmin, request, queryset):
    _transition(modeladmin, request, queryset, "cancel")


@admin.action(description="Mark the selected bookings as no-shows")
def mark_no_show(modeladmin, request, queryset):
    _transition(modeladmin, request, queryset, "no-show")


def _transition(modeladmin, request, queryset, action: str) -> None:
    done, failed = 0, []
    for reservation in queryset.select_related("restaurant"):
        try:
            reservation_transition(reservation=reservation, action=action, by=request.user)
            done += 1
        except BookError as exc:
            failed.append(f"#{reservation.pk}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"{done} booking(s) updated.", messages.SUCCESS)
    for line in failed:
        modeladmin.message_user(request, line, messages.WARNING)


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


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Bookings are made through the book (desk, API), never typed in here: the admin reads and cancels."""

    list_display = ["id", "restaurant", "local_start", "party_size", "guest", "status", "channel", "table_names",
                    "overbooked", "override_bypassed", "override_by", "override_reason"]
    list_filter = ["restaurant", "status", "channel", "overbooked", OverrideFilter, "override_bypassed"]
    date_hierarchy = "start"
    search_fields = ["guest__name", "guest__phone", "notes", "override_reason"]
    actions = [cancel_reservations, mark_no_show]
    inlines = [ReservationTableInline]
    readonly_fields = [f.name for f in Reservation._meta.fields if f.name not in ("notes",)] + ["expectations"]
    fieldsets = [
        (None, {"fields": ["restaurant", "guest", "party_size", "start", "end", "status", "channel", "overbooked",
                           "expectations", "notes"]}),
        ("Override", {"fields": ["override_by", "override_at", "override_reason", "override_bypassed"]}),
        ("History", {"fields": ["created_by", "created_at", "updated_at", "confirmed_at", "arrived_at", "seated_at",
                                "completed_at", "cancelled_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "guest", "override_by").prefetch_related(
            "assignments__table"
        )

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="start", ordering="start")
    def local_start(self, reservation: Reservation) -> str:
        return f"{timezone.localtime(reservation.start, reservation.restaurant.tz):%Y-%m-%d %H:%M}"

    @admin.display(description="tables")
    def table_names(self, reservation: Reservation) -> str:
        return "+".join(a.table.name for a in reservation.assignments.all() if not a.released) or "—"


@admin.register(Refusal)
class RefusalAdmin(admin.ModelAdmin):
    list_display = ["restaurant", "local_start", "party_size", "channel", "reasons", "guest_name", "guest_phone",
                    "created_at"]
    list_filter = ["restaurant", "channel"]
    date_hierarchy = "start"
    search_fields = ["guest_name", "guest_phone"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="slot", ordering="start")
    def local_start(self, refusal: Refusal) -> str:
        return f"{timezone.localtime(refusal.start, refusal.restaurant.tz):%Y-%m-%d %H:%M}"


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "tags", "sms_opt_out", "created_at"]
    search_fields = ["name", "phone"]
    list_filter = ["sms_opt_out"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["restaurant", "party_size", "guest", "status", "quoted_wait_minutes", "actual_wait_minutes",
                    "created_at"]
    list_filter = ["restaurant", "status"]
    readonly_fields = ["reservation"]
