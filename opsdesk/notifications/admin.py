"""Read-only admin: notifications, deliveries and settings change only through services."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from opsdesk.notifications.models import (
    EmailDelivery,
    MailTest,
    Notification,
    NotificationPreference,
)
from opsdesk.notifications.services import delivery_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["subject", "recipient", "process", "created_at", "read_at"]
    list_filter = ["process", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient", "process"]
    search_fields = ["subject", "recipient__username", "recipient__email"]
    date_hierarchy = "created_at"


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "to",
        "subject",
        "mode",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "mode"]
    list_select_related = ["notification"]
    search_fields = ["to", "notification__subject", "message_id"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.display(description="Subject")
    def subject(self, obj: EmailDelivery) -> str:
        return obj.notification.subject

    # The rows themselves stay read-only; retrying is for those with the change permission.
    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_emaildelivery")

    @admin.action(description="Retry now (failed deliveries)", permissions=["retry"])
    def retry_now(self, request, queryset) -> None:
        retried = skipped = 0
        for delivery_id in queryset.values_list("pk", flat=True):
            try:
                delivery_retry(delivery_id=delivery_id, actor=request.user)
            except ValidationError:
                skipped += 1
            else:
                retried += 1
        self.message_user(request, f"{retried} queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: only failed deliveries are retried.", messages.WARNING
            )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "process", "mode", "updated_at"]
    list_filter = ["mode", "process"]
    list_select_related = ["user", "process"]
    search_fields = ["user__username", "user__email"]


@admin.register(MailTest)
class MailTestAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "to", "ok", "actor", "error"]
    list_filter = ["ok"]
    list_select_related = ["actor"]
