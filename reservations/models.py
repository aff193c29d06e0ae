"""The reservation book: the restaurant's configuration, its guests and its bookings.

Models hold data and invariants only; the rules that decide whether a booking
may exist live in `reservations.engine` (pure) and `reservations.services`.
"""

import re
import secrets
import uuid
import zoneinfo
from datetime import timedelta
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from .audit import SOURCES, current_source
from .bounds import MAX_EXPECTATION_LENGTH, MAX_EXPECTATIONS, MAX_TAG_LENGTH, MAX_TAGS, Words

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


LANGUAGES = [("uk", "Ukrainian"), ("en", "English"), ("ru", "Russian")]


class AuditRecord(models.Model):
    """What every audit-history row adds to simple-history's who/when/what: where the change came from."""

    source = models.CharField(max_length=16, choices=[(s, s) for s in SOURCES], default=current_source,
                              help_text="Where the change came from: api, desk, admin, sms, task, command, "
                              "guest page or system.")

    class Meta:
        abstract = True


class ReservationAuditRecord(AuditRecord):
    """A booking's tables are rows of their own (`ReservationTable`): each history row notes them by name, so
    a change of tables shows in the booking's own history."""

    tables = models.CharField(max_length=300, blank=True, help_text="The booking's tables at the time, by name.")

    class Meta:
        abstract = True


def validate_country(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"{value!r} is not a country code we can read phone numbers for (ISO 3166, e.g. UA).")


SMS_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


def validate_sms_sender(value: str) -> None:
    """A phone number in E.164 (+15005550006) or a Twilio messaging service's SID (MG and 32 hex digits)."""
    if SMS_SERVICE_SID.match(value):
        return
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        raise ValidationError(f"{value!r} is neither a phone number in international form (+15005550006) nor a "
                              "messaging service SID (MG…).")


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone.") from exc


