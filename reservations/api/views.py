"""One view per operation: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .. import engine, selectors
from ..errors import BookError, InvalidCredentials
from ..models import Refusal, Reservation, Restaurant, WaitlistEntry
from ..roles import is_staff_member
from ..services.booking import TRANSITIONS, reservation_create, reservation_transition
from ..services.guests import guest_update
from ..services.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_finish,
    idempotency_release,
    request_fingerprint,
)
from ..services.walk_ins import waitlist_leave, waitlist_positions, waitlist_seat, walk_in_arrive
from . import serializers as s
from .errors import error_response

ERRORS = {
    400: OpenApiResponse(s.ErrorOutput, description="Bad input"),
    401: OpenApiResponse(s.ErrorOutput, description="Not authenticated"),
    403: OpenApiResponse(s.ErrorOutput, description="Not allowed"),
    404: OpenApiResponse(s.ErrorOutput, description="Not found"),
}
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Repeat a create safely: the same key and body return the first answer (kept at least 24 h).",
)


class PublicThrottle(AnonRateThrottle):
    scope = "public"


class IsStaffMember(BasePermission):
    message = "Only the restaurant's staff may do this."

    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


def require_staff(request: Request) -> None:
    if not request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if not is_staff_member(request.user):
        raise exceptions.PermissionDenied(IsStaffMember.message)


def restaurant_or_404(slug: str) -> Restaurant:
    try:
        return selectors.restaurant_by_slug(slug)
    except Restaurant.DoesNotExist:
        raise exceptions.NotFound(f"No restaurant {slug!r}.") from None


def validated(serializer_class, data, **context):
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer


def idempotent_create(request: Request, produce: Callable[[], Response]) -> Response:
    """Run a create under the request's Idempotency-Key, if it sent one."""

    def answer() -> Response:
        try:
            return produce()
        except (BookError, exceptions.APIException, Http404) as exc:
            return error_response(exc)

    key = request.headers.get("Idempotency-Key")
    if key is None:
        return answer()
    who = f"user:{request.user.pk}" if request.user.is_authenticated else f"anon:{request.META.get('REMOTE_ADDR')}"
    claim = idempotency_claim(scope=f"{who}:{request.path}", key=key.strip(),
                              fingerprint=request_fingerprint(request.body))
    if isinstance(claim, Replay):
        return Response(claim.body, status=claim.status, headers={"Idempotent-Replayed": "true"})
    try:
        with transaction.atomic():
            response = answer()
            idempotency_finish(claim=claim, status=response.status_code, body=response.data)
    except BaseException:
        idempotency_release(claim=claim)
        raise
    return response


def reservation_response(reservation: Reservation, status: int = 200) -> Response:
    return Response(s.ReservationOutput(selectors.reservation_get(reservation.pk)).data, status=status)


class AvailabilityView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [PublicThrottle]

    @extend_schema(
        operation_id="availability",
        parameters=[s.AvailabilityQuery],
        responses={200: s.AvailabilityOutput, **ERRORS},
        description="Every slot of the day for this party and channel. Public for `channel=online`.",
    )
    def get(self, request: Request, slug: str) -> Response:
        query = validated(s.AvailabilityQuery, request.query_params).validated_data
        if query["channel"] != Reservation.Channel.ONLINE:
            require_staff(request)
        restaurant = restaurant_or_404(slug)
        plan = selectors.day_plan(restaurant, query["date"])
        tz = restaurant.tz
        slots = engine.availability(plan, party_size=query["party_size"], channel=query["channel"],
                                    now=timezone.now())
        return Response({
            "date": query["date"].isoformat(),
            "party_size": query["party_size"],
            "channel": query["channel"],
            "slots": [
                {
                    "time": slot.start.astimezone(tz).strftime("%H:%M"),
                    "start": slot.start.astimezone(tz).isoformat(),
                    "available": slot.available,
                    "overbook": slot.overbook,
                    "reason": slot.reason,
                    "reasons": list(slot.reasons),
                }
                for slot in slots
            ],
        })


