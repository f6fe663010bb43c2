"""Read-mostly admin: changes go through the services and the returns pages."""

from django.contrib import admin

from returns.models import (
    Refund,
    RefundLine,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    StoreCreditAccount,
    StoreCreditEntry,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    readonly_fields = ["order_line", "quantity", "outcome", "location", "inspected_by"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(ReadOnlyAdmin):
    list_display = ["version", "window_days", "published_at", "created_by"]


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "status", "reason", "source", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["order__number", "order__email"]
    inlines = [ReturnLineInline]


@admin.register(ReturnEvent)
class ReturnEventAdmin(ReadOnlyAdmin):
    list_display = ["return_request", "type", "actor", "created_at"]


class RefundLineInline(admin.TabularInline):
    model = RefundLine
    extra = 0
    can_delete = False
    readonly_fields = ["order_line", "quantity", "amount"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "amount", "method", "status", "created_at"]
    list_filter = ["status", "method"]
    search_fields = ["order__number", "provider_reference"]
    inlines = [RefundLineInline]


@admin.register(StoreCreditAccount)
class StoreCreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "balance", "currency"]


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["account", "amount", "balance_after", "created_at"]
