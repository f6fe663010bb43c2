from django.contrib import admin

from opsdesk.processes.models import (
    Process,
    ProcessEvent,
    Shift,
    ShiftChange,
    WatchedHours,
    WorkItem,
)


class WatchedHoursInline(admin.TabularInline):
    model = WatchedHours
    extra = 0


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner_role",
        "primary",
        "backup",
        "target_minutes",
        "review_every_days",
    ]
    list_select_related = ["owner_role", "primary", "backup"]
    filter_horizontal = ["assignees"]
    readonly_fields = ["key", "last_reviewed_at", "updated_at"]
    inlines = [WatchedHoursInline]

    def has_add_permission(self, request) -> bool:
        # The catalogue is the business's list of processes, seeded by a migration.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProcessEvent)
class ProcessEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "process", "type", "actor"]
    list_filter = ["type", "process"]
    list_select_related = ["process", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ["user", "weekday", "start", "end"]
    list_filter = ["weekday"]
    list_select_related = ["user"]


@admin.register(ShiftChange)
class ShiftChangeAdmin(admin.ModelAdmin):
    list_display = ["date", "user", "kind", "start", "end", "note"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    date_hierarchy = "date"


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ["title", "process", "status", "due_at", "escalation", "claimed_by"]
    list_filter = ["status", "process", "escalation"]
    list_select_related = ["process", "claimed_by"]
    readonly_fields = ["source_type", "source_id", "created_at", "closed_at", "escalation"]
