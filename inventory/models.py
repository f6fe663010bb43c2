import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant, Vendor


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WAREHOUSE = "warehouse", "Warehouse"
        VENDOR = "vendor", "Vendor (drop ship)"

    # Web orders are reserved from these kinds; vendor locations are for drop ship.
    WEB_KINDS = (Kind.STORE, Kind.WAREHOUSE)

    name = models.CharField(
        max_length=120, unique=True, help_text="Matched to the POS export's location names."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    address = models.TextField(blank=True)
    is_pickup = models.BooleanField(default=False, help_text="Customers collect orders here.")
    web_priority = models.PositiveSmallIntegerField(
        default=100, help_text="Web orders take stock from the lowest number first."
    )
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.PROTECT)
    # The POS push endpoint authenticates a location by this token (only its hash is kept).
    push_token_hash = models.CharField(max_length=128, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["web_priority", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def serves_web(self) -> bool:
        return self.active and self.kind in self.WEB_KINDS


class StockLevel(models.Model):
    """On hand and reserved for one variant at one location; available = on hand - reserved."""

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    bin = models.CharField(max_length=40, blank=True, help_text="Where it sits, for picking.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["variant_id", "location__web_priority"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_one_per_place"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("reserved")), name="stock_available_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.location}: {self.on_hand} on hand, {self.reserved} held"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One change of stock: immutable, with its reason and source. Sums give the levels."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", "Received"
        RESERVE = "reserve", "Reserved"
        RELEASE = "release", "Released"
        SHIP = "ship", "Shipped"
        RETURN_RESTOCK = "return_restock", "Returned to stock"
        ADJUST = "adjust", "Adjusted"
        TRANSFER_OUT = "transfer_out", "Transferred out"
        TRANSFER_IN = "transfer_in", "Transferred in"
        POS_SYNC = "pos_sync", "POS sync"

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "location", "-created_at"]),
            models.Index(fields=["source_type", "source_id"], name="movement_source"),
        ]

    def __str__(self) -> str:
        deltas = f"{self.on_hand_delta:+d}/{self.reserved_delta:+d}"
        return f"{self.get_kind_display()} {deltas} {self.variant.sku}"