class RestaurantGroup(models.Model):
    """A chain, or a group of one: it owns the guests its restaurants share."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Restaurant(models.Model):
    group = models.ForeignKey(RestaurantGroup, on_delete=models.PROTECT, related_name="restaurants")
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="Europe/Kyiv", validators=[validate_time_zone],
        help_text="The restaurant's clock, e.g. Europe/Kyiv: every time staff and guests see is in it.",
    )
    slot_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text="Bookings start on this grid: 15 means 19:00, 19:15, 19:30…",
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=180, help_text="How many days ahead a booking may be made."
    )
    # Gestures are exceptions, costed against a budget (PRODUCT.md point 5): beyond it a manager decides.
    gesture_budget_per_service = models.DecimalField(
        max_digits=9, decimal_places=2, default=Decimal("600.00"), validators=[MinValueValidator(0)],
        help_text="What complimentary gestures may cost in one service before each further one needs a manager.",
    )
    dessert_cost = models.DecimalField(
        max_digits=9, decimal_places=2, default=Decimal("150.00"), validators=[MinValueValidator(0)],
        help_text="What a complimentary dessert costs the restaurant.",
    )
    gesture_pause_days = models.PositiveSmallIntegerField(
        default=90, help_text="A guest given a dessert within this many days gets no automatic dessert: staff "
        "see a note saying when they had one instead.",
    )
    drink_cost = models.DecimalField(
        max_digits=9, decimal_places=2, default=Decimal("90.00"), validators=[MinValueValidator(0)],
        help_text="What a complimentary drink costs the restaurant.",
    )
    starter_cost = models.DecimalField(
        max_digits=9, decimal_places=2, default=Decimal("220.00"), validators=[MinValueValidator(0)],
        help_text="What a complimentary starter costs the restaurant.",
    )
    gesture_every_visits = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)],
        help_text="At most one unannounced gesture per guest in this many visits, so it stays a surprise "
        "(1: any visit may have one; the pause in days still applies). Beyond it a manager decides.",
    )
    first_visit_gesture = models.BooleanField(
        default=False, help_text="Give a guest's first visit a complimentary drink (within the rules and budget).",
    )
    # The language of the texts we send its guests (a guest's own language is not known yet).
    language = models.CharField(
        max_length=2, choices=LANGUAGES, default="uk",
        help_text="The language of the texts to guests, and of the front desk for staff who have not chosen one.",
    )
    country = models.CharField(
        max_length=2, default="UA", validators=[validate_country],
        help_text="Two letters (ISO 3166), e.g. UA. A phone typed without a + (067 123 45 67) is read as a "
        "number of this country.",
    )
    # Its own sender lets a guest's reply name the restaurant: on a shared one, a reply that could mean two
    # restaurants' bookings is answered with a question (`services.inbound_sms`).
    sms_sender = models.CharField(
        max_length=34, blank=True, validators=[validate_sms_sender],
        help_text="The restaurant's own SMS sender: a Twilio phone number (+15005550006) or messaging service SID "
        "(MG…). Blank: the deployment's shared sender (TWILIO_FROM).",
    )
    # Changes whenever anything the availability engine reads from the
    # configuration changes, so a cached day plan can never go stale.
    config_token = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The slot grid, zone and horizon are configuration too: any save renews the token.
        self.config_token = uuid.uuid4()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "config_token"}
        super().save(*args, **kwargs)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class StaffMembership(models.Model):
    """A member of staff works at this restaurant, as its host or its manager: the wall every read and write is
    scoped by, and the role that holds inside it only (a manager here may be a host next door)."""

    class Role(models.TextChoices):
        HOST = "host", pgettext_lazy("staff role", "host")
        MANAGER = "manager", pgettext_lazy("staff role", "manager")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="restaurant_memberships")
    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.HOST)

    class Meta:
        ordering = ["restaurant", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "restaurant"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user}, {self.role} at {self.restaurant}"


class Area(models.Model):
    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="areas")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["restaurant", "name"]
        constraints = [models.UniqueConstraint(fields=["restaurant", "name"], name="area_unique_name")]

    def __str__(self) -> str:
        return self.name


class Table(models.Model):
    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="tables")
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, blank=True, related_name="tables")
    name = models.CharField(max_length=50)
    min_covers = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="The fewest guests given this table."
    )
    max_covers = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                                  help_text="The most guests it seats.")
    is_active = models.BooleanField(default=True, help_text="Inactive tables are never offered or assigned.")

    class Meta:
        ordering = ["restaurant", "id"]
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "name"], name="table_unique_name"),
            models.CheckConstraint(
                condition=models.Q(min_covers__lte=models.F("max_covers")), name="table_min_le_max",
                violation_error_message="A table's minimum covers cannot be more than its maximum.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TableCombination(models.Model):
    """Tables pushed together to seat a party none of them seats alone."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="combinations")
    tables = models.ManyToManyField(
        Table, related_name="combinations",
        help_text="Tables pushed together for a larger party; apart, each is still booked on its own.",
    )
    min_covers = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                                  help_text="The fewest guests given the combined tables.")
    max_covers = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                                  help_text="The most guests they seat together.")

    class Meta:
        ordering = ["restaurant", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_covers__lte=models.F("max_covers")), name="combination_min_le_max",
                violation_error_message="A combination's minimum covers cannot be more than its maximum.",
            ),
        ]

    def __str__(self) -> str:
        if not self.pk:
            return "new combination"
        return "+".join(t.name for t in self.tables.order_by("id"))


