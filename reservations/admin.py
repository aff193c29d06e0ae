"""The manager's back office: configure the room and its rules; see overrides and refusals.

A manager sees and edits only the rows of the restaurants where they are
manager (a host somewhere else sees nothing of that restaurant here), and
picks only those restaurants, their tables and their groups' guests in
forms: every page is scoped through `reservations.access.*_managed_by`
(a superuser sees everything). Restaurant groups and staff memberships,
roles included, are the superuser's to manage.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from . import access
from .admin_filters import LocalDayFilter, OverrideFilter
from .errors import BookError
from .models import (
    WEEKDAYS,
    Area,
    BookDay,
    BookVersion,
    Closure,
    Gesture,
    Guest,
    HoldBackRule,
    IdempotencyKey,
    InboundMessage,
    OutboundMessage,
    OverbookingPolicy,
    PublicBookingCount,
    Refusal,
    Reservation,
    ReservationTable,
    Restaurant,
    RestaurantGroup,
    ServiceHours,
    SetupVersion,
    StaffMembership,
    StaffNote,
    Table,
    TableCombination,
    TableRelease,
    TurnTime,
    WaitlistEntry,
)
from .services.booking import reservation_transition
from .services.gestures import gesture_approve
from .services.guests import phone_read
from .services.messaging import message_retry
from .services.notes import MAX_NOTES, reservation_notes_set
from .services.privacy import erase_guest

BY_RESTAURANT = ("restaurant", admin.RelatedOnlyFieldListFilter)  # never lists another restaurant's name

admin.site.site_header = "CX Host back office"
admin.site.site_title = "CX Host"
admin.site.index_title = "Your restaurant: the room, its rules and its book"
admin.site.site_url = "/desk/"  # "View site" leads staff to the front desk


class ScopedChoices:
    """Form choices limited to the restaurants the user manages, their tables and areas, and their groups' guests."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._limit(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._limit(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @staticmethod
    def _limit(db_field, request, kwargs) -> None:
        restaurants = access.restaurants_managed_by(request.user)
        choices = {
            Restaurant: lambda: restaurants,
            RestaurantGroup: lambda: access.groups_managed_by(request.user),
            Table: lambda: Table.objects.filter(restaurant__in=restaurants),
            Area: lambda: Area.objects.filter(restaurant__in=restaurants),
            Guest: lambda: access.guests_managed_by(request.user),
            Reservation: lambda: access.reservations_managed_by(request.user),
        }
        if db_field.related_model in choices:
            kwargs["queryset"] = choices[db_field.related_model]()