class RestaurantReservationsView(APIView):
    permission_classes = [AllowAny]

    def get_throttles(self):
        return [PublicThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="reservations_for_day",
        parameters=[s.DayQuery],
        responses={200: s.ReservationOutput(many=True), **ERRORS},
        description="The day's book, every status, in start order (staff only).",
    )
    def get(self, request: Request, slug: str) -> Response:
        require_staff(request)
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
        restaurant = restaurant_or_404(slug)
        return Response(s.ReservationOutput(selectors.book_for_day(restaurant, day), many=True).data)

    @extend_schema(
        operation_id="reservation_create",
        request=s.ReservationInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.ReservationOutput,
            409: OpenApiResponse(s.NoTablesOutput, description="no_tables, with reasons and alternatives"),
            422: OpenApiResponse(s.ErrorOutput, description="idempotency_key_reused"),
            **ERRORS,
        },
        description="Book a table. Online bookings need no token; other channels and overrides need staff.",
    )
    def post(self, request: Request, slug: str) -> Response:
        restaurant = restaurant_or_404(slug)
        return idempotent_create(request, lambda: self._create(request, restaurant))

    def _create(self, request: Request, restaurant: Restaurant) -> Response:
        body = request.data
        # A body that is not an object is bad input (400) whoever sends it, not a question of who is asking.
        if not isinstance(body, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        if body.get("channel", Reservation.Channel.ONLINE) != Reservation.Channel.ONLINE or body.get("override"):
            require_staff(request)
        serializer = validated(s.ReservationInput, body, tz=restaurant.tz)
        data = serializer.validated_data
        reservation = reservation_create(
            restaurant=restaurant,
            start=data["start"],
            party_size=data["party_size"],
            channel=data["channel"],
            guest=serializer.guest_details(),
            by=request.user if request.user.is_authenticated else None,
            expectations=data["expectations"],
            notes=data["notes"],
            override_reason=data["override"]["reason"] if data["override"] else None,
        )
        return reservation_response(reservation, status=201)


class ReservationDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="reservation_get", responses={200: s.ReservationOutput, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        try:
            return Response(s.ReservationOutput(selectors.reservation_get(pk)).data)
        except Reservation.DoesNotExist:
            raise exceptions.NotFound(f"No reservation {pk}.") from None


class ReservationActionView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="reservation_action",
        request=s.SeatInput,
        responses={200: s.ReservationOutput, 409: OpenApiResponse(s.ErrorOutput, "invalid_transition"), **ERRORS},
        description="`action` is one of confirm, arrive, seat (optional body {\"tables\": [...]}), complete, "
        "no-show, cancel.",
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in TRANSITIONS:
            raise exceptions.NotFound(f"No action {action!r}; use one of {', '.join(TRANSITIONS)}.")
        try:
            reservation = Reservation.objects.select_related("restaurant").get(pk=pk)
        except Reservation.DoesNotExist:
            raise exceptions.NotFound(f"No reservation {pk}.") from None
        tables = None
        if action == "seat" and request.data:
            if not isinstance(request.data, dict):
                raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
            tables = validated(s.SeatInput, request.data).validated_data.get("tables")
        reservation = reservation_transition(reservation=reservation, action=action, by=request.user,
                                             table_names=tables)
        return reservation_response(reservation)


class WalkInsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="walk_in",
        request=s.WalkInInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.WalkInOutput, 409: OpenApiResponse(s.ErrorOutput, "outside_service_hours"), **ERRORS},
        description="Seat a walk-in now (held tables included) or put them on the waitlist with a padded quote.",
    )
    def post(self, request: Request, slug: str) -> Response:
        restaurant = restaurant_or_404(slug)
        return idempotent_create(request, lambda: self._walk_in(request, restaurant))

    def _walk_in(self, request: Request, restaurant: Restaurant) -> Response:
        serializer = validated(s.WalkInInput, request.data)
        now = timezone.now()
        result = walk_in_arrive(restaurant=restaurant, party_size=serializer.validated_data["party_size"],
                                guest=serializer.guest_details(), by=request.user, now=now)
        if result.reservation is not None:
            data = {"status": "seated",
                    "reservation": s.ReservationOutput(selectors.reservation_get(result.reservation.pk)).data}
        else:
            data = {"status": "waitlisted", "entry": s.waitlist_entry_data(result.entry, result.position, now)}
        return Response(data, status=201)