class ServiceHours(models.Model):
    """One service (lunch, dinner) on one weekday: first seating to last seating, then closing.

    A last seating or closing earlier than the opening runs past midnight.
    """

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="service_hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    name = models.CharField(max_length=50, default="service")
    opens = models.TimeField(help_text="The first time a party is booked or seated.")
    last_seating = models.TimeField(help_text="The last time a party is booked or seated (earlier than the "
                                    "opening: after midnight).")
    closes = models.TimeField(help_text="When the doors close (earlier than the opening: after midnight).")

    class Meta:
        ordering = ["restaurant", "weekday", "opens"]
        verbose_name_plural = "service hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.name} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """A date the restaurant does not take bookings (a holiday, a private event)."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["restaurant", "date"]
        constraints = [models.UniqueConstraint(fields=["restaurant", "date"], name="closure_unique_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


class TurnTime(models.Model):
    """How long a party of a given size holds its table."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="turn_times")
    min_party = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                                 help_text="The smallest party this applies to.")
    max_party = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                                 help_text="The largest party this applies to.")
    minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(15), MaxValueValidator(600)],
        help_text="How long such a party keeps its table: the next booking there starts no earlier.",
    )

    class Meta:
        ordering = ["restaurant", "min_party"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_party__lte=models.F("max_party")), name="turn_min_le_max",
                violation_error_message="A turn time's smallest party cannot be larger than its largest.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.min_party}–{self.max_party}: {self.minutes} min"


class HoldBackRule(models.Model):
    """Tables kept out of the book in a peak window, for walk-ins and the manager's discretion."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="hold_back_rules")
    name = models.CharField(max_length=100, default="Held for walk-ins",
                            help_text="What the staff call it, e.g. “Window tables for walk-ins”.")
    weekdays = models.JSONField(default=list, help_text="The days of the week these tables are held.")
    starts = models.TimeField(help_text="From this time the tables below are not offered to bookings.")
    ends = models.TimeField(help_text="Until this time. An end earlier than the start runs past midnight.")
    tables = models.ManyToManyField(
        Table, related_name="hold_back_rules",
        help_text="The tables kept free for guests at the door. A host seats walk-ins at them; only a manager's "
        "override books one ahead.",
    )
    release_minutes_before = models.PositiveSmallIntegerField(
        default=60, help_text="A held table still free this many minutes before a time is opened to every "
        "booking for that time, so it does not stay empty. 0 keeps it held to the last moment.",
    )
    is_active = models.BooleanField(default=True, help_text="Untick to stop holding these tables without "
                                    "deleting the rule.")
    history = HistoricalRecords(bases=[AuditRecord], m2m_fields=["tables"])

    class Meta:
        ordering = ["restaurant", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        days = self.weekdays
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise ValidationError({"weekdays": "A list of weekday numbers from 0 (Monday) to 6 (Sunday)."})
        # An end earlier than the start runs past midnight (a late service's 23:00–01:00); equal is no window.
        if self.starts and self.ends and self.starts == self.ends:
            raise ValidationError({"ends": "The window must end after it starts (an earlier end runs past "
                                           "midnight)."})


class OverbookingPolicy(models.Model):
    """How many covers may be booked beyond the physical tables, and for whom."""

    restaurant = models.OneToOneField(Restaurant, on_delete=models.CASCADE, related_name="overbooking_policy")
    max_overbooked_covers = models.PositiveSmallIntegerField(
        default=0, help_text="How many guests may be booked beyond the tables at any one moment, counting on "
        "cancellations and no-shows (they get a table as one frees). 0: never overbook.",
    )
    max_party_size = models.PositiveSmallIntegerField(
        default=4, help_text="Only parties of this many guests or fewer are overbooked; larger ones are refused."
    )
    channels = models.JSONField(default=list, help_text="Which bookings may be overbooked: taken by phone, or "
                                "by a host at the desk. Online bookings never are.")
    is_active = models.BooleanField(default=True, help_text="Untick to stop overbooking altogether.")
    history = HistoricalRecords(bases=[AuditRecord])

    class Meta:
        verbose_name_plural = "overbooking policies"

    def __str__(self) -> str:
        return f"{self.max_overbooked_covers} covers, parties ≤ {self.max_party_size}, {', '.join(self.channels)}"

    def clean(self) -> None:
        allowed = {c for c, _ in Reservation.Channel.choices}
        if not isinstance(self.channels, list) or not set(self.channels) <= allowed:
            raise ValidationError({"channels": f"A list drawn from {sorted(allowed)}."})
        if "online" in self.channels:
            raise ValidationError({"channels": "Online bookings never overbook."})


class BookDay(models.Model):
    """One row per restaurant and local date: the row every booking path locks.

    A lock on reservation rows protects nothing when the rows do not exist yet,
    so the capacity decision for a day is serialised on this row instead.
    """

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["restaurant", "date"], name="bookday_unique")]

    def __str__(self) -> str:
        return f"{self.restaurant_id} {self.date}"


class BookVersion(models.Model):
    """How many times a restaurant's book has changed for bookings starting on one UTC date.

    Database triggers (migration 0019, and recovery's 0006 for offer holds) bump it in the same transaction as
    every write to reservations, their tables and held tables, whatever wrote them: a service, the admin, a
    queryset update, raw SQL. The day-plan cache (`selectors.day_plan`) is keyed on these versions, so a plan
    is reused exactly until something it was built from changes. UTC dates, not local ones: a trigger cannot
    work out a restaurant's local date on SQLite. Rows are never deleted: a count started again could meet a
    plan kept under the old one (the admin shows them read-only).
    """

    # No foreign-key constraint: deleting a restaurant deletes its bookings, whose triggers write rows here
    # after the delete has collected this table's; a stale row for a deleted restaurant is harmless.
    restaurant = models.ForeignKey(Restaurant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    day = models.DateField()
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["restaurant", "day"], name="bookversion_unique")]

    def __str__(self) -> str:
        return f"{self.restaurant_id} {self.day} v{self.version}"


