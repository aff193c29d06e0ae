"""Recovery cases in and out of the API. Times carry the restaurant's offset, like the rest of the API."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reservations.api.serializers import local_iso

from ..models import CaseAction, RecoveryCase
from ..services.cases import STAFF_STEPS, answered_at, is_overdue

MAX_NOTE = 1000


@extend_schema_field(OpenApiTypes.STR)
class CommaChoices(serializers.Field):
    """`?status=open,offered`: one or more of the choices, comma separated."""

    def __init__(self, choices, **kwargs) -> None:
        self.choices = [c for c, _ in choices]
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[str]:
        values = [v.strip() for v in str(data).split(",") if v.strip()]
        unknown = [v for v in values if v not in self.choices]
        if unknown:
            raise serializers.ValidationError(f"Unknown {', '.join(unknown)}; use {', '.join(self.choices)}.")
        return values

    def to_representation(self, value):
        return ",".join(value)


class CasesQuery(serializers.Serializer):
    status = CommaChoices(RecoveryCase.Status.choices, required=False, default=list, help_text=(
        "open, offered, resolved or lost; several comma separated. `open` means exactly open: nobody has "
        "closed it and no table is out on offer. `open,offered` is every case still unclosed."))
    kind = CommaChoices(RecoveryCase.Kind.choices, required=False, default=list,
                        help_text="turned_away, long_wait, cancelled_by_restaurant or mistake; comma separated.")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None,
                                       help_text="true: only the overdue; false: none of them.")


class ActionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[c for c in STAFF_STEPS], help_text=(
        "called, sms_sent, apology, gesture, note; refund is a manager's."))
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")


class CloseInput(serializers.Serializer):
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")


class MistakeInput(serializers.Serializer):
    what = serializers.ChoiceField(choices=RecoveryCase.Mistake.choices)
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")


class CaseGuestOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null for a turned-away guest with no profile yet")
    name = serializers.CharField()
    phone = serializers.CharField()


class CaseActionOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseAction.Kind.choices)
    note = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True, help_text="The member of staff; null for the system.")


class CaseRefusalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    party_size = serializers.IntegerField()
    channel = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class CaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RecoveryCase.Kind.choices)
    guest = CaseGuestOutput(allow_null=True)
    opened_at = serializers.DateTimeField()
    respond_by = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=RecoveryCase.Status.choices)
    actions = CaseActionOutput(many=True, help_text="The timeline, oldest first; `opened` is the first step.")
    overdue = serializers.BooleanField(help_text="Open, past respond_by, and nobody has reached the guest yet.")
    answered_at = serializers.DateTimeField(allow_null=True, help_text=(
        "When the guest first heard from us: a call, a text, an offer, an apology, a gesture or a refund."))
    summary = serializers.CharField()
    mistake = serializers.CharField(help_text="What went wrong, for a mistake; empty otherwise.")
    reservation = serializers.IntegerField(allow_null=True)
    waitlist_entry = serializers.IntegerField(allow_null=True)
    refusal = CaseRefusalOutput(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    won_back = serializers.IntegerField(allow_null=True, help_text="The booking that won the guest back.")


def case_data(case: RecoveryCase, now: datetime) -> dict:
    """The case as the API shows it; reads only what `recovery.selectors.with_timeline` loaded."""
    tz = case.restaurant.tz
    refusal = case.refusal
    return {
        "id": case.pk,
        "kind": case.kind,
        "guest": _guest(case),
        "opened_at": local_iso(case.opened_at, tz),
        "respond_by": local_iso(case.respond_by, tz),
        "status": case.status,
        "actions": [
            {"kind": a.kind, "note": a.note, "at": local_iso(a.at, tz), "by": a.by.get_username() if a.by else None}
            for a in case.actions.all()
        ],
        "overdue": is_overdue(case, now),
        "answered_at": local_iso(answered_at(case), tz),
        "summary": case.summary,
        "mistake": case.mistake,
        "reservation": case.reservation_id,
        "waitlist_entry": case.waitlist_entry_id,
        "refusal": None if refusal is None else {
            "id": refusal.pk, "start": local_iso(refusal.start, tz), "party_size": refusal.party_size,
            "channel": refusal.channel, "reasons": refusal.reasons,
        },
        "closed_at": local_iso(case.closed_at, tz),
        "won_back": case.won_back_id,
    }


def _guest(case: RecoveryCase) -> dict | None:
    if case.guest is not None:
        return {"id": case.guest.pk, "name": case.guest.name, "phone": str(case.guest.phone or "")}
    if case.refusal is not None:  # turned away without a profile: the name and phone they gave
        return {"id": None, "name": case.refusal.guest_name, "phone": str(case.refusal.guest_phone or "")}
    return None