class ReadOnly:
    """A record written by the book's services (or the events it tells of): read in the admin, never typed in,
    changed or deleted there."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ScopedAdmin(ScopedChoices, admin.ModelAdmin):
    """Every admin page of the book: rows of the restaurants the user manages only."""

    restaurant_lookup = "restaurant"  # the path from the model to its restaurant

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.filter(**{f"{self.restaurant_lookup}__in": access.restaurants_managed_by(request.user)})

    def changelist_view(self, request, extra_context=None):
        # The date drill-down (date_hierarchy) counts days in the current time zone: make it the restaurants'
        # own when they share one, so a booking at 00:30 in Kyiv is under its Kyiv day. Rendered inside,
        # because the list's query runs when the page is rendered.
        restaurants = access.restaurants_managed_by(request.user).order_by()
        zones = set(restaurants.values_list("time_zone", flat=True).distinct()[:2])
        if len(zones) != 1:
            return super().changelist_view(request, extra_context)
        with timezone.override(zones.pop()):
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()
        return response


class ScopedHistory(SimpleHistoryAdmin):
    """The audit history on a row's "History" page, behind the same wall as the row.

    simple-history shows a row's history even once the row is gone (from its last historical copy); here a
    row that is not the user's own (`get_queryset`, already scoped) has no history page for them, gone or not,
    unless its last copy was of one of their restaurants (or groups).
    """

    history_list_display = ["source"]

    def history_view(self, request, object_id, extra_context=None):
        if not self.get_queryset(request).filter(pk=object_id).exists() and not self._gone_but_ours(request,
                                                                                                      object_id):
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _gone_but_ours(self, request, object_id) -> bool:
        last = self.model.history.filter(id=object_id).order_by("-history_date", "-history_id").first()
        if last is None:
            return False
        if request.user.is_superuser:
            return True
        if hasattr(last, "restaurant_id"):
            return access.restaurants_managed_by(request.user).filter(pk=last.restaurant_id).exists()
        return access.groups_managed_by(request.user).filter(pk=getattr(last, "group_id", None)).exists()


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Who works where, and which restaurants form a group: the deployment's admin decides."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


class TypedPhoneSearch:
    """Search finds a phone however it is typed: "067 123 45 67" finds +380671234567 at a Kyiv restaurant."""

    phone_search_field = "phone"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phones = set()
        countries = access.restaurants_managed_by(request.user).order_by().values_list("country", flat=True).distinct()
        for country in countries:
            try:
                phones.add(phone_read(search_term, Restaurant(country=country)))
            except ValidationError:
                pass  # not a phone as typed in this country: the ordinary search stands
        if phones:
            results = results | queryset.filter(**{f"{self.phone_search_field}__in": phones})
        return results, may_have_duplicates


def local_time(field: str, description: str | None = None):
    """A read-only column or field showing `field` (or a related one, "reservation__start") in the
    restaurant's own time zone."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def show(self, obj) -> str:
        value = obj
        for name in field.split("__"):
            value = getattr(value, name)
        if value is None:
            return "—"
        return f"{timezone.localtime(value, obj.restaurant.tz):%Y-%m-%d %H:%M %Z}"

    return show


class TablesOfItsRestaurant:
    """A hold or a combination takes tables of its own restaurant only (a manager of two could pick across)."""

    def clean(self):
        cleaned = super().clean()
        restaurant, tables = cleaned.get("restaurant"), cleaned.get("tables")
        if restaurant is not None and tables is not None:
            strangers = [t.name for t in tables if t.restaurant_id != restaurant.pk]
            if strangers:
                self.add_error("tables", f"Not tables of {restaurant}: {', '.join(strangers)}.")
        return cleaned


class TableCombinationForm(TablesOfItsRestaurant, forms.ModelForm):
    class Meta:
        model = TableCombination
        fields = ["restaurant", "tables", "min_covers", "max_covers"]


class HoldBackRuleForm(TablesOfItsRestaurant, forms.ModelForm):
    # Checkboxes, not a JSON text box: the model stores the weekday numbers.
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple,
        help_text="The days of the week these tables are held.",
    )

    class Meta:
        model = HoldBackRule
        fields = ["restaurant", "name", "weekdays", "starts", "ends", "tables", "release_minutes_before", "is_active"]


class OverbookingPolicyForm(forms.ModelForm):
    channels = forms.TypedMultipleChoiceField(
        choices=Reservation.Channel.choices, widget=forms.CheckboxSelectMultiple, required=False,
        help_text="Which bookings may be overbooked: taken by phone, or by a host at the desk. Online bookings "
        "never are.",
    )

    class Meta:
        model = OverbookingPolicy
        fields = ["restaurant", "max_overbooked_covers", "max_party_size", "channels", "is_active"]


class StaffMembershipInline(ScopedChoices, admin.TabularInline):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ["user"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


class OfThisRestaurant(ScopedChoices):
    """An inline of the restaurant page: its tables and areas are the only ones to choose from."""

    def get_formset(self, request, obj=None, **kwargs):
        self.restaurant = obj  # inline instances are made afresh for every request
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._this_restaurants(db_field, field)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._this_restaurants(db_field, field)

    def _this_restaurants(self, db_field, field):
        if field is not None and db_field.related_model in (Table, Area):
            restaurant = getattr(self, "restaurant", None)
            field.queryset = field.queryset.filter(restaurant=restaurant) if restaurant else field.queryset.none()
        return field


class AreaInline(ScopedChoices, admin.TabularInline):
    model = Area
    extra = 0


class TableInline(OfThisRestaurant, admin.TabularInline):
    model = Table
    extra = 0
    fields = ["name", "area", "min_covers", "max_covers", "is_active"]


TABLE_CHECKBOXES = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}  # T1 … T12, ticked