class SetupVersion(models.Model):
    """How many times a restaurant's set-up (its own row, tables, combinations, hours, closures, turn times,
    hold-back rules, overbooking policy) has changed.

    Bumped by database triggers (migration 0023) in the writing transaction, whatever wrote it: the admin, a
    queryset update, raw SQL, a migration. Read with the day's book versions, it keys the set-up and day-plan
    caches (`selectors`), so no process answers from a set-up older than the database's. Never deleted, like
    `BookVersion`: a count started again could meet a set-up kept under the old one.
    """

    restaurant = models.OneToOneField(Restaurant, on_delete=models.DO_NOTHING, db_constraint=False,
                                      related_name="+")
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.restaurant_id} v{self.version}"


class Guest(models.Model):
    """A guest of a restaurant group: known at every one of its restaurants, at no other."""

    group = models.ForeignKey(RestaurantGroup, on_delete=models.PROTECT, related_name="guests")
    name = models.CharField(max_length=200, blank=True)
    phone = PhoneNumberField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True, validators=[Words(MAX_TAGS, MAX_TAG_LENGTH)])
    expectations = models.JSONField(default=list, blank=True,
                                    validators=[Words(MAX_EXPECTATIONS, MAX_EXPECTATION_LENGTH)])
    notes = models.TextField(blank=True)
    sms_opt_out = models.BooleanField(default=False)
    # False: a record made by an anonymous online booking, whose phone nobody has proven. It stands apart from
    # the proven profile with the same phone (one per booking), so a stranger typing a regular's number adds
    # nothing to the regular's profile, history or notes.
    phone_verified = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the guest's personal data was erased (`services.privacy.erase_guest`): the row stays, nameless,
    # so their bookings still count.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(bases=[AuditRecord])

    class Meta:
        ordering = ["name", "id"]
        # One proven profile per phone in a group; unproven records are many (see `phone_verified`).
        constraints = [models.UniqueConstraint(fields=["group", "phone"], condition=models.Q(phone_verified=True),
                                               name="guest_unique_phone_in_group")]

    def __str__(self) -> str:
        return self.name or str(self.phone or f"guest {self.pk}")


def guest_token_new() -> str:
    """The secret in the guest's own link (`/b/<token>/`): 72 random bits, short enough for an SMS.

    Random rather than derived from the id: it says nothing about other bookings and cannot be guessed from them.
    """
    return secrets.token_urlsafe(9)


