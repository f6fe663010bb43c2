from django.contrib import admin

from opsdesk.dashboard.models import DailySummarySchedule


@admin.register(DailySummarySchedule)
class DailySummaryScheduleAdmin(admin.ModelAdmin):
    """Read-only: the schedule is edited on the dashboard, through its service."""

    list_display = ["__str__", "send_at", "enabled", "updated_by", "updated_at"]
    readonly_fields = ["send_at", "enabled", "updated_by", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
