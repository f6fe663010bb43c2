from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProcessesConfig(AppConfig):
    name = "opsdesk.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from opsdesk.processes import readiness  # noqa: F401  (registers the base checks)
        from opsdesk.processes.models import Process

        # A process saved or deleted: the cached target times are read again.
        post_save.connect(_targets_changed, sender=Process, dispatch_uid="process_saved")
        post_delete.connect(_targets_changed, sender=Process, dispatch_uid="process_deleted")


def _targets_changed(**kwargs) -> None:
    from opsdesk.core.cached import forget
    from opsdesk.processes.selectors import TARGETS_KEY

    forget(TARGETS_KEY)