class Reservation(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked"
        CONFIRMED = "confirmed"
        ARRIVED = "arrived"
        SEATED = "seated"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        NO_SHOW = "no_show"

    class Channel(models.TextChoices):
        ONLINE = "online"
        PHONE = "phone"
        HOST = "host"
        WALK_IN = "walk_in"

    class Bypassed(models.TextChoices):
        HOLD_BACK = "hold_back"
        OVERBOOKING_LIMIT = "overbooking_limit"

    # Statuses in which a booking holds its table and counts towards covers.
    ACTIVE_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.ARRIVED, Status.SEATED)

    # No index of its own: `reservation_day_idx` (restaurant, start) serves every lookup by restaurant, and with
    # a second one SQLite's planner took the restaurant-only index and walked every booking the restaurant ever
    # had for one day's book (0.3 s at `big`, inside the booking's write lock; 4 ms on the day index).
    restaurant = models.ForeignKey(Restaurant, on_delete=models.PROTECT, related_name="reservations", db_index=False)
    guest = models.ForeignKey(Guest, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations")
    party_size = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    tables = models.ManyToManyField(Table, through="ReservationTable", related_name="reservations")
    overbooked = models.BooleanField(default=False)
    expectations = models.JSONField(default=list, blank=True,
                                    validators=[Words(MAX_EXPECTATIONS, MAX_EXPECTATION_LENGTH)])
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    seated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # The override record: who turned the computer's "no tables" into a booking, and why.
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    override_bypassed = models.CharField(max_length=32, choices=Bypassed.choices, blank=True)
    # When its gestures and staff notes were prepared (`services.gestures.guest_prepare`); the beat task
    # prepares what is still unmarked, so a booking made while the broker was down is not forgotten.
    prepared_at = models.DateTimeField(null=True, blank=True)
    # The guest's own page is reached by this alone (no login): see `reservations.guest`.
    guest_token = models.CharField(max_length=16, unique=True, default=guest_token_new, editable=False)
    # The guest's secret link stays out of the record, and the preparation task's own bookkeeping (`prepared_at`).
    history = HistoricalRecords(bases=[ReservationAuditRecord], excluded_fields=["guest_token", "prepared_at"])

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["restaurant", "start"], name="reservation_day_idx"),
            # The beat task's sweep: only bookings still waiting to be prepared are in it.
            models.Index(fields=["end"], condition=models.Q(prepared_at__isnull=True),
                         name="reservation_unprepared_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="reservation_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.party_size} at {self.start.astimezone(self.restaurant.tz):%Y-%m-%d %H:%M}"

    @property
    def is_override(self) -> bool:
        return bool(self.override_bypassed)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class ReservationTable(models.Model):
    """A table held by a reservation over its time range.

    `start`/`end` repeat the reservation's so that PostgreSQL can forbid two
    bookings on one table at overlapping times with an exclusion constraint
    (added in migration 0002, PostgreSQL only). `released` frees the table
    when the booking is cancelled, a no-show, or the party leaves.
    """

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="assignments")
    table = models.ForeignKey(Table, on_delete=models.PROTECT, related_name="assignments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    released = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["table", "start"], name="assignment_table_idx")]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "table"], name="assignment_unique_table"),
        ]

    def __str__(self) -> str:
        # No time here: it would be UTC's; the admin shows the restaurant's own beside it.
        return f"{self.table} for #{self.reservation_id}"


