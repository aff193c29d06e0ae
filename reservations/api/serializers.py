"""Input validation and output shapes. No business rules here: views hand clean data to services."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from phonenumber_field.phonenumber import PhoneNumber
from rest_framework import serializers

from .. import audit
from ..bounds import MAX_EXPECTATION_LENGTH, MAX_EXPECTATIONS, MAX_PHONE_LENGTH, MAX_TAG_LENGTH, MAX_TAGS
from ..engine import local_moment
from ..models import Gesture, Guest, Reservation, StaffNote, WaitlistEntry
from ..services.guests import GuestDetails, phone_read

MAX_PARTY_SIZE = 100  # beyond any restaurant's room; larger is a typo, not a party
# The dates the book can be asked about. Far wider than any horizon, yet far enough from the calendar's
# ends (years 1 and 9999) that a day's window, a turn time or a zone's offset never overflows a datetime.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2999, 12, 31)
OUT_OF_RANGE = f"Send a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."


@extend_schema_field(OpenApiTypes.DATETIME)
class LocalDateTimeField(serializers.Field):
    """ISO 8601; without an offset it is the restaurant's local time (context["tz"])."""

    default_error_messages = {"invalid": "Send an ISO 8601 date and time, e.g. 2026-12-05T20:00.",
                              "out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = parse_datetime(data.strip())
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
            self.fail("out_of_range")
        if value.tzinfo is None:
            value = local_moment(value.date(), value.time(), self.context["tz"])
            if value is None:
                # A wall-clock time DST skips does not exist: say so rather than guess.
                raise serializers.ValidationError("That local time does not exist (the clocks change).")
        return value


@extend_schema_field(OpenApiTypes.DATE)
class DateQueryField(serializers.Field):
    default_error_messages = {"invalid": "Send a date as YYYY-MM-DD.", "out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, data) -> date:
        try:
            value = parse_date(str(data))
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            self.fail("out_of_range")
        return value


@extend_schema_field({"type": "string", "maxLength": MAX_PHONE_LENGTH})
class PhoneField(serializers.Field):
    """E.164 ("+380671234567"); a local number ("067 123 45 67") is read in the restaurant's country
    (context["restaurant"]; without one, only international numbers are read)."""

    default_error_messages = {"invalid": "Send a phone number as a string, e.g. +380671234567.",
                              "max_length": f"A phone number is at most {MAX_PHONE_LENGTH} characters."}

    def to_internal_value(self, data) -> PhoneNumber:
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > MAX_PHONE_LENGTH:
            self.fail("max_length")
        try:
            return PhoneNumber.from_string(phone_read(data, self.context.get("restaurant")))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def to_representation(self, value) -> str:
        return str(value)


class GuestInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = PhoneField(required=False, allow_null=True, default=None)


class OverrideInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, trim_whitespace=True)


def expectations_field(**kwargs) -> serializers.ListField:
    # Limits as arguments: DRF's ListField sets max_length in __init__, so a class attribute was silently None
    # and a booking could carry a megabyte of expectations into the day lock.
    return serializers.ListField(child=serializers.CharField(max_length=MAX_EXPECTATION_LENGTH),
                                 max_length=MAX_EXPECTATIONS, **kwargs)


class AvailabilityQuery(serializers.Serializer):
    date = DateQueryField()
    party_size = serializers.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE)
    channel = serializers.ChoiceField(choices=Reservation.Channel.choices, default=Reservation.Channel.ONLINE)


class WithGuest:
    """For inputs with an optional `guest` object."""

    def guest_details(self) -> GuestDetails | None:
        guest = self.validated_data.get("guest")
        if not guest:
            return None
        return GuestDetails(name=(guest.get("name") or "").strip(), phone=guest.get("phone"))