class TableCombinationInline(OfThisRestaurant, admin.TabularInline):
    model = TableCombination
    form = TableCombinationForm
    extra = 0
    formfield_overrides = TABLE_CHECKBOXES
    fields = ["tables", "min_covers", "max_covers"]
    verbose_name_plural = "table combinations (tables pushed together for a larger party)"


class HoldBackRuleInline(OfThisRestaurant, admin.StackedInline):
    model = HoldBackRule
    form = HoldBackRuleForm
    extra = 0
    formfield_overrides = TABLE_CHECKBOXES
    verbose_name_plural = "hold-back rules (tables kept for walk-ins)"


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
    form = OverbookingPolicyForm
    extra = 0
    verbose_name_plural = "overbooking policy (booking more guests than tables, counting on no-shows)"


@admin.register(RestaurantGroup)
class RestaurantGroupAdmin(SuperuserOnlyAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "restaurant", "role"]
    list_filter = [BY_RESTAURANT, "role"]
    autocomplete_fields = ["user"]


@admin.register(Restaurant)
class RestaurantAdmin(ScopedAdmin):
    restaurant_lookup = "pk"
    list_display = ["name", "slug", "group", "time_zone", "country", "language", "slot_minutes",
                    "booking_horizon_days"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffMembershipInline, AreaInline, TableInline, TableCombinationInline, ServiceHoursInline,
               TurnTimeInline, ClosureInline, HoldBackRuleInline, OverbookingPolicyInline]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser  # a new restaurant is a new wall: the deployment's admin builds it

    def get_readonly_fields(self, request, obj=None):
        # The sender is the deployment's Twilio number or service: a manager who set another restaurant's would
        # send as it and make its guests' replies ambiguous.
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, "sms_sender"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Area)
class AreaAdmin(ScopedAdmin):
    list_display = ["name", "restaurant"]
    list_filter = [BY_RESTAURANT]
    search_fields = ["name"]


@admin.register(ServiceHours)
class ServiceHoursAdmin(ScopedAdmin):
    list_display = ["restaurant", "weekday", "name", "opens", "last_seating", "closes"]
    list_filter = [BY_RESTAURANT, "weekday", "name"]


@admin.register(TurnTime)
class TurnTimeAdmin(ScopedAdmin):
    list_display = ["restaurant", "min_party", "max_party", "minutes"]
    list_filter = [BY_RESTAURANT]


@admin.register(Closure)
class ClosureAdmin(ScopedAdmin):
    list_display = ["restaurant", "date", "reason"]
    list_filter = [BY_RESTAURANT]
    date_hierarchy = "date"
    search_fields = ["reason"]


@admin.register(Table)
class TableAdmin(ScopedAdmin):
    list_display = ["name", "restaurant", "area", "min_covers", "max_covers", "is_active"]
    list_filter = [BY_RESTAURANT, ("area", admin.RelatedOnlyFieldListFilter), "is_active"]
    search_fields = ["name"]


@admin.register(TableCombination)
class TableCombinationAdmin(ScopedAdmin):
    form = TableCombinationForm
    list_display = ["__str__", "restaurant", "min_covers", "max_covers"]
    list_filter = [BY_RESTAURANT]
    filter_horizontal = ["tables"]


@admin.register(HoldBackRule)
class HoldBackRuleAdmin(ScopedHistory, ScopedAdmin):
    form = HoldBackRuleForm
    list_display = ["name", "restaurant", "days", "starts", "ends", "held_tables", "release_minutes_before",
                    "is_active"]
    list_filter = [BY_RESTAURANT, "is_active"]
    filter_horizontal = ["tables"]

    @admin.display(description="tables")
    def held_tables(self, rule: HoldBackRule) -> str:
        return ", ".join(t.name for t in rule.tables.all())

    @admin.display(description="weekdays")
    def days(self, rule: HoldBackRule) -> str:
        names = dict(WEEKDAYS)
        return ", ".join(names.get(d, str(d)) for d in sorted(rule.weekdays))


