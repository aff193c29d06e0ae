from django.core.management.base import BaseCommand

from reservations.services.demo import demo_restaurant_reset, demo_users_reset, steakhouse_reset

DEFAULT_PASSWORD = "samna-demo"


class Command(BaseCommand):
    help = ("Create (or reset) the demo restaurants Samna and The Steakhouse, and the users host, manager, admin, "
            "steak-host and steak-manager.")

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help=f"password for all the demo users "
                            f"(default {DEFAULT_PASSWORD!r})")

    def handle(self, *args, password: str, **options):
        for restaurant in (demo_restaurant_reset(), steakhouse_reset()):
            self.stdout.write(self.style.SUCCESS(f"Demo restaurant {restaurant.name!r} (slug {restaurant.slug!r}) "
                                                 "is ready."))
        demo_users_reset(password=password)
        self.stdout.write(f"Users host, manager and admin (Samna), steak-host and steak-manager (The Steakhouse), "
                          f"password: {password}")
