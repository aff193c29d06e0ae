from django.core.management.base import BaseCommand
from django.utils import timezone

from reservations.services.demo import (
    EVENING,
    SATURDAY_FULL_AT,
    coming_saturday,
    demo_book_seed,
    demo_restaurant_reset,
    demo_users_reset,
    steakhouse_reset,
)

DEFAULT_PASSWORD = "samna-demo"


class Command(BaseCommand):
    help = ("Create (or reset) the demo restaurants Samna and The Steakhouse, and the users host, manager, admin, "
            "steak-host, steak-manager and duo; book Samna's evening tonight and the coming Saturday (full at 20:00).")

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help=f"password for all the demo users "
                            f"(default {DEFAULT_PASSWORD!r})")
        parser.add_argument("--empty", action="store_true", help="leave Samna's book empty")

    def handle(self, *args, password: str, empty: bool, **options):
        samna = demo_restaurant_reset()
        for restaurant in (samna, steakhouse_reset()):
            self.stdout.write(self.style.SUCCESS(f"Demo restaurant {restaurant.name!r} (slug {restaurant.slug!r}) "
                                                 "is ready."))
        demo_users_reset(password=password)
        self.stdout.write(f"Users host, manager and admin (Samna), steak-host and steak-manager (The Steakhouse), "
                          f"duo (manager at The Steakhouse, host at Samna), password: {password}")
        if empty:
            return
        today = timezone.localdate(timezone=samna.tz)
        saturday = coming_saturday(today)
        if today != saturday:
            demo_book_seed(samna, day=today)
            self.stdout.write(f"Samna's book tonight ({today:%a %d %b}): {len(EVENING)} bookings.")
        booked = demo_book_seed(samna, day=saturday, full=True)
        self.stdout.write(f"Samna's book on Saturday {saturday:%d %b}: {len(booked)} bookings, full for two at "
                          f"{SATURDAY_FULL_AT}.")
