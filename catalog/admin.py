"""Catalog admin: read-mostly. Saves and actions go through the services, so the timeline
records them and descriptions are sanitized; images are uploaded on the product page, where
they are checked."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from catalog import services
from catalog.exceptions import PublishRefused
from catalog.models import (
    AccuracySnapshot,
    Category,
    Product,
    ProductEvent,
    ProductImage,
    Variant,
    Vendor,
)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "drop_ships"]
    list_filter = ["drop_ships"]
    search_fields = ["name", "email"]


class ProductImageInline(ReadOnlyMixin, admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["preview", "alt_text", "position", "image", "created_at"]
    readonly_fields = fields

    @admin.display(description="Thumbnail")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk:
            return ""
        return format_html(
            '<img src="{}" alt="" width="80" height="80">',
            reverse("catalog:image_thumbnail", args=[obj.pk]),
        )


class VariantInline(ReadOnlyMixin, admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "barcode", "option_values", "retail_price", "compare_at_price"]
    readonly_fields = fields
    show_change_link = True


class ProductEventInline(ReadOnlyMixin, admin.TabularInline):
    model = ProductEvent
    extra = 0
    fields = ["created_at", "type", "actor", "from_status", "to_status", "data"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]


@admin.action(description="Publish the selected products (web-ready and active only)")
def publish_products(modeladmin, request, queryset) -> None:
    done = 0
    for product in queryset:
        try:
            services.product_publish(product_id=product.pk, actor=request.user)
        except PublishRefused as exc:
            modeladmin.message_user(
                request, f"{product.title}: {' '.join(exc.reasons)}", messages.WARNING
            )
        else:
            done += 1
    modeladmin.message_user(request, f"Published {done} product(s).")


@admin.action(description="Unpublish the selected products")
def unpublish_products(modeladmin, request, queryset) -> None:
    for product in queryset:
        services.product_unpublish(product_id=product.pk, actor=request.user, reason="admin")
    modeladmin.message_user(request, f"Unpublished {queryset.count()} product(s).")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "published", "category", "vendor", "verified_at"]
    list_filter = ["status", "published", "category", "vendor"]
    list_select_related = ["category", "vendor"]
    search_fields = ["title", "variants__sku", "variants__barcode"]
    fields = [
        "title",
        "description",
        "category",
        "vendor",
        "status",
        "published",
        "published_at",
        "description_chars",
        "claimed_by",
        "verified_at",
        "verified_by",
        "created_from",
        "created_at",
    ]
    readonly_fields = [
        "status",
        "published",
        "published_at",
        "description_chars",
        "claimed_by",
        "verified_at",
        "verified_by",
        "created_from",
        "created_at",
    ]
    inlines = [VariantInline, ProductImageInline, ProductEventInline]
    actions = [publish_products, unpublish_products]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Products are archived, not deleted: orders and stock movements refer to them.
        return False

    def save_model(self, request, obj: Product, form, change: bool) -> None:
        kwargs = {
            "title": obj.title,
            "description": obj.description,
            "category_id": obj.category_id,
            "vendor_id": obj.vendor_id,
            "actor": request.user,
        }
        try:
            if change:
                saved = services.product_update(product_id=obj.pk, **kwargs)
            else:
                saved = services.product_create(source="admin", **kwargs)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "barcode", "retail_price", "pos_price", "pos_synced_at"]
    list_select_related = ["product"]
    search_fields = ["sku", "barcode", "product__title"]
    readonly_fields = ["product", "pos_name", "pos_price", "pos_archived", "pos_synced_at"]

    def has_add_permission(self, request) -> bool:
        return False  # variants are added on their product's page

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Variant, form, change: bool) -> None:
        try:
            services.variant_update(
                variant_id=obj.pk,
                sku=obj.sku,
                barcode=obj.barcode,
                option_values=obj.option_values,
                retail_price=obj.retail_price,
                compare_at_price=obj.compare_at_price,
                unit_cost=obj.unit_cost,
                weight_grams=obj.weight_grams,
                low_stock_threshold=obj.low_stock_threshold,
                actor=request.user,
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)


@admin.register(ProductEvent)
class ProductEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "product", "type", "actor", "from_status", "to_status"]
    list_filter = ["type"]
    list_select_related = ["product", "actor"]
    search_fields = ["product__title"]


@admin.register(ProductImage)
class ProductImageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["product", "alt_text", "position", "created_at"]
    list_select_related = ["product"]


@admin.register(AccuracySnapshot)
class AccuracySnapshotAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["taken_at", "score", "variants_checked", "variants_accurate", "signed_off_by"]
    list_select_related = ["signed_off_by"]
