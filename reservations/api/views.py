"""One view per operation: parse, call a service or selector, shape the answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.db import DatabaseError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxhost.redis_guard import describe

from .. import access, engine, history, selectors
from ..errors import BookBusy, BookError, InvalidCredentials, ManagersOnly, TableTaken, TooManyBookings
from ..models import IdempotencyKey, Reservation, Restaurant
from ..services.auth import token_issue, token_revoke, tokens_revoke_all
from ..services.booking import TRANSITIONS, reservation_create, reservation_transition
from ..services.gestures import gesture_approve, gesture_present
from ..services.guests import guest_update
from ..services.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_done,
    idempotency_keep,
    idempotency_release,
    request_fingerprint,
)
from ..services.messaging import waitlist_notify
from ..services.privacy import erase_guest, guest_export
from ..services.public_caps import public_booking_admit
from ..services.walk_ins import waitlist_leave, waitlist_positions, waitlist_seat, walk_in_arrive
from . import serializers as s
from .auth import ExpiringTokenAuthentication
from .errors import error_response
from .throttling import AtomicRateThrottle

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


logger = logging.getLogger(__name__)


class PublicThrottle(AtomicRateThrottle):
    """Per user when logged in, else per client address, counted atomically in the shared cache (Redis with
    REDIS_URL): one limit across every process, however many requests arrive at once.

    If Redis is unreachable the request goes through uncounted: a guest's booking must not fail because the
    counter is down (/healthz/ reports it), and the limit is back as soon as Redis is.
    """

    scope = "public"

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            # At INFO: a booking's one warning is its confirmation's, left for beat; /healthz/ reports Redis down.
            logger.info("rate limit not counted: the shared cache is unavailable (%s)", describe(exc))
            return True


class IsStaffMember(BasePermission):
    message = "Only the restaurant's staff may do this."

    def has_permission(self, request, view) -> bool:
        return access.is_staff_member(request.user)


def require_staff(request: Request) -> None:
    if not request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if not access.is_staff_member(request.user):
        raise exceptions.PermissionDenied(IsStaffMember.message)


def staff_restaurant(request: Request, slug: str) -> Restaurant:
    """The restaurant named in the URL, for its own staff only (401 / 403 otherwise)."""
    require_staff(request)
    return access.restaurant_for(request.user, slug)


def validated(serializer_class, data, **context):
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer


# Answers that only say "try again": never kept for an Idempotency-Key.
TRANSIENT = (BookBusy, TableTaken, TooManyBookings, exceptions.Throttled)


def idempotent_create(
    request: Request,
    produce: Callable[[IdempotencyKey | None], Response],
    replay: Callable[[Replay], dict],
) -> Response:
    """Run a create under the request's Idempotency-Key, if it sent one.

    The key is claimed here (its own short transaction) and handed to the
    service, which settles it in the booking's transaction; the body is
    filled in once that has committed. An answer that only says "try again"
    (a busy book, a table lost in a race, too many requests, a 5xx) is
    released, so a retry with the same key does the work afresh.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return produce(None)
    fingerprint = request_fingerprint(request.body)
    # An anonymous caller proves nothing but the key it chose and the body it sends. Its key is the key itself, not
    # its address (every client behind one proxy or router shared a namespace there), and a replay needs the same
    # body's hash, so it shows only what that body sent; another body under the key is 422, as for anyone.
    who = f"user:{request.user.pk}" if request.user.is_authenticated else "anon"
    claim = idempotency_claim(scope=f"{who}:{request.path}", key=key.strip(), fingerprint=fingerprint)
    if isinstance(claim, Replay):
        body = claim.body if claim.body is not None else replay(claim)
        return Response(body, status=claim.status, headers={"Idempotent-Replayed": "true"})
    try:
        try:
            response = produce(claim)
        except (BookError, exceptions.APIException) as exc:
            if isinstance(exc, TRANSIENT):
                idempotency_release(claim=claim)
                raise
            # A final "no" (bad input, not allowed, no tables): the same request always gets it again.
            response = error_response(exc)
        except BaseException:
            try:
                idempotency_release(claim=claim)
            except DatabaseError:
                pass  # the database is gone too: a retry takes the claim over (see idempotency.py)
            raise
        idempotency_keep(claim=claim, status=response.status_code, body=response.data)
        return response
    finally:
        idempotency_done(claim)


