from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Vendor(models.Model):
    """Who the store buys from; a vendor that drop ships sends web orders itself."""

    name = models.CharField(max_length=150, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    drop_ships = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        DISCONTINUED = "discontinued", "Discontinued"
        ARCHIVED = "archived", "Archived"

    ALLOWED_TRANSITIONS = {
        Status.DRAFT: (Status.ACTIVE, Status.ARCHIVED),
        Status.ACTIVE: (Status.DISCONTINUED, Status.ARCHIVED, Status.DRAFT),
        Status.DISCONTINUED: (Status.ARCHIVED, Status.ACTIVE),
        Status.ARCHIVED: (Status.DRAFT,),
    }

    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, help_text="Rich text, sanitized when saved.")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    published = models.BooleanField(default=False, help_text="Shown on the web store.")
    published_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_products",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(published=True) | Q(status="active"),
                name="product_published_only_when_active",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"pk": self.pk})


class Variant(models.Model):
    """A sellable item: one SKU. Quantity and price come from the POS; the web owns the rest."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(
        max_length=14, blank=True, db_index=True, help_text="GTIN-8, UPC-A (12), EAN-13 or GTIN-14."
    )
    option_values = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"Size": "M", "Colour": "Blue"}'
    )
    retail_price = models.DecimalField(
        **MONEY, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    compare_at_price = models.DecimalField(**MONEY, null=True, blank=True)
    unit_cost = models.DecimalField(**MONEY, null=True, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    low_stock_threshold = models.PositiveIntegerField(default=0)
    # As the POS last reported it, for the accuracy checks.
    pos_name = models.CharField(max_length=255, blank=True)
    pos_price = models.DecimalField(**MONEY, null=True, blank=True)
    pos_archived = models.BooleanField(default=False)
    pos_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retail_price__gte=0), name="variant_price_not_negative"
            ),
            models.UniqueConstraint(
                fields=["barcode"], condition=~Q(barcode=""), name="variant_barcode_unique"
            ),
        ]

    def __str__(self) -> str:
        options = " / ".join(str(v) for v in self.option_values.values())
        return f"{self.sku} {self.product.title}{' — ' + options if options else ''}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/")
    thumbnail = models.ImageField(upload_to="products/thumbs/%Y/%m/", blank=True)
    alt_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product", "position", "id"]

    def __str__(self) -> str:
        return self.alt_text or self.image.name


class ProductEvent(models.Model):
    """Append-only timeline of a product."""

    class Type(models.TextChoices):
        CREATED = "created", "Created"
        STATUS_CHANGED = "status_changed", "Status changed"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Unpublished"
        PUBLISH_REFUSED = "publish_refused", "Publish refused"
        EDITED = "edited", "Edited"
        CLAIMED = "claimed", "Claimed"
        VERIFIED = "verified", "Verified"
        POS_UPDATED = "pos_updated", "Updated from the POS"

    product = models.ForeignKey(Product, related_name="events", on_delete=models.CASCADE)
    type = models.CharField(max_length=40, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.product}: {self.get_type_display()}"


class AccuracySnapshot(models.Model):
    """The catalog's POS-vs-web accuracy at one moment, with the process owner's sign-off."""

    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    variants_checked = models.PositiveIntegerField()
    variants_accurate = models.PositiveIntegerField()
    score = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent accurate.")
    differences = models.JSONField(default=dict, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"{self.score}% on {self.taken_at:%Y-%m-%d}"