@admin.register(OverbookingPolicy)
class OverbookingPolicyAdmin(ScopedHistory, ScopedAdmin):
    form = OverbookingPolicyForm
    list_display = ["restaurant", "max_overbooked_covers", "max_party_size", "channels", "is_active"]


class ReservationTableInline(admin.TabularInline):
    model = ReservationTable
    extra = 0
    can_delete = False
    fields = ["table", "local_start", "local_end", "released"]
    readonly_fields = ["table", "local_start", "local_end", "released"]

    @admin.display(description="start")
    def local_start(self, assignment: ReservationTable) -> str:
        return f"{timezone.localtime(assignment.start, assignment.table.restaurant.tz):%Y-%m-%d %H:%M %Z}"

    @admin.display(description="end")
    def local_end(self, assignment: ReservationTable) -> str:
        return f"{timezone.localtime(assignment.end, assignment.table.restaurant.tz):%Y-%m-%d %H:%M %Z}"

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


class ReservationAdminForm(forms.ModelForm):
    notes = forms.CharField(max_length=MAX_NOTES, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Reservation
        fields = ["notes"]


RESERVATION_TIMES = ["start", "end", "override_at", "created_at", "updated_at", "confirmed_at", "arrived_at",
                     "seated_at", "completed_at", "cancelled_at"]


@admin.register(Reservation)
class ReservationAdmin(TypedPhoneSearch, ScopedHistory, ScopedAdmin):
    """Bookings are made through the book (desk, API), never typed in here: the admin reads and cancels.

    Every time is shown in the restaurant's own zone, on the list and on the detail page alike.
    """

    list_display = ["id", "restaurant", "local_start", "party_size", "guest", "status", "channel", "table_names",
                    "overbooked", "override_bypassed", "override_by", "override_reason"]
    list_filter = [BY_RESTAURANT, LocalDayFilter, "status", "channel", "overbooked", OverrideFilter,
                   "override_bypassed"]
    date_hierarchy = "start"
    search_fields = ["guest__name", "guest__phone", "notes", "override_reason"]
    phone_search_field = "guest__phone"
    actions = [cancel_reservations, mark_no_show]
    form = ReservationAdminForm
    inlines = [ReservationTableInline]
    local_start = local_time("start")
    local_end = local_time("end")
    local_override_at = local_time("override_at", "override at")
    local_created_at = local_time("created_at", "created at")
    local_updated_at = local_time("updated_at", "updated at")
    local_confirmed_at = local_time("confirmed_at", "confirmed at")
    local_arrived_at = local_time("arrived_at", "arrived at")
    local_seated_at = local_time("seated_at", "seated at")
    local_completed_at = local_time("completed_at", "completed at")
    local_cancelled_at = local_time("cancelled_at", "cancelled or no-show at")
    readonly_fields = [
        *(f.name for f in Reservation._meta.fields if f.name not in ("notes", *RESERVATION_TIMES)),
        "expectations", "table_names", *(f"local_{name}" for name in RESERVATION_TIMES),
    ]
    fieldsets = [
        (None, {"fields": ["restaurant", "guest", "party_size", "local_start", "local_end", "status", "channel",
                           "table_names", "overbooked", "expectations", "notes"]}),
        ("Override", {"fields": ["override_by", "local_override_at", "override_reason", "override_bypassed"]}),
        ("History", {"fields": ["created_by", "local_created_at", "local_updated_at", "local_confirmed_at",
                                "local_arrived_at", "local_seated_at", "local_completed_at", "local_cancelled_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "guest", "override_by").prefetch_related(
            "assignments__table"
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a booking is cancelled (the action above), never deleted: its tables free through the book

    def has_change_history_permission(self, request, obj=None) -> bool:
        return False  # the record is read here; "Revert" would write an old booking back around the engine

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":  # simple-history saves a posted old version even with Revert hidden
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        # Only the notes are editable here, and only the notes are written: never the row the form holds.
        reservation_notes_set(reservation=obj, notes=form.cleaned_data.get("notes", ""), by=request.user)

    @admin.display(description="tables")
    def table_names(self, reservation: Reservation) -> str:
        """The tables it has, or had: the API lists them too; a finished booking's are marked released."""
        assignments = list(reservation.assignments.all())
        names = "+".join(a.table.name for a in assignments) or "—"
        if assignments and all(a.released for a in assignments):
            return f"{names} (released)"
        return names


@admin.register(Refusal)
class RefusalAdmin(TypedPhoneSearch, ScopedAdmin):
    list_display = ["restaurant", "local_start", "party_size", "channel", "reasons", "guest_name", "guest_phone",
                    "local_created_at"]
    list_filter = [BY_RESTAURANT, LocalDayFilter, "channel"]
    date_hierarchy = "start"
    search_fields = ["guest_name", "guest_phone"]
    phone_search_field = "guest_phone"
    local_start = local_time("start", "slot")
    local_created_at = local_time("created_at", "refused at")
    fields = ["restaurant", "local_start", "party_size", "channel", "reasons", "alternatives", "guest", "guest_name",
              "guest_phone", "created_by", "local_created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Erase this guest's personal data", permissions=["erase"])
def erase_guests(modeladmin, request, queryset):
    erased = 0
    for guest in queryset:
        erase_guest(guest, by=request.user)
        erased += 1
    modeladmin.message_user(request, f"{erased} guest(s) erased: name, phone, notes and messages are gone; "
                            "their bookings remain as anonymous counts.", messages.SUCCESS)


@admin.register(Guest)
class GuestAdmin(TypedPhoneSearch, ScopedChoices, ScopedHistory, admin.ModelAdmin):
    list_display = ["name", "phone", "group", "tags", "sms_opt_out", "created_at", "erased_at"]
    search_fields = ["name", "phone"]
    list_filter = ["sms_opt_out"]
    readonly_fields = ["erased_at"]
    actions = [erase_guests]

    def has_erase_permission(self, request) -> bool:
        # Erasing is a manager's decision (or an admin's), never a host's; the list holds only guests of
        # groups where the user manages a restaurant.
        return access.manages_any(request.user)

    def get_queryset(self, request):
        # A guest is the group's: a manager sees the guests of the groups of the restaurants they manage.
        return super().get_queryset(request).filter(group__in=access.groups_managed_by(request.user))


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ScopedAdmin):
    list_display = ["restaurant", "party_size", "guest", "status", "quoted_wait_minutes", "actual_wait_minutes",
                    "local_created_at"]
    list_filter = [BY_RESTAURANT, "status"]
    fields = ["restaurant", "guest", "party_size", "status", "quoted_wait_minutes", "likely_tonight",
              "local_created_at", "local_notified_at", "local_seated_at", "local_left_at", "reservation"]
    readonly_fields = ["restaurant", "party_size", "quoted_wait_minutes", "likely_tonight", "reservation",
                       "local_created_at", "local_notified_at", "local_seated_at", "local_left_at"]
    local_notified_at = local_time("notified_at", "told table ready at")
    local_created_at = local_time("created_at", "joined at")
    local_seated_at = local_time("seated_at", "seated at")
    local_left_at = local_time("left_at", "left at")

    def has_add_permission(self, request) -> bool:
        return False  # parties join the waitlist at the door, through the walk-in service


@admin.action(description="Approve the selected gestures over the service's budget")
def approve_gestures(modeladmin, request, queryset):
    done, failed = 0, []
    for gesture in queryset:
        try:
            gesture_approve(gesture=gesture, by=request.user)
            done += 1
        except BookError as exc:
            failed.append(f"#{gesture.pk}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"{done} gesture(s) approved.", messages.SUCCESS)
    for line in failed:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(Gesture)
class GestureAdmin(ScopedAdmin):
    """Gestures are queued by the booking's background task, never typed in: the admin reads and approves."""

    list_display = ["id", "restaurant", "reservation_start", "item", "occasion", "status", "cost", "guest",
                    "reason", "proposed_by", "approved_by", "presented_by", "reaction"]
    list_filter = [BY_RESTAURANT, "status", "item", "occasion", "reaction"]
    search_fields = ["guest__name", "guest__phone", "reason"]
    actions = [approve_gestures]
    local_created_at = local_time("created_at", "queued at")
    local_approved_at = local_time("approved_at", "approved at")
    local_presented_at = local_time("presented_at", "presented at")
    local_reaction_at = local_time("reaction_at", "reaction noted at")
    fields = ["restaurant", "reservation", "reservation_start", "guest", "item", "occasion", "reason", "prompt",
              "status", "cost", "proposed_by", "announced", "beyond_rules", "local_created_at", "approved_by",
              "local_approved_at", "presented_by", "local_presented_at", "reaction", "reaction_note", "reaction_by",
              "local_reaction_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "reservation", "guest", "approved_by",
                                                            "presented_by", "proposed_by", "reaction_by")

    reservation_start = local_time("reservation__start", "booking at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(StaffNote)
class StaffNoteAdmin(ScopedAdmin):
    """Notes are prepared by the booking's background task: read here, never typed in."""

    list_display = ["id", "restaurant", "reservation_start", "kind", "text"]
    list_filter = [BY_RESTAURANT, "kind"]
    search_fields = ["text"]
    local_created_at = local_time("created_at", "written at")
    fields = ["restaurant", "reservation", "reservation_start", "kind", "text", "local_created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "reservation")

    reservation_start = local_time("reservation__start", "booking at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TableRelease)
class TableReleaseAdmin(ReadOnly, ScopedAdmin):
    """Tables given back to the book (a cancellation, a no-show, a party leaving early, a move): what a turned-away
    guest may be offered. Written by the services with the change that freed the table; read here, never typed in."""

    list_display = ["id", "restaurant", "table", "reservation", "local_start", "local_end", "local_released_at"]
    list_filter = [BY_RESTAURANT]
    local_start = local_time("start", "free from")
    local_end = local_time("end", "free until")
    local_released_at = local_time("released_at", "given back at")
    fields = ["restaurant", "table", "reservation", "local_start", "local_end", "local_released_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("restaurant", "table", "reservation")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ScopedAdmin):
    """Every text we sent or tried to: a failed one is listed here for staff, never silently dropped."""

    list_display = ["restaurant", "kind", "to", "status", "fate", "delivery", "attempts", "local_created_at",
                    "local_sent_at", "last_error"]
    list_filter = [BY_RESTAURANT, "status", "fate", "delivery", "kind"]
    search_fields = ["to"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    local_created_at = local_time("created_at", "queued at")
    local_sent_at = local_time("sent_at", "sent at")
    local_failed_at = local_time("failed_at", "failed at")
    local_delivery_at = local_time("delivery_at", "delivery reported at")
    local_handed_at = local_time("handed_at", "handed to the provider at")
    local_fate_checked_at = local_time("fate_checked_at", "provider last asked at")
    fields = ["restaurant", "kind", "to", "body", "status", "fate", "delivery", "attempts", "last_error",
              "provider_id", "reservation", "waitlist_entry", "guest", "local_created_at", "local_handed_at",
              "local_sent_at", "local_failed_at", "local_delivery_at", "local_fate_checked_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # messages are written by the events they tell of

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of what a guest was told stays

    @admin.action(description=gettext_lazy("Send the selected failed messages again"))
    def send_again(self, request, queryset):
        retried = sum(message_retry(message=m) for m in queryset.filter(status=OutboundMessage.Status.FAILED))
        self.message_user(request, gettext("%(count)d failed message(s) queued again; others were left as they are.")
                          % {"count": retried}, messages.SUCCESS if retried else messages.WARNING)
        # Never sent again from here: it may have arrived, and the outbox asks the provider by itself.
        unknown = queryset.filter(status=OutboundMessage.Status.UNKNOWN).count()
        if unknown:
            self.message_user(request, gettext(
                "%(count)d message(s) of unknown fate not sent again: the worker stopped after handing them to "
                "the provider, so they may have arrived. The provider is asked and they are settled by "
                "themselves (see Fate).") % {"count": unknown}, messages.ERROR)


@admin.register(InboundMessage)
class InboundMessageAdmin(ScopedAdmin):
    """Every text a guest sent us, with what it answered and what it did. Read-only: the guest's own words."""

    list_display = ["from_number", "body", "action", "restaurant", "reservation", "local_received_at"]
    list_filter = [BY_RESTAURANT, "action"]
    search_fields = ["from_number", "body"]
    date_hierarchy = "received_at"
    fields = ["from_number", "body", "action", "restaurant", "reservation", "answered", "reply", "guests_here",
              "provider_id", "local_received_at"]
    readonly_fields = fields

    @admin.display(description="guests")
    def guests_here(self, inbound: InboundMessage) -> str:
        # The number's profiles in this restaurant's group only: another group's guests stay behind its wall.
        guests = inbound.guests.all()
        if inbound.restaurant is not None:
            guests = guests.filter(group=inbound.restaurant.group_id)
        return ", ".join(str(g) for g in guests) or "—"

    @admin.display(description="received at", ordering="received_at")
    def local_received_at(self, inbound: InboundMessage) -> str:
        zone = inbound.restaurant.tz if inbound.restaurant is not None else timezone.get_current_timezone()
        return f"{timezone.localtime(inbound.received_at, zone):%Y-%m-%d %H:%M %Z}"

    def get_queryset(self, request):
        queryset = super(ScopedAdmin, self).get_queryset(request).select_related("restaurant")
        if request.user.is_superuser:
            return queryset  # also texts from numbers no restaurant ever texted
        return queryset.filter(restaurant__in=access.restaurants_managed_by(request.user))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of what a guest told us stays


@admin.register(ReservationTable)
class ReservationTableAdmin(ReadOnly, ScopedAdmin):
    """Which table each booking holds, and when: the book's own record, changed only through the book."""

    restaurant_lookup = "table__restaurant"
    list_display = ["reservation", "table", "local_start", "local_end", "released"]
    list_filter = [("table__restaurant", admin.RelatedOnlyFieldListFilter), "released"]
    search_fields = ["table__name", "reservation__guest__name"]
    fields = ["reservation", "table", "local_start", "local_end", "released"]
    readonly_fields = fields

    @admin.display(description="start", ordering="start")
    def local_start(self, assignment: ReservationTable) -> str:
        return f"{timezone.localtime(assignment.start, assignment.table.restaurant.tz):%Y-%m-%d %H:%M %Z}"

    @admin.display(description="end", ordering="end")
    def local_end(self, assignment: ReservationTable) -> str:
        return f"{timezone.localtime(assignment.end, assignment.table.restaurant.tz):%Y-%m-%d %H:%M %Z}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reservation__restaurant", "table__restaurant")



class ReadOnlySuperuserAdmin(SuperuserOnlyAdmin):
    """The machinery's rows (lock rows, remembered requests): a superuser may look, nobody types them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BookDay)
class BookDayAdmin(ReadOnlySuperuserAdmin):
    list_display = ["restaurant", "date"]
    list_filter = [BY_RESTAURANT]
    date_hierarchy = "date"


@admin.register(BookVersion)
class BookVersionAdmin(ReadOnlySuperuserAdmin):
    """Kept by database triggers, read by the day-plan cache: shown for diagnosis, never edited."""

    list_display = ["restaurant", "day", "version"]
    list_filter = [BY_RESTAURANT]
    date_hierarchy = "day"


@admin.register(SetupVersion)
class SetupVersionAdmin(ReadOnlySuperuserAdmin):
    """Kept by database triggers, read by the set-up cache: shown for diagnosis, never edited."""

    list_display = ["restaurant", "version"]
    list_filter = [BY_RESTAURANT]


@admin.register(PublicBookingCount)
class PublicBookingCountAdmin(ReadOnlySuperuserAdmin):
    """The anonymous daily caps' counters (`services/public_caps.py`): a phone, a number prefix or an address,
    across every restaurant, so the deployment's admin reads them, for diagnosis; never edited."""

    list_display = ["day", "key", "count"]
    search_fields = ["key"]
    date_hierarchy = "day"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlySuperuserAdmin):
    list_display = ["key", "scope", "response_status", "reservation", "created_at"]
    search_fields = ["key", "scope"]
    date_hierarchy = "created_at"


from . import admin_logins  # noqa: E402,F401  (its own module: the logins, not the book)