def reservation_response(reservation: Reservation, status: int = 200) -> Response:
    return Response(s.ReservationOutput(selectors.reservation_get(reservation.pk)).data, status=status)


def public_reservation_response(reservation: Reservation, sent: s.GuestDetails | None, status: int) -> Response:
    """What a caller who is not the restaurant's staff learns: the booking, and only the guest details it sent.

    The booking as the service wrote it, not read back: nothing in this answer (no profile, no visit count)
    needs the database, and a read here cost a 201 two queries and a sixth of its time.
    """
    return Response(s.PublicReservationOutput(reservation, context={"sent": sent}).data, status=status)


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
            restaurant = staff_restaurant(request, slug)
        else:
            restaurant = access.restaurant_public(slug, with_group=False)
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
        restaurant = staff_restaurant(request, slug)
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
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
        restaurant = access.restaurant_public(slug)
        return idempotent_create(
            request, lambda claim: self._create(request, restaurant, claim),
            lambda first: self._replay(request, restaurant, first),
        )

    def _replay(self, request: Request, restaurant: Restaurant, first: Replay) -> dict:
        """A first answer whose body was never kept, rebuilt for this caller: staff see the booking as staff
        do; anyone else only the guest details its own (identical) body sent, never what we hold."""
        if access.is_member(request.user, restaurant):
            return s.ReservationOutput(selectors.reservation_get(first.reservation_id)).data
        sent = validated(s.ReservationInput, request.data, tz=restaurant.tz, restaurant=restaurant).guest_details()
        return s.PublicReservationOutput(selectors.reservation_get(first.reservation_id),
                                         context={"sent": sent}).data

    def _create(self, request: Request, restaurant: Restaurant, claim: IdempotencyKey | None) -> Response:
        body = request.data
        # A body that is not an object is bad input (400) whoever sends it, not a question of who is asking.
        if not isinstance(body, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        if body.get("channel", Reservation.Channel.ONLINE) != Reservation.Channel.ONLINE or body.get("override"):
            staff_restaurant(request, restaurant.slug)
        serializer = validated(s.ReservationInput, body, tz=restaurant.tz, restaurant=restaurant)
        data = serializer.validated_data
        member = access.is_member(request.user, restaurant)
        if not member:
            # Every online booking names a phone (the serializer insists) and may text it: counted before the book.
            public_booking_admit(phone=str(serializer.guest_details().phone),
                                 address=PublicThrottle().get_ident(request))
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
            idempotency=claim,
        )
        if member:
            return reservation_response(reservation, status=201)
        return public_reservation_response(reservation, serializer.guest_details(), status=201)


class ReservationDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="reservation_get", responses={200: s.ReservationOutput, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return reservation_response(access.reservation_for(request.user, pk))


class ReservationActionView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="reservation_action",
        request=s.SeatInput,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(TRANSITIONS))],
        responses={
            200: s.ReservationOutput,
            409: OpenApiResponse(s.ErrorOutput, "invalid_transition, table_taken, held_for_walk_ins, no_free_table"),
            **ERRORS,
        },
        description="`action` is one of confirm, arrive, seat, complete, no-show, cancel. `seat` takes an optional "
        "body `{\"tables\": [...]}`: the tables must be free for the booking's time (else 409 `table_taken`), and "
        "a table held back for walk-ins needs a manager's `\"override\": {\"reason\": \"...\"}` (else 409 "
        "`held_for_walk_ins`; from a host 403 `override_forbidden`), recorded on the reservation like a "
        "booking's override. `cancel` by staff is the restaurant's cancellation and opens a recovery case "
        "(`cancelled_by_restaurant`), unless the body says `{\"guest_asked\": true}`.",
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        if action not in TRANSITIONS:
            raise exceptions.NotFound(f"No action {action!r}; use one of {', '.join(TRANSITIONS)}.")
        reservation = access.reservation_for(request.user, pk)
        tables = override = None
        guest_asked = False
        if action in ("seat", "cancel") and request.data:
            if not isinstance(request.data, dict):
                raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        if action == "seat" and request.data:
            seat = validated(s.SeatInput, request.data).validated_data
            tables, override = seat.get("tables"), seat.get("override")
        if action == "cancel" and request.data:
            guest_asked = validated(s.CancelInput, request.data).validated_data["guest_asked"]
        reservation = reservation_transition(reservation=reservation, action=action, by=request.user,
                                             table_names=tables, override_reason=override["reason"] if override
                                             else None, guest_asked=guest_asked)
        return reservation_response(reservation)


class WalkInsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="walk_in",
        request=s.WalkInInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.WalkInOutput, 409: OpenApiResponse(s.ErrorOutput, "outside_service_hours"),
                   422: OpenApiResponse(s.ErrorOutput, description="idempotency_key_reused"), **ERRORS},
        description="Seat a walk-in now (held tables included) or put them on the waitlist with a padded quote.",
    )
    def post(self, request: Request, slug: str) -> Response:
        restaurant = access.restaurant_for(request.user, slug)
        return idempotent_create(request, lambda claim: self._walk_in(request, restaurant, claim), self._replay)

    def _walk_in(self, request: Request, restaurant: Restaurant, claim: IdempotencyKey | None) -> Response:
        serializer = validated(s.WalkInInput, request.data, restaurant=restaurant)
        result = walk_in_arrive(restaurant=restaurant, party_size=serializer.validated_data["party_size"],
                                guest=serializer.guest_details(), by=request.user, idempotency=claim)
        if result.reservation is not None:
            data = {"status": "seated",
                    "reservation": s.ReservationOutput(selectors.reservation_get(result.reservation.pk)).data}
        else:
            data = {"status": "waitlisted", "entry": s.waitlist_entry_data(result.entry, result.position, result.now)}
        return Response(data, status=201)

    @staticmethod
    def _replay(first: Replay) -> dict:
        """The first answer rebuilt from what it made (only if its body was never filled in)."""
        if first.reservation_id is not None:
            return {"status": "seated", "reservation": s.ReservationOutput(
                selectors.reservation_get(first.reservation_id)).data}
        entry = selectors.waitlist_entry_get(first.waitlist_entry_id)
        position = next((p for e, p in waitlist_positions(entry.restaurant) if e.pk == entry.pk), 0)
        return {"status": "waitlisted", "entry": s.waitlist_entry_data(entry, position, timezone.now())}


class WaitlistView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="waitlist", responses={200: s.WaitlistEntryOutput(many=True), **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        restaurant = access.restaurant_for(request.user, slug)
        now = timezone.now()
        return Response([s.waitlist_entry_data(e, pos, now) for e, pos in waitlist_positions(restaurant, now=now)])


class WaitlistSeatView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="waitlist_seat",
        request=s.SeatInput,
        responses={200: s.WalkInOutput, 409: OpenApiResponse(
            s.ErrorOutput, "no_free_table, table_taken, outside_service_hours"), **ERRORS},
        description="Seat the waiting party now, on `tables` if given (held-back tables included: they are kept "
        "for parties at the door), else the best free table.",
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = access.waitlist_entry_for(request.user, pk)
        tables = validated(s.SeatInput, request.data or {}).validated_data.get("tables")
        reservation = waitlist_seat(entry=entry, by=request.user, table_names=tables)
        return Response({"status": "seated", "reservation": s.ReservationOutput(reservation).data})


class WaitlistNotifyView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="waitlist_notify", request=None,
        responses={200: s.WaitlistEntryOutput, 409: OpenApiResponse(
            s.ErrorOutput, "no_sms_number, invalid_transition"), **ERRORS},
        description="Text the waiting party that their table is ready (once; telling them again sends nothing "
        "new) and record when.",
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = waitlist_notify(entry=access.waitlist_entry_for(request.user, pk))
        now = timezone.now()
        position = next((p for e, p in waitlist_positions(entry.restaurant, now=now) if e.pk == entry.pk), 0)
        return Response(s.waitlist_entry_data(entry, position, now))


class WaitlistLeaveView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="waitlist_leave", request=None, responses={200: s.WaitlistEntryOutput, **ERRORS},
                   description="The party left without being seated.")
    def post(self, request: Request, pk: int) -> Response:
        entry = waitlist_leave(entry=access.waitlist_entry_for(request.user, pk))
        return Response(s.waitlist_entry_data(entry, 0, timezone.now()))


class GuestsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="guests",
        parameters=[OpenApiParameter("phone", str, description="E.164, e.g. +380671234567 (a bare + is fine)")],
        responses={200: s.GuestOutput(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        guests = selectors.guests_with_visits(access.guests_for(request.user))
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

    @extend_schema(operation_id="guest_get", responses={200: s.GuestOutput, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        guest = access.guest_for(request.user, pk)
        return Response(s.GuestOutput(selectors.guest_with_visits(guest)).data)

    @extend_schema(operation_id="guest_update", request=s.GuestUpdateInput, responses={200: s.GuestOutput, **ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        guest = access.guest_for(request.user, pk)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        changes = validated(s.GuestUpdateInput, request.data,
                            restaurant=access.guest_home_for(request.user, guest)).validated_data
        guest_update(guest=guest, **changes)
        return Response(s.GuestOutput(selectors.guest_with_visits(guest)).data)


class ReservationHistoryView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="reservation_history", responses={200: s.HistoryEntryOutput(many=True), **ERRORS},
        description="The booking's audit history, oldest first: every change, who made it (`by`, a username; "
        "null for the guest or the system), from where (`source`: api, desk, admin, sms, task, command, "
        "guest page, system) and what changed (`fields`: `{\"from\", \"to\"}` by field; `tables` names its "
        "tables). Staff of the booking's restaurant.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(history.reservation_history(access.reservation_for(request.user, pk)))


def manager_guest(request: Request, pk: int):
    """A guest of the caller's groups, for a manager at one of the group's restaurants only (another group's
    guest is 404 before the role; a host here who manages elsewhere is a host here)."""
    guest = access.guest_for(request.user, pk)
    if not access.manages_guest(request.user, guest):
        raise ManagersOnly()
    return guest


class GuestExportView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="guest_export", responses={200: s.GuestExportOutput, **ERRORS},
        description="Everything held about the guest (managers only; a host gets 403 `managers_only`): "
        "profile, bookings, refusals, messages (sent and received, with bodies), staff notes, gestures, "
        "waitlist visits, recovery cases, scored expectations and the profile's audit history.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(guest_export(manager_guest(request, pk)))


class GuestEraseView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="guest_erase", request=None, responses={200: s.GuestErasedOutput, **ERRORS},
        description="Anonymise the guest (managers only): name, phone, notes and message bodies are gone, "
        "`GET /guests/?phone=` no longer finds them, and their bookings remain only as anonymous counts. "
        "Cannot be undone; erasing again changes nothing.",
    )
    def post(self, request: Request, pk: int) -> Response:
        guest = manager_guest(request, pk)
        erased = erase_guest(guest, by=request.user)
        guest.refresh_from_db()
        return Response({"id": guest.pk, "erased_at": guest.erased_at, "erased": erased})


class RefusalsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(operation_id="refusals", parameters=[s.DayQuery],
                   responses={200: s.RefusalOutput(many=True), **ERRORS},
                   description="Every time the restaurant said no on that day's slots: lost demand.")
    def get(self, request: Request, slug: str) -> Response:
        restaurant = access.restaurant_for(request.user, slug)
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
        refusals = selectors.refusals_for_day(restaurant, day)
        tz = restaurant.tz
        return Response([
            {"id": r.pk, "start": s.local_iso(r.start, tz), "party_size": r.party_size, "channel": r.channel,
             "reasons": r.reasons, "alternatives": r.alternatives, "guest_name": r.guest_name,
             "guest_phone": str(r.guest_phone or ""), "created_at": s.local_iso(r.created_at, tz)}
            for r in refusals
        ])


class CompsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="comps", parameters=[s.DayQuery], responses={200: s.CompOutput(many=True), **ERRORS},
        description="Complimentary gestures queued for the floor for the day's bookings (staff only), in start "
        "order: a dessert for a booking won through a manager's override, with its reason and the line to present "
        "it personally. Filled by a background task within seconds of the booking, once per occasion. A gesture "
        "that would take the service over the restaurant's gesture budget is `needs_approval` until a manager "
        "approves it; a guest given a dessert lately gets a `recent_gesture` staff note instead of another.",
    )
    def get(self, request: Request, slug: str) -> Response:
        restaurant = access.restaurant_for(request.user, slug)
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
        return Response([s.comp_data(g) for g in selectors.gestures_for_day(restaurant, day)])


class CompApproveView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="comp_approve", request=None,
        responses={200: s.CompOutput, 409: OpenApiResponse(s.ErrorOutput, "invalid_transition"), **ERRORS},
        description="A manager lets an over-budget gesture through (`needs_approval` → `queued`). From a host: "
        "403 `managers_only`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        gesture = gesture_approve(gesture=access.comp_for(request.user, pk), by=request.user)
        return Response(s.comp_data(selectors.gesture_get(gesture.pk)))


class CompPresentView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="comp_present", request=None,
        responses={200: s.CompOutput, 409: OpenApiResponse(s.ErrorOutput, "needs_approval, invalid_transition"),
                   **ERRORS},
        description="The floor presented the gesture (`queued` → `presented`, recorded with who and when). One "
        "still `needs_approval` is 409 `needs_approval`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        gesture = gesture_present(gesture=access.comp_for(request.user, pk), by=request.user)
        return Response(s.comp_data(selectors.gesture_get(gesture.pk)))


class StaffNotesView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        operation_id="staff_notes", parameters=[s.DayQuery], responses={200: s.StaffNoteOutput(many=True), **ERRORS},
        description="Notes prepared for the floor before the day's guests arrive (staff only), in start order: "
        "`first_visit` for a guest with no completed visit, with their expectations; `welcome_back` with last "
        "visit's notes for a returning one. Filled by a background task within seconds of the booking, once per "
        "booking and kind.",
    )
    def get(self, request: Request, slug: str) -> Response:
        restaurant = access.restaurant_for(request.user, slug)
        day = validated(s.DayQuery, request.query_params).validated_data["date"]
        return Response([s.staff_note_data(n) for n in selectors.staff_notes_for_day(restaurant, day)])


LOGIN_ERRORS = {**ERRORS, 429: OpenApiResponse(s.ErrorOutput, description="Too many failed logins or requests: "
                                                 "wait Retry-After seconds")}


class AuthTokenView(APIView):
    """Username and password for a token. Failures count towards the lockout (reservations/services/logins.py):
    while paused, LoginLockoutMiddleware answers 429 too_many_login_failures, even to the right password."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PublicThrottle]

    @extend_schema(operation_id="auth_token", request=s.TokenInput, responses={200: s.TokenOutput, **LOGIN_ERRORS},
                   description="A token for `Authorization: Token <token>`, valid until `expiry` (one shift), "
                   "until logout, or until the user's password changes.")
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        data = validated(s.TokenInput, request.data).validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise InvalidCredentials()
        issued = token_issue(user=user)
        return Response({"token": issued.token, "expiry": issued.expiry})


class LogoutView(APIView):
    """Ends the token the request was made with (only a token can be logged out here; the desk has its own)."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_logout", request=None, responses={204: None, 401: ERRORS[401]})
    def post(self, request: Request) -> Response:
        token_revoke(token=request.auth)
        return Response(status=204)


class LogoutAllView(APIView):
    """Ends every token of the user: a lost tablet, a shared password."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_logout_all", request=None, responses={204: None, 401: ERRORS[401]})
    def post(self, request: Request) -> Response:
        tokens_revoke_all(user=request.user)
        return Response(status=204)
