from django.core.management.base import BaseCommand

from reservations.services.inbound_sms import sms_receive


class Command(BaseCommand):
    help = ("Act on a guest's text as if it came through Twilio's webhook (for the demo and for staff testing a "
            "number): `sms_receive +380671112233 YES`. The reply goes out through the SMS backend like any other.")

    def add_arguments(self, parser):
        parser.add_argument("from_number", help="the guest's number, E.164 (+380…)")
        parser.add_argument("body", nargs="+", help="what they wrote")

    def handle(self, *args, from_number: str, body: list[str], **options):
        received = sms_receive(from_number=from_number, body=" ".join(body))
        self.stdout.write(f"{received.from_number}: {received.body!r} → {received.action}")
