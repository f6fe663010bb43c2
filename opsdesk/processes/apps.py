from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "opsdesk.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from opsdesk.processes import readiness  # noqa: F401  (registers the base checks)