class ReservationInput(WithGuest, serializers.Serializer):
    start = LocalDateTimeField()
    party_size = serializers.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE)
    channel = serializers.ChoiceField(choices=Reservation.Channel.choices, default=Reservation.Channel.ONLINE)
    guest = GuestInput(required=False, allow_null=True, default=None)
    expectations = expectations_field(required=False, default=list)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    override = OverrideInput(required=False, allow_null=True, default=None)

    # Every booking but a walk-in names its guest; those made by the guest or over the phone reach them too.
    NEEDS_PHONE = (Reservation.Channel.ONLINE, Reservation.Channel.PHONE)

    def validate(self, attrs):
        guest = attrs.get("guest") or {}
        channel = attrs["channel"]
        missing = {}
        if channel != Reservation.Channel.WALK_IN and not (guest.get("name") or "").strip():
            missing["name"] = [f"A {channel} booking needs the guest's name."]
        if channel in self.NEEDS_PHONE and not guest.get("phone"):
            missing["phone"] = [f"A {channel} booking needs the guest's phone."]
        if missing:
            raise serializers.ValidationError({"guest": missing})
        return attrs


class WalkInInput(WithGuest, serializers.Serializer):
    party_size = serializers.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE)
    guest = GuestInput(required=False, allow_null=True, default=None)


class CancelInput(serializers.Serializer):
    guest_asked = serializers.BooleanField(
        required=False, default=False,
        help_text="The guest asked to cancel (by phone, at the desk): not the restaurant's cancellation, so no "
        "recovery case. Without it a cancellation by staff is the restaurant's, and opens one.",
    )


class SeatInput(serializers.Serializer):
    tables = serializers.ListField(child=serializers.CharField(max_length=50), required=False, allow_empty=False,
                                   max_length=10)
    override = OverrideInput(
        required=False, allow_null=True, default=None,
        help_text="A manager's reason for seating the party on a table held back for walk-ins (recorded on the "
        "reservation, `bypassed: hold_back`). From a host: 403 `override_forbidden`.",
    )


class DayQuery(serializers.Serializer):
    date = DateQueryField()


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)  # the user model's own limit
    password = serializers.CharField(trim_whitespace=False, max_length=1024)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True, help_text="When the token stops working (one shift).")


class GuestUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = PhoneField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=MAX_TAG_LENGTH), required=False,
                                 max_length=MAX_TAGS)
    expectations = expectations_field(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    sms_opt_out = serializers.BooleanField(required=False)


# --- output --------------------------------------------------------------------------------


def guest_brief(guest: Guest, *, first_visit: bool | None = None) -> dict:
    """The guest as a booking shows them; `first_visit` is looked up unless the caller counted it already."""
    if first_visit is None:
        first_visit = not guest.reservations.filter(status=Reservation.Status.COMPLETED).exists()
    return {"id": guest.pk, "name": guest.name, "phone": str(guest.phone) if guest.phone else None,
            "first_visit": first_visit, "phone_verified": guest.phone_verified}


def guest_echo(sent: GuestDetails | None) -> dict | None:
    """The guest as an anonymous caller may see them: only what they sent, nothing we hold."""
    if sent is None:
        return None
    return {"name": sent.name, "phone": str(sent.phone) if sent.phone else None}


def local_iso(value: datetime | None, tz) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


class SlotOutput(serializers.Serializer):
    time = serializers.CharField()
    start = serializers.DateTimeField(help_text="The slot's start with its offset (an extension).")
    available = serializers.BooleanField()
    overbook = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class AvailabilityOutput(serializers.Serializer):
    date = serializers.DateField()
    party_size = serializers.IntegerField()
    channel = serializers.CharField()
    slots = SlotOutput(many=True)


class GuestBriefOutput(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="Staff only: not shown to the public.")
    name = serializers.CharField()
    phone = serializers.CharField(allow_null=True)
    first_visit = serializers.BooleanField(required=False, help_text="Staff only: not shown to the public.")
    phone_verified = serializers.BooleanField(
        required=False, help_text="Staff only. False: an anonymous online booking's phone nobody has proven; its "
        "guest is a record apart from the proven profile with that phone.")


class OverrideOutput(serializers.Serializer):
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    bypassed = serializers.ChoiceField(choices=Reservation.Bypassed.choices)


class ReservationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    restaurant = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Reservation.Status.choices)
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    party_size = serializers.IntegerField()
    tables = serializers.SerializerMethodField()
    channel = serializers.ChoiceField(choices=Reservation.Channel.choices)
    overbooked = serializers.BooleanField()
    override = serializers.SerializerMethodField()
    guest = serializers.SerializerMethodField()
    expectations = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()
    created_at = serializers.SerializerMethodField()

    def get_restaurant(self, obj: Reservation) -> str:
        return obj.restaurant.slug

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, obj: Reservation) -> str:
        return local_iso(obj.start, obj.restaurant.tz)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, obj: Reservation) -> str:
        return local_iso(obj.end, obj.restaurant.tz)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_created_at(self, obj: Reservation) -> str:
        return local_iso(obj.created_at, obj.restaurant.tz)

    def get_tables(self, obj: Reservation) -> list[str]:
        written = getattr(obj, "written_tables", None)
        if written is not None:  # a booking the service has just written names its tables: no read of them
            return list(written)
        return [a.table.name for a in obj.assignments.all()]

    @extend_schema_field(OverrideOutput(allow_null=True))
    def get_override(self, obj: Reservation) -> dict | None:
        if not obj.override_bypassed:
            return None
        return {
            "by": obj.override_by.get_username() if obj.override_by else None,
            "at": local_iso(obj.override_at, obj.restaurant.tz),
            "reason": obj.override_reason,
            "bypassed": obj.override_bypassed,
        }

    @extend_schema_field(GuestBriefOutput(allow_null=True))
    def get_guest(self, obj: Reservation) -> dict | None:
        guest = obj.guest
        if guest is None:
            return None
        visits = getattr(obj, "guest_visits", None)
        return guest_brief(guest, first_visit=None if visits is None else visits == 0)


class PublicReservationOutput(ReservationOutput):
    """A booking as a caller who is not the restaurant's staff sees it: of the guest, only the details it sent
    (context `sent`), nothing we hold — so nothing of the guest's is read for it."""

    def get_guest(self, obj: Reservation) -> dict | None:
        return guest_echo(self.context["sent"])


class WaitlistEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    party_size = serializers.IntegerField()
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    quoted_wait_minutes = serializers.IntegerField()
    likely_tonight = serializers.BooleanField(help_text="False when no fitting table frees before the last seating.")
    waiting_minutes = serializers.IntegerField()
    guest = GuestBriefOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    notified_at = serializers.DateTimeField(allow_null=True, help_text="When the party was texted that their "
                                            "table is ready (null: not yet).")
    notified_minutes_ago = serializers.IntegerField(allow_null=True)


def waitlist_entry_data(entry: WaitlistEntry, position: int, now: datetime) -> dict:
    tz = entry.restaurant.tz
    guest = entry.guest
    return {
        "id": entry.pk,
        "position": position,
        "party_size": entry.party_size,
        "status": entry.status,
        "quoted_wait_minutes": entry.quoted_wait_minutes,
        "likely_tonight": entry.likely_tonight,
        "waiting_minutes": int((now - entry.created_at).total_seconds() // 60),
        # The waitlist selector loads first_visit with the line; a lone entry looks it up.
        "guest": guest_brief(guest, first_visit=getattr(entry, "guest_first_visit", None)) if guest else None,
        "created_at": local_iso(entry.created_at, tz),
        "notified_at": local_iso(entry.notified_at, tz) if entry.notified_at else None,
        "notified_minutes_ago": (int((now - entry.notified_at).total_seconds() // 60) if entry.notified_at
                                 else None),
    }


class WalkInOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["seated", "waitlisted"])
    reservation = ReservationOutput(required=False)
    entry = WaitlistEntryOutput(required=False)


class GuestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.SerializerMethodField()
    visits = serializers.IntegerField()
    first_visit = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField())
    expectations = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()
    sms_opt_out = serializers.BooleanField()
    phone_verified = serializers.BooleanField(help_text="False: an anonymous online booking's record, apart from "
                                              "the proven profile with this phone.")

    def get_phone(self, obj: Guest) -> str | None:
        return str(obj.phone) if obj.phone else None

    def get_first_visit(self, obj: Guest) -> bool:
        return obj.visits == 0


class RefusalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    party_size = serializers.IntegerField()
    channel = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    alternatives = serializers.ListField(child=serializers.CharField())
    guest_name = serializers.CharField()
    guest_phone = serializers.CharField()
    created_at = serializers.DateTimeField()


class CompOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reservation = serializers.IntegerField(help_text="The id of the party's reservation.")
    item = serializers.ChoiceField(choices=Gesture.Item.choices)
    reason = serializers.CharField(help_text="Why this party is given it (the override's reason, for one).")
    status = serializers.ChoiceField(
        choices=Gesture.Status.choices,
        help_text="`queued` for the floor; `needs_approval` when it would take the service over its gesture "
        "budget (a manager approves it first); then `presented` or `declined`.",
    )
    cost = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="What it costs the restaurant.")
    occasion = serializers.ChoiceField(choices=Gesture.Occasion.choices, help_text="What it is for (an extension).")
    prompt = serializers.CharField(help_text="The line to say when presenting it personally.")
    start = serializers.DateTimeField(help_text="The reservation's start.")
    party_size = serializers.IntegerField()
    reservation_status = serializers.ChoiceField(choices=Reservation.Status.choices,
                                                 help_text="Whether the party is still coming, seated, or gone.")
    guest_name = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    presented_by = serializers.CharField(allow_null=True)
    presented_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    proposed_by = serializers.CharField(allow_null=True, help_text="Who proposed it; null for an automatic trigger.")
    announced = serializers.BooleanField(help_text="Promised beforehand: not counted as a surprise.")
    beyond_rules = serializers.CharField(help_text="Which guardrails it goes beyond (budget, given lately), if any.")
    reaction = serializers.CharField(help_text="How the guest took it: delighted, pleased, indifferent, refused "
                                     "(empty until noted).")
    reaction_note = serializers.CharField()
    reaction_by = serializers.CharField(allow_null=True)
    reaction_at = serializers.DateTimeField(allow_null=True)


class GestureProposeInput(serializers.Serializer):
    item = serializers.ChoiceField(choices=Gesture.Item.choices, default=Gesture.Item.DESSERT)
    occasion = serializers.ChoiceField(choices=Gesture.Occasion.choices, default=Gesture.Occasion.JUDGMENT)
    reason = serializers.CharField(max_length=500, help_text="Why, in the floor's words.")
    announced = serializers.BooleanField(default=False, help_text="Promised to the guest beforehand.")


