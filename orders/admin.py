"""Orders in Django's admin: read-mostly. Channels, shipping mappings, customers' fraud flags
and the fraud check's rules and thresholds are edited here; orders change only through the
services (the admin action calls one), and the timeline is never edited."""

from django.contrib import admin, messages

from orders.models import (
    Channel,
    Customer,
    FraudRule,
    FraudSettings,
    Order,
    OrderEvent,
    OrderLine,
    RiskAssessment,
    ShippingMethodMapping,
    WebhookDelivery,
)
from orders.services.review import order_bulk_approve_low_risk


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ShippingMethodMappingInline(admin.TabularInline):
    model = ShippingMethodMapping
    extra = 1


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "active", "auto_approve_low_risk")
    list_filter = ("kind", "active", "auto_approve_low_risk")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ShippingMethodMappingInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "channel", "topic", "signature_ok", "outcome", "order")
    list_filter = ("outcome", "signature_ok", "channel")
    search_fields = ("delivery_id", "dedup_key")
    exclude = ("body",)
    list_select_related = ("channel", "order")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "fraud_flag", "chargebacks")
    list_filter = ("fraud_flag",)
    search_fields = ("email", "first_name", "last_name")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "title", "variant", "quantity", "unit_price", "discount", "tax", "drop_ship")
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "type", "actor", "from_status", "to_status", "data")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "channel",
        "status",
        "risk_level",
        "risk_score",
        "total",
        "created_at",
    )
    list_filter = ("status", "risk_level", "channel", "fulfillment_method", "payment_status")
    search_fields = ("number", "email", "external_id")
    list_select_related = ("channel",)
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["approve_low_risk"]

    @admin.action(description="Approve the selected low-risk orders")
    def approve_low_risk(self, request, queryset):
        result = order_bulk_approve_low_risk(
            order_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        if result.approved:
            self.message_user(request, f"Approved {len(result.approved)} order(s).")
        for refusal in result.refused:
            self.message_user(request, str(refusal), level=messages.WARNING)


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "type", "actor", "from_status", "to_status")
    list_filter = ("type",)
    search_fields = ("order__number",)
    list_select_related = ("order", "actor")


@admin.register(FraudRule)
class FraudRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "weight", "enabled")
    list_editable = ("weight", "enabled")
    readonly_fields = ("code",)
    search_fields = ("code", "name")

    def has_add_permission(self, request) -> bool:
        # A rule is code: a row without a function behind it would do nothing.
        return False


@admin.register(FraudSettings)
class FraudSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "medium_threshold", "high_threshold")

    def has_add_permission(self, request) -> bool:
        return not FraudSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyAdmin):
    list_display = ("order", "score", "level", "assessed_at")
    list_filter = ("level",)
    list_select_related = ("order",)


from orders import admin_fulfillment  # noqa: E402,F401  (carriers, notices, shipments)
