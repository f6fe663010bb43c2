from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from catalog.validators import validate_gtin

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

    # A discontinued product stays on the web while its stock lasts (then inventory calls
    # catalog.services.product_sold_out_unpublish); only an active one can be published anew.
    PUBLISHABLE_STATUSES = (Status.ACTIVE, Status.DISCONTINUED)

    ALLOWED_TRANSITIONS = {
        Status.DRAFT: (Status.ACTIVE, Status.ARCHIVED),
        Status.ACTIVE: (Status.DISCONTINUED, Status.ARCHIVED, Status.DRAFT),
        Status.DISCONTINUED: (Status.ARCHIVED, Status.ACTIVE),
        Status.ARCHIVED: (Status.DRAFT,),
    }

    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, help_text="Rich text, sanitized when saved.")
    # Characters of text in the description once tags are stripped, kept by the services
    # whenever they save a description, so lists can apply the web-ready rule in SQL.
    description_chars = models.PositiveIntegerField(default=0, editable=False)
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
    created_from = models.CharField(
        max_length=40, blank=True, help_text="Where it came from: pos_sync, receiving, staff ..."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(published=True) | Q(status__in=["active", "discontinued"]),
                name="product_published_only_when_sellable",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"product_id": self.pk})


class Variant(models.Model):
    """A sellable item: one SKU. Quantity and price come from the POS; the web owns the rest."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(
        max_length=14,
        blank=True,
        db_index=True,
        validators=[validate_gtin],
        help_text="GTIN-8, UPC-A (12), EAN-13 or GTIN-14.",
    )
    option_values = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"Size": "M", "Colour": "Blue"}'
    )
    retail_price = models.DecimalField(
        **MONEY, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    compare_at_price = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    unit_cost = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
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
        options = self.options_label
        return f"{self.sku} {self.product.title}{' — ' + options if options else ''}"

    def clean(self) -> None:
        if (
            self.compare_at_price is not None
            and self.retail_price is not None
            and self.compare_at_price <= self.retail_price
        ):
            raise ValidationError(
                {
                    "compare_at_price": (
                        f"The compare-at price ({self.compare_at_price}) must be above the "
                        f"retail price ({self.retail_price}), or left empty."
                    )
                }
            )

    @property
    def options_label(self) -> str:
        values = self.option_values.values() if isinstance(self.option_values, dict) else ()
        return " / ".join(str(v) for v in values)


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
        VARIANT_ADDED = "variant_added", "Variant added"
        VARIANT_EDITED = "variant_edited", "Variant edited"
        IMAGE_ADDED = "image_added", "Image added"
        IMAGE_REMOVED = "image_removed", "Image removed"
        VERIFICATION_CLEARED = "verification_cleared", "Verification cleared"

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
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when taken by the scheduled check.",
    )
    variants_checked = models.PositiveIntegerField()
    variants_accurate = models.PositiveIntegerField()
    score = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent accurate.")
    differences = models.JSONField(default=dict, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(variants_accurate__lte=F("variants_checked")),
                name="accuracy_accurate_within_checked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score}% on {self.taken_at:%Y-%m-%d}"

    @property
    def variants_different(self) -> int:
        return self.variants_checked - self.variants_accurate