class TableRelease(models.Model):
    """A table given back to the book after it was booked: a cancellation, a no-show, a party leaving early, a
    booking moved to another time. The stretch it is free again for, and when. What "a table opened" means
    to a guest we refused before `released_at` (the recovery offers read it: `recovery.services.openings`)."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="+")
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="+")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="table_releases",
                                    help_text="The booking that gave it back.")
    start = models.DateTimeField()
    end = models.DateTimeField()
    released_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["restaurant", "end"], name="table_release_day_idx"),
            models.Index(fields=["released_at"], name="table_release_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.table} given back by #{self.reservation_id}"


class Refusal(models.Model):
    """A moment the restaurant said no: lost demand, and where recovery starts."""

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="refusals")
    start = models.DateTimeField(help_text="The slot the guest asked for.")
    party_size = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16, choices=Reservation.Channel.choices)
    reasons = models.JSONField(default=list)
    alternatives = models.JSONField(default=list, blank=True)
    guest = models.ForeignKey(Guest, on_delete=models.SET_NULL, null=True, blank=True, related_name="refusals")
    guest_name = models.CharField(max_length=200, blank=True)
    guest_phone = PhoneNumberField(blank=True)
    # False for an anonymous online caller's "no": lost demand all the same, but nobody proved the phone, so no
    # recovery case opens and no freed table is held and texted for it.
    phone_verified = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["restaurant", "start"], name="refusal_slot_idx"),
            # The recovery sweep's "refused for a time near now", across restaurants, first refused first.
            models.Index(fields=["start", "created_at"], name="refusal_near_idx"),
        ]

    def __str__(self) -> str:
        start = self.start.astimezone(self.restaurant.tz)
        return f"{self.party_size} at {start:%Y-%m-%d %H:%M}: {', '.join(self.reasons)}"


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting"
        SEATED = "seated"
        LEFT = "left"

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="waitlist")
    guest = models.ForeignKey(Guest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    party_size = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    quoted_wait_minutes = models.PositiveSmallIntegerField()
    # False when no table fitting the party frees before the last seating: say so, don't promise.
    likely_tonight = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    seated_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # When the party was texted that their table is ready (`waitlist_notify`).
    notified_at = models.DateTimeField(null=True, blank=True)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entry"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["restaurant", "status"], name="waitlist_status_idx")]

    def __str__(self) -> str:
        return f"{self.party_size} waiting since {self.created_at.astimezone(self.restaurant.tz):%H:%M}"

    @property
    def actual_wait_minutes(self) -> int | None:
        if self.seated_at is None:
            return None
        return int((self.seated_at - self.created_at).total_seconds() // 60)


class IdempotencyKey(models.Model):
    """A create request remembered by its `Idempotency-Key`, with the answer it got."""

    scope = models.CharField(max_length=200, help_text="Who sent the key, and to which endpoint.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    # What the answer was about, settled in the booking's own transaction (the body is filled in after).
    reservation = models.ForeignKey(Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    waitlist_entry = models.ForeignKey(
        "WaitlistEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key

    @property
    def in_flight(self) -> bool:
        return self.response_status is None


class PublicBookingCount(models.Model):
    """Anonymous online bookings (and refusals) counted per day and per phone, number prefix or address: the
    daily caps (`services/public_caps.py`). A row per key and day, raised by one atomic upsert."""

    day = models.DateField()
    key = models.CharField(max_length=100, help_text="phone:+380…, prefix:+38067123, address:198.51.100.7")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "key"], name="public_count_unique_day_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.key}: {self.count}"


class Gesture(models.Model):
    """Something given free to a party (a dessert, first of all): queued for the floor, with why, and costed.

    Exactly once per occasion: a reservation has at most one gesture of an item for an occasion, however
    often the task that queues it runs (the unique constraint, not the task, guarantees it).
    """

    class Item(models.TextChoices):
        DESSERT = "dessert"
        DRINK = "drink"
        STARTER = "starter"

    class Occasion(models.TextChoices):
        OVERRIDE = "override", "won through a manager's override"
        WON_BACK = "won_back", "a turned-away guest won back"
        LONG_WAIT = "long_wait", "waited longer than we said"
        MISTAKE = "mistake", "a mistake we made"
        CELEBRATION = "celebration", "celebrating with us"
        FIRST_VISIT = "first_visit", "a first visit"
        JUDGMENT = "judgment", "staff's own judgment"

    class Reaction(models.TextChoices):
        DELIGHTED = "delighted", "delighted (WOW)"
        PLEASED = "pleased"
        INDIFFERENT = "indifferent", "took it in passing"
        REFUSED = "refused", "did not want it"

    class Status(models.TextChoices):
        QUEUED = "queued"
        NEEDS_APPROVAL = "needs_approval"
        PRESENTED = "presented"
        DECLINED = "declined"

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="gestures")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="gestures")
    guest = models.ForeignKey(Guest, on_delete=models.SET_NULL, null=True, blank=True, related_name="gestures")
    item = models.CharField(max_length=32, choices=Item.choices, default=Item.DESSERT)
    occasion = models.CharField(max_length=32, choices=Occasion.choices)
    reason = models.TextField(help_text="Why this party is given it, in the floor's words.")
    prompt = models.CharField(max_length=300, help_text="The line to say when presenting it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    cost = models.DecimalField(max_digits=9, decimal_places=2)
    created_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    presented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    presented_at = models.DateTimeField(null=True, blank=True)
    # Who asked for it: empty for the automatic rules (a trigger), a member of staff for a proposal.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    announced = models.BooleanField(
        default=False, help_text="Promised to the guest beforehand: not a surprise, so not counted against the "
        "one-surprise-in-N-visits rule.",
    )
    beyond_rules = models.CharField(
        max_length=300, blank=True,
        help_text="Which rule it goes beyond (budget, given lately): why a manager decided.",
    )
    reaction = models.CharField(max_length=16, choices=Reaction.choices, blank=True)
    reaction_note = models.TextField(blank=True)
    reaction_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reaction_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "item", "occasion"], name="gesture_once_per_occasion"),
        ]
        indexes = [models.Index(fields=["guest", "item"], name="gesture_guest_idx")]

    def __str__(self) -> str:
        return f"{self.item} for #{self.reservation_id} ({self.status})"


class StaffNote(models.Model):
    """What the floor should know before a guest arrives: a first visit and its expectations, or a return."""

    class Kind(models.TextChoices):
        FIRST_VISIT = "first_visit"
        WELCOME_BACK = "welcome_back"
        RECENT_GESTURE = "recent_gesture"

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="staff_notes")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="staff_notes")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["reservation", "kind"], name="staff_note_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} for #{self.reservation_id}"


class OutboundMessage(models.Model):
    """An SMS to a guest: the outbox row written in the event's own transaction, sent after it commits.

    The row is the truth about a message: `pending` until a worker claims it
    (`sending`, a conditional UPDATE only one worker can win), then `sent`, or
    `failed` after the last retry — never lost, never sent twice. A worker that
    died after handing it to the provider, before hearing its id, leaves it
    `unknown` until the provider is asked (`fate` says how that went). At most one
    message of a kind per reservation or waitlist entry (database-enforced).
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation"
        REMINDER = "reminder"
        TABLE_READY = "table_ready"
        THANK_YOU = "thank_you"
        # A freed table offered to a turned-away guest (the recovery app): "reply YES within 10 minutes".
        RECOVERY_OFFER = "recovery_offer"
        # To the guests next in line when that table is taken: it has gone, they are still on the list.
        RECOVERY_GONE = "recovery_gone"
        # Answers to what a guest texted us (`services.inbound_sms`); `stop_reply` acknowledges a STOP and is
        # the one text an opted-out number still receives.
        REPLY = "reply"
        STOP_REPLY = "stop_reply"

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("sms", "pending")
        SENDING = "sending", pgettext_lazy("sms", "sending")
        SENT = "sent", pgettext_lazy("sms", "sent")
        FAILED = "failed", pgettext_lazy("sms", "failed")
        # The guest said STOP before it went out: never sent, and not a failure for staff to retry.
        WITHHELD = "withheld", pgettext_lazy("sms", "withheld (the guest opted out)")
        # Handed to the provider by a worker that died before hearing back: it may or may not have gone.
        # Never sent again as it is; beat asks the provider (see `services.messaging.messages_reconcile`).
        UNKNOWN = "unknown", pgettext_lazy("sms", "unknown fate")

    class Fate(models.TextChoices):
        """What asking the provider about a message of unknown fate found (blank: nobody had to ask)."""

        ASKING = "asking", pgettext_lazy("sms", "the worker stopped mid-send: asking the provider")
        UNREACHABLE = "unreachable", pgettext_lazy("sms", "the provider could not be asked: asking again")
        FOUND = "found", pgettext_lazy("sms", "the provider had it: marked sent")
        RESENT = "resent", pgettext_lazy("sms", "the provider never got it: sent again")
        CANNOT_ASK = "cannot_ask", pgettext_lazy("sms", "this SMS backend cannot be asked: check with the guest")

    restaurant = models.ForeignKey(Restaurant, on_delete=models.CASCADE, related_name="messages")
    guest = models.ForeignKey(Guest, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    waitlist_entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    to = PhoneNumberField()
    # The sender it went from (the restaurant's own, else TWILIO_FROM, as it was when queued): a reply to that
    # number answers this restaurant's questions only. Blank on rows from before senders were recorded.
    sender = models.CharField(max_length=34, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A pending message is (re-)dispatched from this moment: now at first, later after a provider error.
    next_attempt_at = models.DateTimeField()
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    # What the provider said later (Twilio's status callback, `/sms/status/`): did it reach the phone?
    delivery = models.CharField(max_length=16, choices=[("delivered", "delivered"), ("undelivered", "undelivered")],
                                blank=True)
    delivery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set just before the text goes to the provider: a message claimed but never handed over was not sent and
    # may be sent again; one handed over may have gone out, so it never is (see `services.messaging`).
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    fate = models.CharField(pgettext_lazy("sms", "fate"), max_length=16, choices=Fate.choices, blank=True)
    fate_checked_at = models.DateTimeField(null=True, blank=True)  # when the provider was last asked

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_outbox_idx")]
        constraints = [
            # Unknown means handed over: a message never handed to the provider was certainly not sent.
            models.CheckConstraint(
                condition=~models.Q(status="unknown") | models.Q(handed_at__isnull=False, fate__gt=""),
                name="message_unknown_was_handed_over",
            ),
            models.UniqueConstraint(
                fields=["reservation", "kind"], condition=models.Q(reservation__isnull=False),
                name="message_once_per_reservation_kind",
            ),
            models.UniqueConstraint(
                fields=["waitlist_entry", "kind"], condition=models.Q(waitlist_entry__isnull=False),
                name="message_once_per_waitlist_entry_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"


class InboundMessage(models.Model):
    """A text a guest sent us (Twilio's inbound webhook), what it answered and what it did.

    Stored whatever it said, matched or not, so staff can see every reply. `provider_id` (Twilio's
    MessageSid) is unique: a webhook Twilio delivers twice is acted on once.
    """

    class Action(models.TextChoices):
        CONFIRMED = "confirmed", "confirmed the booking"
        CANCELLED = "cancelled", "cancelled the booking"
        ALREADY = "already", "the booking was already so"
        OPTED_OUT = "opted_out", "opted the number out of all SMS"
        OPTED_IN = "opted_in", "opted the number back in"
        HELP = "help", "not understood: help sent"
        NOTHING_TO_ANSWER = "nothing_to_answer", "no open question: help sent"
        NOT_DONE = "not_done", "could not be done just now"
        UNKNOWN_NUMBER = "unknown_number", "a number we never texted: no answer"
        # A shared sender, and open questions from more than one restaurant: asked which, never guessed.
        AMBIGUOUS = "ambiguous", "could mean more than one restaurant's booking: asked which"
        # Answers to a recovery offer (the recovery app).
        OFFER_TAKEN = "offer_taken", "took the offered table"
        OFFER_GONE = "offer_gone", "too late: the offered table had gone"
        OFFER_DECLINED = "offer_declined", "declined the offered table"
        # Claimed by the copy of the text that acts on it, not yet answered (stays so if that copy died).
        RECEIVED = "received", "received: being answered"

    restaurant = models.ForeignKey(
        Restaurant, on_delete=models.CASCADE, null=True, blank=True, related_name="inbound_messages",
        help_text="The restaurant of the question it answered (or of our last text to the number from the "
        "sender it was sent to); none when it could mean more than one.",
    )
    from_number = models.CharField(max_length=40, help_text="As Twilio sent it (E.164 when valid).")
    to_number = models.CharField(max_length=40, blank=True,
                                 help_text="The sender the guest texted (Twilio's To), as Twilio sent it.")
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True, help_text="Twilio's MessageSid.")
    received_at = models.DateTimeField()
    guests = models.ManyToManyField(
        Guest, blank=True, related_name="inbound_messages",
        help_text="The profiles with this phone in the group of its restaurant (none without one).")
    answered = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers",
        help_text="The question (confirmation, reminder …) this reply answered.",
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    reply = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Our answer to it, if any.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["from_number", "received_at"], name="inbound_number_idx")]
        constraints = [
            models.UniqueConstraint(fields=["provider_id"], condition=~models.Q(provider_id=""),
                                    name="inbound_once_per_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:30]!r} ({self.action})"


class LoginFailure(models.Model):
    """A wrong username or password at any door (desk, admin, token endpoint): the facts the login lockout is
    computed from (services/logins.py). A refused attempt while paused is not one. Clearing a lock marks the rows,
    so the record stays."""

    username = models.CharField(max_length=150, help_text="As typed, lower-cased: the lock does not care for case.")
    # Text, not an IP field: what the address reader gives is stored as it is, never refused with a 500.
    address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["username", "at"], name="login_failure_username_idx"),
            models.Index(fields=["address", "at"], name="login_failure_address_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M}"


class LoginSuccess(models.Model):
    """A login that got in: the list of who logged in from where, and the addresses a username lock spares."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    username = models.CharField(max_length=150, help_text="Lower-cased, as the lockout counts it.")
    address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["username", "address", "at"], name="login_success_idx")]
        verbose_name_plural = "login successes"

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M}"
