from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the service: metrics, health, login protection, routing; no models."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from operations import logins  # noqa: F401  (connects the receivers)
