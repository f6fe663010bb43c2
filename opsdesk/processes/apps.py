from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "opsdesk.processes"
    label = "processes"
    verbose_name = "Processes"
