from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "opsdesk.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