class WaitlistView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="waitlist", responses={200: s.WaitlistEntryOutput(many=True), **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        restaurant = restaurant_or_404(slug)
        now = timezone.now()
        return Response([s.waitlist_entry_data(e, pos, now) for e, pos in waitlist_positions(restaurant, now=now)])


def _waitlist_entry(pk: int) -> WaitlistEntry:
    try:
        return WaitlistEntry.objects.select_related("restaurant").get(pk=pk)
    except WaitlistEntry.DoesNotExist:
        raise exceptions.NotFound(f"No waitlist entry {pk}.") from None


class WaitlistSeatView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="waitlist_seat",
        request=s.SeatInput,
        responses={200: s.WalkInOutput, 409: OpenApiResponse(s.ErrorOutput, "no_free_table"), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = _waitlist_entry(pk)
        tables = validated(s.SeatInput, request.data or {}).validated_data.get("tables")
        reservation = waitlist_seat(entry=entry, by=request.user, table_names=tables)
        return Response({"status": "seated", "reservation": s.ReservationOutput(reservation).data})


class WaitlistLeaveView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="waitlist_leave", request=None, responses={200: s.WaitlistEntryOutput, **ERRORS},
                   description="The party left without being seated.")
    def post(self, request: Request, pk: int) -> Response:
        entry = waitlist_leave(entry=_waitlist_entry(pk))
        return Response(s.waitlist_entry_data(entry, 0, timezone.now()))


class GuestsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="guests",
        parameters=[OpenApiParameter("phone", str, description="E.164, e.g. +380671234567 (a bare + is fine)")],
        responses={200: s.GuestOutput(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        guests = selectors.guests_with_visits()
        raw = request.query_params.get("phone")
        if raw is not None:
            # An unencoded "+" arrives as a space in a query string.
            raw = raw.strip()
            phone = validated(s.GuestInput, {"phone": raw if raw.startswith("+") or not raw[:1].isdigit()
                                             else f"+{raw}"}).validated_data["phone"]
            guests = guests.filter(phone=phone)
        return Response(s.GuestOutput(guests.order_by("name", "id")[:200], many=True).data)


class GuestDetailView(APIView):
    permission_classes = [IsStaffMember]

    def _guest(self, pk: int):
        guest = selectors.guests_with_visits().filter(pk=pk).first()
        if guest is None:
            raise exceptions.NotFound(f"No guest {pk}.")
        return guest

    @extend_schema(operation_id="guest_get", responses={200: s.GuestOutput, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.GuestOutput(self._guest(pk)).data)

    @extend_schema(operation_id="guest_update", request=s.GuestUpdateInput, responses={200: s.GuestOutput, **ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        guest = self._guest(pk)
        changes = validated(s.GuestUpdateInput, request.data).validated_data
        guest_update(guest=guest, **changes)
        return Response(s.GuestOutput(self._guest(pk)).data)


class RefusalsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="refusals", parameters=[s.DayQuery],
                   responses={200: s.RefusalOutput(many=True), **ERRORS},
                   description="Every time the restaurant said no on that day's slots: lost demand.")
    def get(self, request: Request, slug: str) -> Response:
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
        restaurant = restaurant_or_404(slug)
        start, end = selectors.local_day_range(restaurant, day)
        refusals = Refusal.objects.filter(restaurant=restaurant, start__gte=start, start__lt=end).order_by("start")
        tz = restaurant.tz
        return Response([
            {"id": r.pk, "start": s.local_iso(r.start, tz), "party_size": r.party_size, "channel": r.channel,
             "reasons": r.reasons, "alternatives": r.alternatives, "guest_name": r.guest_name,
             "guest_phone": str(r.guest_phone or ""), "created_at": s.local_iso(r.created_at, tz)}
            for r in refusals
        ])


class AuthTokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PublicThrottle]

    @extend_schema(operation_id="auth_token", request=s.TokenInput, responses={200: s.TokenOutput, **ERRORS})
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        data = validated(s.TokenInput, request.data).validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
