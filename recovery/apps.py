from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Service recovery"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
