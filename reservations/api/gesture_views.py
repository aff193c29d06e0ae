"""Gestures by judgment: a member of staff proposes one for a party, and notes how the guest took it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access, selectors
from ..services.gestures import gesture_propose, gesture_react
from . import serializers as s
from .views import ERRORS, IsStaffMember, validated


def _json_object(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return request.data


class ReservationGesturesView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="reservation_gesture_propose", request=s.GestureProposeInput,
        responses={201: s.CompOutput, **ERRORS},
        description="Propose a gesture for this party (`item` dessert, drink or starter; `occasion`, by default "
        "`judgment`). Within the rules (the service's budget, no gesture lately, one surprise in N visits) a "
        "host's proposal is `queued`; beyond them it is `needs_approval` with `beyond_rules` saying why, until a "
        "manager approves it. A manager's own proposal is their decision: queued and recorded as approved. The "
        "same item for the same occasion again answers the first one.",
    )
    def post(self, request: Request, pk: int) -> Response:
        reservation = access.reservation_for(request.user, pk)
        data = validated(s.GestureProposeInput, _json_object(request)).validated_data
        gesture = gesture_propose(reservation=reservation, by=request.user, **data)
        return Response(s.comp_data(selectors.gesture_get(gesture.pk)), status=201)


class CompReactionView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="comp_reaction", request=s.GestureReactionInput,
        responses={200: s.CompOutput, 409: OpenApiResponse(s.ErrorOutput, "invalid_transition"), **ERRORS},
        description="Note how the guest took a presented gesture: `delighted`, `pleased`, `indifferent` or "
        "`refused`, with an optional note. Before it is presented: 409 `invalid_transition`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        gesture = access.comp_for(request.user, pk)
        data = validated(s.GestureReactionInput, _json_object(request)).validated_data
        gesture_react(gesture=gesture, by=request.user, **data)
        return Response(s.comp_data(selectors.gesture_get(gesture.pk)))
