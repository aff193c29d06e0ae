from django.core.management.base import BaseCommand, CommandError

from reservations.audit import COMMAND, acting_as
from reservations.models import Guest
from reservations.services.privacy import erase_guest


class Command(BaseCommand):
    help = ("Erase a guest's personal data (name, phone, notes, message bodies, and their traces in the audit "
            "history); their bookings remain as anonymous counts. Cannot be undone.")

    def add_arguments(self, parser):
        parser.add_argument("guest_id", type=int)

    def handle(self, *args, guest_id: int, **options):
        guest = Guest.objects.filter(pk=guest_id).first()
        if guest is None:
            raise CommandError(f"No guest {guest_id}.")
        with acting_as(COMMAND):  # also when called from code (call_command), not through manage.py
            erased = erase_guest(guest)
        summary = ", ".join(f"{what} {count}" for what, count in erased.items() if count)
        self.stdout.write(self.style.SUCCESS(f"Guest {guest_id} erased ({summary or 'nothing else held'})."))