class Reservation(models.Model):
    """Units held at one location for one demand (an order line, a pick-list hold)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        SHIPPED = "shipped", "Shipped"
        EXPIRED = "expired", "Expired"
        BACKORDERED = "backordered", "Moved to backorder"

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # The demand, e.g. an order line; generic so inventory never imports orders.
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    reference = models.CharField(max_length=120, blank=True, help_text="e.g. the order number.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__lte=F("quantity")),
                name="reservation_shipped_within_quantity",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry",
            ),
            models.Index(
                fields=["variant", "location", "-created_at"],
                condition=Q(status="active"),
                name="reservation_active_level",
            ),
            models.Index(fields=["source_type", "source_id"], name="reservation_source"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant.sku} @ {self.location} ({self.status})"

    @property
    def remaining(self) -> int:
        """Units still held: reserved and not yet shipped."""
        return self.quantity - self.quantity_shipped

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class Backorder(models.Model):
    """Demand that could not be reserved, waiting in the out-of-stock queue."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING_FOR_PO = "waiting_for_po", "Waiting for a purchase order"
        CUSTOMER_CONTACTED = "customer_contacted", "Customer contacted"
        SUBSTITUTED = "substituted", "Substituted"
        CANCELLED = "cancelled", "Line cancelled"
        RESERVED = "reserved", "Reserved"

    # Still waiting for stock or a decision; the other statuses are final.
    PENDING = (Status.OPEN, Status.WAITING_FOR_PO, Status.CUSTOMER_CONTACTED)
    ALLOWED_TRANSITIONS = {
        Status.OPEN: (
            Status.WAITING_FOR_PO,
            Status.CUSTOMER_CONTACTED,
            Status.SUBSTITUTED,
            Status.CANCELLED,
            Status.RESERVED,
        ),
        Status.WAITING_FOR_PO: (
            Status.WAITING_FOR_PO,
            Status.CUSTOMER_CONTACTED,
            Status.SUBSTITUTED,
            Status.CANCELLED,
            Status.RESERVED,
        ),
        Status.CUSTOMER_CONTACTED: (
            Status.WAITING_FOR_PO,
            Status.CUSTOMER_CONTACTED,
            Status.SUBSTITUTED,
            Status.CANCELLED,
            Status.RESERVED,
        ),
        Status.SUBSTITUTED: (),
        Status.CANCELLED: (),
        Status.RESERVED: (),
    }

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="backorders")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.OPEN)
    # The lines of one order that were backordered together; they are reserved together.
    group = models.UUIDField(default=uuid.uuid4, db_index=True)
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    reference = models.CharField(max_length=120, blank=True)
    note = models.TextField(blank=True)
    substitute = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The reservation made for it: from arriving stock, or of the substitute.
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purchase_order = models.ForeignKey(
        "PurchaseOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backorders",
        help_text="The purchase order it waits for.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="backorder_quantity_positive"),
        ]
        indexes = [
            models.Index(
                fields=["variant", "created_at"],
                condition=Q(status__in=["open", "waiting_for_po", "customer_contacted"]),
                name="backorder_pending_by_variant",
            ),
        ]

    def __str__(self) -> str:
        return f"Backorder {self.quantity} × {self.variant.sku} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:backorder_detail", kwargs={"backorder_id": self.pk})

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class BackorderEvent(models.Model):
    """Append-only timeline of a backorder line."""

    class Type(models.TextChoices):
        CREATED = "created", "Backordered"
        PO_AWAITED = "po_awaited", "Waiting for a purchase order"
        CUSTOMER_CONTACTED = "customer_contacted", "Customer contacted"
        SUBSTITUTED = "substituted", "Substituted"
        CANCELLED = "cancelled", "Line cancelled"
        RESERVED = "reserved", "Reserved"

    backorder = models.ForeignKey(Backorder, related_name="events", on_delete=models.CASCADE)
    type = models.CharField(max_length=40, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.backorder}: {self.get_type_display()}"


class LowStockAlert(models.Model):
    """One alert per variant per local day, so staff hear of it once, not on every sale."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="low_stock_alerts")
    day = models.DateField()
    available = models.IntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "day"], name="lowstock_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"Low stock {self.variant_id} on {self.day}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent to vendor"
        PARTIAL = "partial", "Partly received"
        RECEIVED = "received", "Received"
        CLOSED = "closed", "Closed"

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", help_text="Where the goods arrive."
    )
    number = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    expected_at = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"PO {self.number} ({self.vendor})"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "variant"], name="poline_one_per_sku"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_received}/{self.quantity_ordered} × {self.variant_id}"


class ReceivingDiscrepancy(models.Model):
    class Kind(models.TextChoices):
        OVER = "over", "More than ordered"
        UNDER = "under", "Fewer than ordered"
        UNKNOWN = "unknown", "Unknown item"

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="discrepancies"
    )
    line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    scanned_code = models.CharField(max_length=64, blank=True)
    expected = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    note = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.scanned_code or self.line_id}"


class PosSyncRun(models.Model):
    """One POS file: uploaded, previewed, then applied atomically (or refused whole)."""

    class Format(models.TextChoices):
        SQUARE = "square", "Square item library export"
        PLAIN = "plain", "Plain CSV (sku, location, quantity, price)"
        PUSH = "push", "JSON push"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREVIEWING = "previewing", "Reading"
        PREVIEWED = "previewed", "Preview ready"
        APPLYING = "applying", "Applying"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    file = models.FileField(upload_to="pos-sync/%Y/%m/", blank=True)
    format = models.CharField(max_length=20, choices=Format.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    preview = models.JSONField(default=dict, blank=True)
    error_row = models.PositiveIntegerField(null=True, blank=True)
    error_column = models.CharField(max_length=120, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"POS sync {self.pk} ({self.get_status_display()})"


class PosPushKey(models.Model):
    """An Idempotency-Key a POS sent to the push endpoint, with the answer it got (24 h)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    body_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "key"], name="pospush_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id}: {self.key}"
