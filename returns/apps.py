from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = "Returns and refunds"

    def ready(self) -> None:
        from returns import readiness, receivers  # noqa: F401  (registers checks and receivers)
