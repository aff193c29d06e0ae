from django.apps import AppConfig


class ReservationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reservations"
    verbose_name = "Reservation book"

    def ready(self) -> None:
        from . import audit_receivers, signals  # noqa: F401
