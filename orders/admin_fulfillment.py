"""Fulfillment in Django's admin: carriers and the customer e-mail templates are edited here;
shipments, pick lists and sent e-mails are read-only (they change through the services; the
resend action calls one). Imported by orders/admin.py."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError, engines

from orders.models import (
    Carrier,
    CustomerNotice,
    NoticeTemplate,
    PickList,
    Shipment,
    ShipmentEvent,
    ShipmentLine,
)
from orders.services.notices import customer_notice_resend


class _ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = ("name", "code", "tracking_url_template", "active", "position")

    def clean_tracking_url_template(self) -> str:
        template = self.cleaned_data["tracking_url_template"].strip()
        if "{tracking}" not in template:
            raise ValidationError("Put {tracking} where the tracking number goes.")
        if not template.startswith("https://"):
            raise ValidationError("A tracking page's address starts with https://.")
        return template


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    form = CarrierForm
    list_display = ("name", "code", "tracking_url_template", "active", "position")
    list_editable = ("active", "position")
    prepopulated_fields = {"code": ("name",)}


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ("kind", "subject", "body_text", "body_html")
        help_texts = {
            "body_text": "Django template. Context: store_name, site_url, order, shipment, "
            "lines (title, sku, quantity), carrier, tracking_url.",
        }

    def clean(self):
        cleaned = super().clean()
        engine = engines["django"]
        for name in ("subject", "body_text", "body_html"):
            try:
                engine.from_string(cleaned.get(name) or "")
            except TemplateSyntaxError as exc:
                self.add_error(name, f"This template does not compile: {exc}")
        return cleaned


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    form = NoticeTemplateForm
    list_display = ("kind", "subject", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CustomerNotice)
class CustomerNoticeAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "order__number")
    list_select_related = ("order",)
    raw_id_fields = ("order", "shipment")
    actions = ("resend",)

    @admin.action(description="Send the selected e-mails again")
    def resend(self, request, queryset) -> None:
        done = 0
        for notice_id in queryset.values_list("pk", flat=True):
            try:
                customer_notice_resend(notice_id=notice_id, actor=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
        if done:
            self.message_user(request, f"{done} e-mail(s) will be sent again.", messages.SUCCESS)


class ShipmentLineInline(_ReadOnly, admin.TabularInline):
    model = ShipmentLine
    extra = 0
    fields = ("variant", "order_line", "quantity", "quantity_picked", "quantity_packed")
    readonly_fields = fields


class ShipmentEventInline(_ReadOnly, admin.TabularInline):
    model = ShipmentEvent
    extra = 0
    fields = ("created_at", "type", "actor", "from_status", "to_status", "note")
    readonly_fields = fields


@admin.register(Shipment)
class ShipmentAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("number", "method", "status", "location", "carrier", "tracking_number")
    list_filter = ("status", "method", "location")
    search_fields = ("number", "tracking_number", "order__number")
    list_select_related = ("location", "carrier")
    inlines = (ShipmentLineInline, ShipmentEventInline)


@admin.register(PickList)
class PickListAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("__str__", "location", "status", "created_by", "created_at")
    list_filter = ("status", "location")