class GestureReactionInput(serializers.Serializer):
    reaction = serializers.ChoiceField(choices=Gesture.Reaction.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def comp_data(gesture: Gesture) -> dict:
    tz = gesture.restaurant.tz
    reservation = gesture.reservation
    return {
        "id": gesture.pk,
        "reservation": reservation.pk,
        "item": gesture.item,
        "reason": gesture.reason,
        "status": gesture.status,
        "cost": str(gesture.cost),
        "occasion": gesture.occasion,
        "prompt": gesture.prompt,
        "start": local_iso(reservation.start, tz),
        "party_size": reservation.party_size,
        "reservation_status": reservation.status,
        "guest_name": gesture.guest.name if gesture.guest else None,
        "approved_by": gesture.approved_by.get_username() if gesture.approved_by else None,
        "approved_at": local_iso(gesture.approved_at, tz),
        "presented_by": gesture.presented_by.get_username() if gesture.presented_by else None,
        "presented_at": local_iso(gesture.presented_at, tz),
        "created_at": local_iso(gesture.created_at, tz),
        "proposed_by": gesture.proposed_by.get_username() if gesture.proposed_by else None,
        "announced": gesture.announced,
        "beyond_rules": gesture.beyond_rules,
        "reaction": gesture.reaction,
        "reaction_note": gesture.reaction_note,
        "reaction_by": gesture.reaction_by.get_username() if gesture.reaction_by else None,
        "reaction_at": local_iso(gesture.reaction_at, tz),
    }


class StaffNoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reservation = serializers.IntegerField(help_text="The id of the reservation it is about.")
    kind = serializers.ChoiceField(
        choices=StaffNote.Kind.choices,
        help_text="`first_visit` (with the guest's expectations), `welcome_back` (with last visit's notes), or "
        "`recent_gesture` (a dessert given lately: none automatically this time).",
    )
    text = serializers.CharField()
    start = serializers.DateTimeField(help_text="The reservation's start.")
    created_at = serializers.DateTimeField()


def staff_note_data(note: StaffNote) -> dict:
    tz = note.restaurant.tz
    return {"id": note.pk, "reservation": note.reservation_id, "kind": note.kind, "text": note.text,
            "start": local_iso(note.reservation.start, tz), "created_at": local_iso(note.created_at, tz)}


@extend_schema_serializer(component_name="Error")  # the one error body, shared with reservations.api.schema
class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


@extend_schema_serializer(component_name="NoTablesOutput")  # not ErrorOutput's name, which it would inherit
class NoTablesOutput(ErrorOutput):
    reasons = serializers.ListField(child=serializers.CharField())
    alternatives = serializers.ListField(child=serializers.DictField())


class HealthOutput(serializers.Serializer):
    database = serializers.CharField()
    broker = serializers.CharField()


# --- the record and the guest's own data ----------------------------------------------------------------------


class FieldChangeOutput(serializers.Serializer):
    # Any JSON value: text, a number, a list, or null (a field that was empty, or a row just created).
    to = serializers.JSONField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.JSONField(allow_null=True)  # `from` is a Python keyword
        return {"from": fields["from"], "to": fields["to"]}


class HistoryEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When, in the restaurant's time zone.")
    by = serializers.CharField(allow_null=True, help_text="The username of who made the change; null for the "
                               "guest or the system (an SMS reply, a background task).")
    source = serializers.ChoiceField(choices=list(audit.SOURCES), help_text="Where the change came from.")
    change = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    fields = serializers.DictField(child=FieldChangeOutput(), help_text="What changed, by field: `{\"from\", "
                                   "\"to\"}` (for `created`, the values it began with).")


class GuestExportOutput(serializers.Serializer):
    guest = serializers.DictField(help_text="The profile as held now.")
    bookings = serializers.ListField(child=serializers.DictField())
    refusals = serializers.ListField(child=serializers.DictField())
    messages = serializers.DictField(help_text="`sent` (SMS we sent them, with bodies) and `received` (SMS "
                                     "they sent us).")
    notes = serializers.ListField(child=serializers.DictField(), help_text="Staff notes about their visits.")
    gestures = serializers.ListField(child=serializers.DictField(), help_text="Complimentary gestures.")
    recovery_cases = serializers.ListField(child=serializers.DictField())
    waitlist = serializers.ListField(child=serializers.DictField())
    expectation_outcomes = serializers.ListField(child=serializers.DictField())
    history = serializers.ListField(child=HistoryEntryOutput(), help_text="The audit history of the profile.")
    exported_at = serializers.DateTimeField()


class GuestErasedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    erased_at = serializers.DateTimeField()
    erased = serializers.DictField(child=serializers.IntegerField(), help_text="How many rows of each kind were "
                                   "anonymised.")
