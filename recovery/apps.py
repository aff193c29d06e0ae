from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Service recovery"

    def ready(self) -> None:
        from . import receivers  # noqa: F401

        # Recovery builds on the book, never the reverse: it plugs its offers into the book's seams here.
        from .hooks import offers_plug_in, privacy_plug_in

        offers_plug_in()
        privacy_plug_in()
