from django.core.management.base import BaseCommand

from reservations.services.demo import demo_restaurant_reset, demo_users_reset

DEFAULT_PASSWORD = "samna-demo"


class Command(BaseCommand):
    help = "Create (or reset) the demo restaurant Samna and the users host, manager and admin."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help=f"password for all three users "
                            f"(default {DEFAULT_PASSWORD!r})")

    def handle(self, *args, password: str, **options):
        samna = demo_restaurant_reset()
        demo_users_reset(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo restaurant {samna.name!r} (slug {samna.slug!r}) is ready."))
        self.stdout.write(f"Users host, manager and admin, password: {password}")
