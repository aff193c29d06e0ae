"""The desk's inputs: what a host types, checked and turned into what the services take."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import to_python

from ..engine import local_moment
from ..models import Restaurant
from ..services.guests import GuestDetails
from ..services.guests import phone_read as guest_phone_read

MAX_PARTY_SIZE = 100
# The dates the book can be asked about (as the API's): a day's window never overflows the calendar.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def within_the_calendar(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(_("Choose a date between 2000 and 2999."))
    return day


def phone_read(raw: str, restaurant: Restaurant) -> str:
    """The one place the desk reads a phone as typed (E.164 out): a local number in the restaurant's country."""
    return guest_phone_read(raw, restaurant)


class DeskForm(forms.Form):
    """A form that knows its restaurant (for phones and local times)."""

    def __init__(self, *args, restaurant: Restaurant, **kwargs) -> None:
        self.restaurant = restaurant
        super().__init__(*args, **kwargs)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone") or ""
        return phone_read(raw, self.restaurant) if raw.strip() else ""

    def clean_expectations(self) -> list[str]:
        raw = self.cleaned_data.get("expectations") or ""
        return [e.strip() for e in raw.split(",") if e.strip()][:20]

    def guest_details(self) -> GuestDetails | None:
        name, phone = self.cleaned_data.get("name", "").strip(), self.cleaned_data.get("phone") or ""
        if not name and not phone:
            return None
        return GuestDetails(name=name, phone=to_python(phone) if phone else None)


class BookingForm(DeskForm):
    party_size = forms.IntegerField(label=_("Guests"), min_value=1, max_value=MAX_PARTY_SIZE)
    date = forms.DateField(label=_("Date"))
    time = forms.TimeField(label=_("Time"), input_formats=["%H:%M"])
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    expectations = forms.CharField(label=_("Expectations"), max_length=500, required=False,
                                   help_text=_("Comma separated: kids menu, window seat, celebration…"))
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False)
    override_reason = forms.CharField(label=_("Reason for the override"), max_length=500, required=False)

    def clean_date(self) -> date:
        return within_the_calendar(self.cleaned_data["date"])

    def clean(self):
        data = super().clean()
        day, at = data.get("date"), data.get("time")
        if day and at:
            start = local_moment(day, at, self.restaurant.tz)
            if start is None:
                self.add_error("time", _("That local time does not exist (the clocks change)."))
            data["start"] = start
        data["override_reason"] = (data.get("override_reason") or "").strip() or None
        return data

    @property
    def channel(self) -> str:
        # A booking with a number to call back is a phone booking; one made face to face at the desk is the host's.
        return "phone" if self.cleaned_data.get("phone") else "host"


class WalkInForm(DeskForm):
    party_size = forms.IntegerField(label=_("Guests"), min_value=1, max_value=MAX_PARTY_SIZE)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    expectations = forms.CharField(label=_("Expectations"), max_length=500, required=False)


class RefusalForm(DeskForm):
    """A turned-away guest the restaurant will come back to: who, for when, and their number."""

    party_size = forms.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE)
    start = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M"])
    name = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    reasons = forms.CharField(max_length=300, required=False)

    def clean_start(self) -> datetime:
        value = self.cleaned_data["start"]
        naive = value.replace(tzinfo=None)
        within_the_calendar(naive.date())
        local = local_moment(naive.date(), naive.time(), self.restaurant.tz)
        if local is None:
            raise ValidationError(_("That local time does not exist (the clocks change)."))
        return local

    def clean_reasons(self) -> list[str]:
        return [r for r in (self.cleaned_data.get("reasons") or "").split(",") if r]


class SeatForm(forms.Form):
    tables = forms.MultipleChoiceField(required=False)
    override_reason = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, table_names: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tables"].choices = [(n, n) for n in table_names]

    def clean_override_reason(self) -> str | None:
        return (self.cleaned_data.get("override_reason") or "").strip() or None


def _words(raw: str) -> list[str]:
    return [w.strip() for w in raw.split(",") if w.strip()][:20]


class GuestForm(forms.Form):
    """What the host learns about a guest: notes, tags, expectations, and whether we may text them."""

    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(label=_("Tags"), max_length=500, required=False)
    expectations = forms.CharField(label=_("Expectations"), max_length=500, required=False)
    sms_opt_out = forms.BooleanField(label=_("Do not text this guest"), required=False)

    def clean_tags(self) -> list[str]:
        return _words(self.cleaned_data.get("tags") or "")

    def clean_expectations(self) -> list[str]:
        return _words(self.cleaned_data.get("expectations") or "")


class DayForm(forms.Form):
    date = forms.DateField(required=False)
    view = forms.ChoiceField(choices=[("timeline", "timeline"), ("list", "list")], required=False)
    service = forms.IntegerField(min_value=0, max_value=10, required=False)

    def day(self, default: date) -> date:
        return (self.cleaned_data.get("date") if self.is_valid() else None) or default
