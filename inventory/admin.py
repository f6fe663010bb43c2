"""Admin for stock: locations are edited here; stock levels, movements, reservations and
backorders are read-only (they change only through the services, which write the ledger)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from inventory.models import (
    Backorder,
    BackorderEvent,
    Location,
    LowStockAlert,
    Reservation,
    StockLevel,
    StockMovement,
)
from inventory.services import stock_release


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "web_priority", "is_pickup", "active", "vendor"]
    list_editable = ["web_priority", "active"]
    list_filter = ["kind", "active", "is_pickup"]
    search_fields = ["name"]
    exclude = ["push_token_hash"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A location with stock or history is kept: set it inactive instead.
        return False


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["variant", "location", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["location"]
    list_select_related = ["variant__product", "location"]
    search_fields = ["variant__sku", "variant__product__title"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "variant",
        "location",
        "on_hand_delta",
        "reserved_delta",
        "reason",
        "actor",
    ]
    list_filter = ["kind", "location"]
    list_select_related = ["variant__product", "location", "actor"]
    search_fields = ["variant__sku", "reason"]
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "variant",
        "location",
        "quantity",
        "quantity_shipped",
        "status",
        "reference",
        "expires_at",
        "created_at",
    ]
    list_filter = ["status", "location"]
    list_select_related = ["variant__product", "location"]
    search_fields = ["variant__sku", "reference"]
    date_hierarchy = "created_at"
    actions = ["release"]

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_reservation")

    @admin.action(description="Release (give the units back to stock)", permissions=["release"])
    def release(self, request, queryset) -> None:
        released = refused = 0
        for reservation_id in queryset.values_list("pk", flat=True):
            try:
                stock_release(
                    reservation_id=reservation_id, actor=request.user, reason="Released in admin"
                )
            except ValidationError:
                refused += 1
            else:
                released += 1
        self.message_user(request, f"{released} released.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"{refused} refused: shipped or backordered.", messages.WARNING
            )


class BackorderEventInline(admin.TabularInline):
    model = BackorderEvent
    extra = 0
    fields = ["created_at", "type", "from_status", "to_status", "actor", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Backorder)
class BackorderAdmin(ReadOnlyAdmin):
    list_display = ["id", "variant", "quantity", "status", "reference", "created_at"]
    list_filter = ["status"]
    list_select_related = ["variant__product"]
    search_fields = ["variant__sku", "reference"]
    date_hierarchy = "created_at"
    inlines = [BackorderEventInline]


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdmin):
    list_display = ["variant", "day", "available", "created_at"]
    list_select_related = ["variant__product"]
    search_fields = ["variant__sku"]
    date_hierarchy = "day"
