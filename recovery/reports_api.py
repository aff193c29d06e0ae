"""The recovery report's API and the scoring of expectations: thin views over `recovery.services`.

Mounted by `reservations/api/urls.py` (see `reports_urls`), so the permission table and the schema see them
beside the book's endpoints. Managers read the report; any staff member scores a visit's expectations.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reservations import access
from reservations.access import is_manager
from reservations.api import serializers as s
from reservations.api.views import ERRORS, IsStaffMember, staff_restaurant, validated
from reservations.errors import ManagersOnly

from .models import ExpectationOutcome
from .services.outcomes import expectations_of, outcomes_mark, outcomes_of
from .services.overbooking import overbooking_cap_apply
from .services.report_data import recovery_report

# A report covers at most a year of service days: a wider range is a typo, and costs a year's rows per day.
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 28


class RangeQuery(serializers.Serializer):
    """`from` and `to` are service days, both included; without them, the last four weeks up to today."""

    to = s.DateQueryField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = s.DateQueryField(required=False)  # a Python keyword: declared here
        return fields

    def validate(self, attrs):
        today = timezone.localdate(timezone=self.context["tz"])
        date_to = attrs.get("to") or today
        date_from = attrs.get("from") or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if date_from > date_to:
            raise serializers.ValidationError({"from": ["The range must start on or before `to`."]})
        if (date_to - date_from).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"to": [f"A report covers at most {MAX_RANGE_DAYS} days."]})
        return {"from": date_from, "to": date_to}


def manager_restaurant(request: Request, slug: str):
    restaurant = staff_restaurant(request, slug)
    if not is_manager(request.user, restaurant):
        raise ManagersOnly("Only a manager may read the restaurant's reports.")
    return restaurant


def report_range(request: Request, restaurant, data) -> tuple[date, date]:
    dates = validated(RangeQuery, data, tz=restaurant.tz).validated_data
    return dates["from"], dates["to"]


# --- the report's shape, for the schema ------------------------------------------------------------------


class RateGroup(serializers.Serializer):
    key = serializers.CharField(help_text="The weekday, slot (HH:MM) or channel.")
    bookings = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class RefusalSlot(serializers.Serializer):
    date = serializers.DateField()
    slot = serializers.CharField(help_text="Local time asked for, HH:MM.")
    refusals = serializers.IntegerField()
    covers = serializers.IntegerField(help_text="Covers turned away.")
    by_reason = serializers.DictField(child=serializers.IntegerField(), help_text="Refusals by their main reason.")
    won_back = serializers.IntegerField(help_text="Of those guests, how many took a table we offered later.")
    won_back_covers = serializers.IntegerField()


class RefusalsReport(serializers.Serializer):
    refusals = serializers.IntegerField()
    covers = serializers.IntegerField()
    won_back = serializers.IntegerField()
    won_back_covers = serializers.IntegerField()
    won_back_rate = serializers.FloatField(allow_null=True)
    while_tables_held = serializers.IntegerField(
        help_text="Refusals while a fitting table was held back for walk-ins (hold back less?).")
    at_overbooking_limit = serializers.IntegerField(
        help_text="Refusals the overbooking policy would have taken with a higher cap (overbook more?).")
    by_slot = RefusalSlot(many=True)


class HeldTablesReport(serializers.Serializer):
    table_evenings = serializers.IntegerField(help_text="Held tables × hold windows in the range.")
    walk_in = serializers.IntegerField(help_text="Bookings at a held table, in its window, that were walk-ins.")
    released = serializers.IntegerField(help_text="… booked once the hold released the table to the book.")
    override = serializers.IntegerField(help_text="… taken by a manager's override of the hold.")
    unused = serializers.IntegerField(help_text="Table-evenings nobody sat at the held table.")


class NoShowReport(serializers.Serializer):
    bookings = serializers.IntegerField(help_text="Bookings (not walk-ins) whose guests came or did not.")
    no_shows = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    by_weekday = RateGroup(many=True)
    by_slot = RateGroup(many=True)
    by_channel = RateGroup(many=True)


class CapSuggestion(serializers.Serializer):
    service = serializers.CharField()
    current_cap = serializers.IntegerField(allow_null=True, help_text="The policy's cap today.")
    history = serializers.ListField(child=serializers.IntegerField(),
                                    help_text="No-show covers of each past service with bookings, in day order.")
    services = serializers.IntegerField()
    mean_no_show_covers = serializers.FloatField(allow_null=True)
    everyone_showed = serializers.IntegerField(help_text="Services where every booked guest came.")
    everyone_showed_rate = serializers.FloatField(allow_null=True)
    suggested_cap = serializers.IntegerField(allow_null=True, help_text="None: not enough history.")
    too_many_in = serializers.IntegerField(allow_null=True,
                                           help_text="Past services where the cap exceeds the covers missing.")
    words = serializers.CharField(help_text="The suggestion and its risk, in plain words.")


class ExpectationsReport(serializers.Serializer):
    marked = serializers.IntegerField()
    wow = serializers.IntegerField()
    ok = serializers.IntegerField()
    fail = serializers.IntegerField()
    wow_rate = serializers.FloatField(allow_null=True)
    ok_rate = serializers.FloatField(allow_null=True)
    fail_rate = serializers.FloatField(allow_null=True)


class RecoveryRates(serializers.Serializer):
    cases = serializers.IntegerField(help_text="Cases opened in the range.")
    resolved = serializers.IntegerField()
    lost = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Still open past their deadline now.")
    resolved_in_time = serializers.IntegerField(help_text="Resolved before their `respond_by`.")
    resolved_in_time_rate = serializers.FloatField(allow_null=True)
    by_kind = serializers.DictField(child=serializers.IntegerField())
    turned_away = serializers.IntegerField()
    turned_away_won_back = serializers.IntegerField()
    turned_away_won_back_rate = serializers.FloatField(allow_null=True)


class WaitsReport(serializers.Serializer):
    parties = serializers.IntegerField()
    seated = serializers.IntegerField()
    left = serializers.IntegerField()
    mean_quoted_minutes = serializers.FloatField(allow_null=True)
    mean_actual_minutes = serializers.FloatField(allow_null=True)
    mean_gap_minutes = serializers.FloatField(allow_null=True, help_text="Actual minus quoted; negative beat it.")
    beat_or_met_quote = serializers.IntegerField()
    missed_quote = serializers.IntegerField()
    worst_overrun_minutes = serializers.IntegerField()


class GestureService(serializers.Serializer):
    date = serializers.DateField()
    service = serializers.CharField()
    gestures = serializers.IntegerField()
    spent = serializers.DecimalField(max_digits=12, decimal_places=2)
    budget = serializers.DecimalField(max_digits=12, decimal_places=2)
    over_budget = serializers.BooleanField()
    awaiting_approval = serializers.IntegerField()


class GesturesReport(serializers.Serializer):
    budget_per_service = serializers.DecimalField(max_digits=12, decimal_places=2)
    spent = serializers.DecimalField(max_digits=12, decimal_places=2)
    services = GestureService(many=True)
    reactions = serializers.DictField(child=serializers.IntegerField())


class RecoveryReportOutput(serializers.Serializer):
    restaurant = serializers.CharField()
    to = serializers.DateField()
    refusals = RefusalsReport()
    held_tables = HeldTablesReport()
    no_shows = NoShowReport()
    overbooking_caps = CapSuggestion(many=True)
    expectations = ExpectationsReport()
    recovery = RecoveryRates()
    waits = WaitsReport()
    gestures = GesturesReport()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class CapApplyInput(serializers.Serializer):
    service = serializers.CharField(max_length=50)
    to = s.DateQueryField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = s.DateQueryField(required=False)
        return fields


class CapChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField()
    previous_cap = serializers.IntegerField(allow_null=True)
    new_cap = serializers.IntegerField()
    reasoning = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()


class OutcomeMark(serializers.Serializer):
    expectation = serializers.CharField(max_length=100)
    outcome = serializers.ChoiceField(choices=ExpectationOutcome.Outcome.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OutcomesInput(serializers.Serializer):
    # A list field, not many=True: the schema then says maxItems (drf-spectacular drops a list serializer's).
    outcomes = serializers.ListField(child=OutcomeMark(), allow_empty=False, max_length=50)


class OutcomeOutput(serializers.Serializer):
    expectation = serializers.CharField()
    outcome = serializers.ChoiceField(choices=ExpectationOutcome.Outcome.choices)
    note = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()


class OutcomesOutput(serializers.Serializer):
    reservation = serializers.IntegerField()
    expectations = serializers.ListField(child=serializers.CharField(),
                                         help_text="The guest's expectations (profile and booking) to score.")
    outcomes = OutcomeOutput(many=True)


# --- views ---------------------------------------------------------------------------------------------------


class RecoveryReportView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="report_recovery", parameters=[RangeQuery], responses={200: RecoveryReportOutput, **ERRORS},
        description="The manager's recovery report over service days `from`..`to` (both included, at most 366; "
        "default the last 28 days): refusals per day and slot and the guests won back, what became of held "
        "tables, no-show rates by weekday, slot and channel, a suggested overbooking cap per service with its "
        "risk in words, the fail / OK / WOW rates of expectations, the recovery rate, the quoted-vs-actual wait "
        "gap and the gesture spend per service against the budget. Managers only (a host: 403 `managers_only`).",
    )
    def get(self, request: Request, slug: str) -> Response:
        restaurant = manager_restaurant(request, slug)
        date_from, date_to = report_range(request, restaurant, request.query_params)
        return Response(recovery_report(restaurant, date_from, date_to))


class OverbookingCapApplyView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="report_overbooking_cap_apply", request=CapApplyInput,
        responses={200: CapChangeOutput, 409: OpenApiResponse(s.ErrorOutput, "not_enough_history"), **ERRORS},
        description="Apply the report's suggested cap for `service` (computed again from the history of "
        "`from`..`to`) to the overbooking policy, recorded with who, when and why. Managers only.",
    )
    def post(self, request: Request, slug: str) -> Response:
        restaurant = manager_restaurant(request, slug)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        service = validated(CapApplyInput, request.data).validated_data["service"]
        date_from, date_to = report_range(request, restaurant, request.data)
        change = overbooking_cap_apply(restaurant=restaurant, service=service, date_from=date_from,
                                       date_to=date_to, by=request.user)
        return Response({"id": change.pk, "service": change.service, "previous_cap": change.previous_cap,
                         "new_cap": change.new_cap, "reasoning": change.reasoning,
                         "by": change.by.get_username() if change.by else None,
                         "at": s.local_iso(change.at, restaurant.tz)})


def outcomes_data(reservation, outcomes) -> dict:
    tz = reservation.restaurant.tz
    return {"reservation": reservation.pk, "expectations": expectations_of(reservation), "outcomes": [
        {"expectation": o.expectation, "outcome": o.outcome, "note": o.note,
         "by": o.by.get_username() if o.by else None, "at": s.local_iso(o.at, tz)} for o in outcomes]}


class ReservationOutcomesView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="reservation_outcomes_list", responses={200: OutcomesOutput, **ERRORS},
                   description="The party's expectations and how each was scored so far.")
    def get(self, request: Request, pk: int) -> Response:
        reservation = access.reservation_for(request.user, pk)
        return Response(outcomes_data(reservation, outcomes_of(reservation)))

    @extend_schema(
        operation_id="reservation_outcomes", request=OutcomesInput,
        responses={200: OutcomesOutput, 409: OpenApiResponse(s.ErrorOutput, "not_visited"), **ERRORS},
        description="After a visit, score the guest's expectations: `fail` (missed), `ok` (met) or `wow` "
        "(exceeded), e.g. `{\"outcomes\": [{\"expectation\": \"window_seat\", \"outcome\": \"wow\"}]}`. Usually "
        "the ones `GET` lists; one staff learnt at the table may be scored too. Scoring one again corrects it. A "
        "party that has not arrived: 409 `not_visited`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        reservation = access.reservation_for(request.user, pk)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        marks = validated(OutcomesInput, request.data).validated_data["outcomes"]
        outcomes = outcomes_mark(reservation=reservation, by=request.user,
                                 marks=[(m["expectation"], m["outcome"], m["note"]) for m in marks])
        return Response(outcomes_data(reservation, outcomes))
