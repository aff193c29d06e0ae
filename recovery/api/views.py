"""Recovery cases for the restaurant's staff: the list and one case, what staff did, and closing it.

Hosts record what they did for the guest (called, texted, apologised, a gesture); a manager records a
refund and closes the case as resolved or lost — closing judges whether the guest was kept, which is the
manager's call and takes the case off the overdue list that exists for them.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reservations import access
from reservations.api.serializers import ErrorOutput
from reservations.api.views import ERRORS, IsStaffMember, staff_restaurant, validated

from .. import selectors
from ..models import RecoveryCase
from ..services.cases import case_decide, case_record
from ..services.causes import mistake_log
from . import serializers as s

CLOSED = OpenApiResponse(ErrorOutput, "case_closed: the case is already resolved or lost")


def case_response(pk: int, status: int = 200) -> Response:
    return Response(s.case_data(selectors.case_get(pk), timezone.now()), status=status)


class RecoveryCasesView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="recovery_cases", parameters=[s.CasesQuery], responses={200: s.CaseOutput(many=True), **ERRORS},
        description="The restaurant's recovery cases (staff only), earliest deadline first, at most 200. Every "
        "`no_tables` answer to a guest who left a phone is a `turned_away` case, a walk-in kept past the quoted "
        "wait or a booked party not seated 15 minutes after their time a `long_wait`, a booking cancelled by staff "
        "`cancelled_by_restaurant`, a host's logged mistake `mistake`. `?status=open` lists exactly the open "
        "ones: a case whose guest has a table on offer is `offered` (ask `?status=open,offered` for both). "
        "`overdue` is true for an open case past `respond_by` whose guest nobody has reached yet.",
    )
    def get(self, request: Request, slug: str) -> Response:
        restaurant = staff_restaurant(request, slug)
        query = validated(s.CasesQuery, request.query_params).validated_data
        now = timezone.now()
        cases = selectors.cases_list(restaurant, now=now, statuses=query["status"], kinds=query["kind"],
                                     overdue=query["overdue"])
        return Response([s.case_data(case, now) for case in cases])


class RecoveryCaseDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="recovery_case", responses={200: s.CaseOutput, **ERRORS})
    def get(self, request: Request, slug: str, pk: int) -> Response:
        case = selectors.case_for(request.user, staff_restaurant(request, slug), pk)
        return Response(s.case_data(case, timezone.now()))


class RecoveryCaseActionsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="recovery_case_action", request=s.ActionInput,
        responses={201: s.CaseOutput, 409: CLOSED, **ERRORS},
        description="Record what was done for the guest: `called`, `sms_sent`, `apology`, `gesture`, `note` "
        "(any staff), `refund` (a manager's; from a host 403 `managers_only`). The first step that reaches the "
        "guest answers the case: it is no longer overdue.",
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        case = selectors.case_for(request.user, staff_restaurant(request, slug), pk)
        step = validated(s.ActionInput, request.data).validated_data
        case_record(case=case, kind=step["kind"], note=step["note"], by=request.user)
        return case_response(case.pk, status=201)


class _CaseCloseView(APIView):
    permission_classes = [IsStaffMember]
    closes_as: str

    def post(self, request: Request, slug: str, pk: int) -> Response:
        case = selectors.case_for(request.user, staff_restaurant(request, slug), pk)
        note = validated(s.CloseInput, request.data or {}).validated_data["note"]
        case_decide(case=case, status=self.closes_as, note=note, by=request.user)
        return case_response(case.pk)


class RecoveryCaseResolveView(_CaseCloseView):
    closes_as = RecoveryCase.Status.RESOLVED

    @extend_schema(operation_id="recovery_case_resolve", request=s.CloseInput,
                   responses={200: s.CaseOutput, 409: CLOSED, **ERRORS},
                   description="A manager closes the case: the guest was looked after. From a host: 403 "
                   "`managers_only`.")
    def post(self, request: Request, slug: str, pk: int) -> Response:
        return super().post(request, slug, pk)


class RecoveryCaseLoseView(_CaseCloseView):
    closes_as = RecoveryCase.Status.LOST

    @extend_schema(operation_id="recovery_case_lose", request=s.CloseInput,
                   responses={200: s.CaseOutput, 409: CLOSED, **ERRORS},
                   description="A manager closes the case: the guest could not be won back. From a host: 403 "
                   "`managers_only`.")
    def post(self, request: Request, slug: str, pk: int) -> Response:
        return super().post(request, slug, pk)


class ReservationMistakesView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="reservation_mistake", request=s.MistakeInput, responses={201: s.CaseOutput, **ERRORS},
        description="A host logs a mistake at this party's table in two taps: `what` is wrong_dish, "
        "spilled_drink, forgotten_request or other, with an optional `note`. Opens a `mistake` case (10 minutes "
        "to answer); each mistake is its own case.",
    )
    def post(self, request: Request, pk: int) -> Response:
        reservation = access.reservation_for(request.user, pk)
        data = validated(s.MistakeInput, request.data).validated_data
        case = mistake_log(reservation=reservation, what=data["what"], note=data["note"], by=request.user)
        return case_response(case.pk, status=201)
