"""Twilio's webhooks: a guest's text (`/sms/inbound/`) and what became of ours (`/sms/status/`), answered by
signature, never by login.

Twilio signs each request with the account's auth token over the public URL and the form fields; a request
without a valid `X-Twilio-Signature` is refused (403 JSON) before anything is read or stored. The answer to
Twilio is empty TwiML: our replies go out through the outbox (retried, recorded, subject to STOP), so
Twilio must not send one of its own.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from ..errors import BadTwilioSignature
from ..services.inbound_sms import sms_receive
from ..services.messaging import message_delivery_record
from .serializers import ErrorOutput

INBOUND_PATH = "/sms/inbound/"
STATUS_PATH = "/sms/status/"


class InboundSmsInput(serializers.Serializer):
    """The fields we read of what Twilio posts (it sends more, all covered by the signature)."""

    # Limits well above what Twilio sends (a number, a text of at most 1,600 characters, a 34-character id).
    From = serializers.CharField(max_length=40, help_text="The guest's number, E.164.")
    To = serializers.CharField(max_length=40, required=False, help_text="The number they texted: the reply "
                                                                        "answers the questions we sent from it.")
    MessagingServiceSid = serializers.CharField(max_length=64, required=False,
                                                help_text="The messaging service that number belongs to, if any.")
    Body = serializers.CharField(max_length=1600, allow_blank=True, help_text="What they wrote.")
    MessageSid = serializers.CharField(max_length=64, required=False,
                                       help_text="Twilio's id: a redelivery is acted on once.")


def signed_by_twilio(request: Request, path: str) -> bool:
    """Is the request signed with our auth token for the public URL? Without a token nothing is: an HMAC under
    an empty key is one anybody can compute."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    # Django's own form fields: DRF's parsing would answer a body of another type 415 before we refuse it.
    return validator.validate(settings.PUBLIC_BASE_URL + path, request._request.POST, signature)


class SmsInboundView(APIView):
    authentication_classes: list = []  # Twilio's signature is the credential
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(
        operation_id="sms_inbound", auth=[], request={"application/x-www-form-urlencoded": InboundSmsInput},
        responses={200: OpenApiResponse(description="Empty TwiML (`<Response/>`): replies go out as texts of "
                                                    "their own."),
                   403: OpenApiResponse(ErrorOutput, description="Not signed by Twilio for this deployment")},
        description="A guest's text: C/YES/ТАК/ДА confirm, X/CANCEL/НІ/НЕТ cancel the booking the latest "
                    "confirmation or reminder sent from the number texted (`To`) asked about (on a shared sender, "
                    "a reply that could mean two restaurants' bookings is asked which), STOP/START opt the number "
                    "out and in; anything else gets a short help text.",
    )
    def post(self, request: Request) -> HttpResponse:
        if not signed_by_twilio(request, INBOUND_PATH):
            raise BadTwilioSignature()  # before anything is stored or done
        fields = request._request.POST
        sms_receive(from_number=fields.get("From", ""), body=fields.get("Body", ""),
                    provider_id=fields.get("MessageSid", ""), to_number=fields.get("To", ""),
                    service=fields.get("MessagingServiceSid", ""))
        return HttpResponse(str(MessagingResponse()), content_type="text/xml")


class SmsStatusInput(serializers.Serializer):
    MessageSid = serializers.CharField(max_length=64, help_text="The id Twilio gave our text when we sent it.")
    MessageStatus = serializers.CharField(max_length=32,
                                          help_text="delivered, undelivered, failed (others change nothing).")
    ErrorCode = serializers.CharField(max_length=32, required=False, help_text="Why it was not delivered.")


class SmsStatusView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(
        operation_id="sms_status", auth=[], request={"application/x-www-form-urlencoded": SmsStatusInput},
        responses={204: OpenApiResponse(description="Recorded (or nothing to record)."),
                   403: OpenApiResponse(ErrorOutput, description="Not signed by Twilio for this deployment")},
        description="Twilio's delivery status callback for a text we sent: marks it delivered or undelivered.",
    )
    def post(self, request: Request) -> HttpResponse:
        if not signed_by_twilio(request, STATUS_PATH):
            raise BadTwilioSignature()
        fields = request._request.POST
        message_delivery_record(provider_id=fields.get("MessageSid", ""), status=fields.get("MessageStatus", ""),
                                error_code=fields.get("ErrorCode", "")[:20])
        return HttpResponse(status=204)
