from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from inventory.models import Location

MONEY = {"max_digits": 12, "decimal_places": 2}
# The review queue's filters, carried in its indexes (see Order.Meta.indexes).
QUEUE_FILTER_FIELDS = ["risk_level", "channel", "fulfillment_method"]
ZERO = Decimal("0.00")


class Channel(models.Model):
    """One web store sending orders, with the secret(s) its webhooks are signed with."""

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        GENERIC = "generic", "Generic JSON"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    secret = models.CharField(max_length=255)
    # A rotated secret stays valid until this moment, so deliveries in flight still verify.
    previous_secret = models.CharField(max_length=255, blank=True)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True)
    auto_approve_low_risk = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ShippingMethodMapping(models.Model):
    """How a channel's shipping line (method id, code or source) maps to a fulfillment method."""

    class Method(models.TextChoices):
        SHIP = "ship", "Ship"
        STORE_PICKUP = "store_pickup", "Store pickup"
        LOCAL_DELIVERY = "local_delivery", "Local delivery"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="method_mappings")
    match_value = models.CharField(
        max_length=120, help_text="WooCommerce method_id, or Shopify shipping line code/source."
    )
    method = models.CharField(max_length=20, choices=Method.choices)
    pickup_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["channel", "match_value"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "match_value"], name="mapping_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.slug}: {self.match_value} → {self.method}"


class WebhookDelivery(models.Model):
    """The intake log: every delivery as it arrived, stored before anything is built from it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted, waiting to be built"
        BUILT = "built", "Order built or updated"
        DUPLICATE = "duplicate", "Duplicate, ignored"
        IGNORED = "ignored", "Ignored (ping, not an order, or older data)"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed while building"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    topic = models.CharField(max_length=60, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64)
    signature_ok = models.BooleanField(default=False)
    delivery_id = models.CharField(max_length=200, blank=True)
    dedup_key = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedup_key"],
                condition=~Q(dedup_key=""),
                name="delivery_dedup_once",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel.slug} {self.topic} {self.received_at:%Y-%m-%d %H:%M:%S}"


class Customer(models.Model):
    email = models.EmailField(unique=True, help_text="Stored lower-case; orders match on it.")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    fraud_flag = models.BooleanField(default=False)
    chargebacks = models.PositiveSmallIntegerField(default=0)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else self.email


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        AWAITING_REVIEW = "awaiting_review", "Awaiting review"
        ON_HOLD = "on_hold", "On hold"
        APPROVED = "approved", "Approved"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partly fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"

    ALLOWED_TRANSITIONS = {
        Status.RECEIVED: (
            Status.AWAITING_REVIEW,
            Status.ON_HOLD,
            Status.APPROVED,
            Status.CANCELLED,
        ),
        Status.AWAITING_REVIEW: (Status.APPROVED, Status.ON_HOLD, Status.CANCELLED),
        Status.ON_HOLD: (Status.AWAITING_REVIEW, Status.APPROVED, Status.CANCELLED),
        Status.APPROVED: (Status.PARTIALLY_FULFILLED, Status.FULFILLED, Status.CANCELLED),
        # Fulfillment moves these as shipments leave; what has not left can still be cancelled.
        Status.PARTIALLY_FULFILLED: (Status.FULFILLED, Status.CANCELLED),
        Status.FULFILLED: (),
        Status.CANCELLED: (),
    }

    class PaymentStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHORIZED = "authorized", "Authorized"
        PAID = "paid", "Paid"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"
        REFUND_DUE = "refund_due", "To be refunded"

    class Method(models.TextChoices):
        SHIP = "ship", "Ship"
        STORE_PICKUP = "store_pickup", "Store pickup"
        LOCAL_DELIVERY = "local_delivery", "Local delivery"
        DROP_SHIP = "drop_ship", "Drop ship"
        UNKNOWN = "unknown", "Unknown (needs review)"

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Web store"
        CSV = "csv", "CSV import"
        PHONE = "phone", "Entered by staff"

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.WEBHOOK)
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The web store's own id of the order."
    )
    number = models.CharField(max_length=60, help_text="The order number customers see.")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    discount_total = models.DecimalField(**MONEY, default=ZERO)
    shipping_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    taxes_included = models.BooleanField(default=False)
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    payment_gateway = models.CharField(max_length=60, blank=True)
    avs_result = models.CharField(max_length=10, blank=True)
    cvv_result = models.CharField(max_length=10, blank=True)
    card_fingerprint = models.CharField(
        max_length=120, blank=True, help_text="e.g. card brand and last four, for velocity."
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    shipping_line = models.JSONField(
        default=dict, blank=True, help_text="The delivery data as received."
    )
    fulfillment_method = models.CharField(
        max_length=20, choices=Method.choices, default=Method.UNKNOWN
    )
    pickup_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    review_reasons = models.JSONField(
        default=list, blank=True, help_text="Why the order waits for a person."
    )
    hold_reason = models.CharField(max_length=255, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_orders",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    risk_score = models.IntegerField(null=True, blank=True)
    risk_level = models.CharField(max_length=10, blank=True, db_index=True)
    placed_at = models.DateTimeField(default=timezone.now)
    # The web store's modification time of the data we hold; older updates never overwrite it.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="order_once_per_channel",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            # The review queue: one status, oldest first. The filters' columns come last,
            # so a filtered page and its count read the index only. (Key columns rather
            # than INCLUDE, which SQLite, the embedded default, does not support.)
            models.Index(
                fields=["status", "created_at", "id", *QUEUE_FILTER_FIELDS],
                name="order_queue",
            ),
            # The same for "any status".
            models.Index(
                fields=["created_at", "id", "status", *QUEUE_FILTER_FIELDS],
                name="order_list",
            ),
            # A filtered queue (risk, then channel, then method): its rows and its count
            # read only the filtered orders, not every order of the status.
            models.Index(
                fields=["status", *QUEUE_FILTER_FIELDS, "created_at", "id"],
                name="order_queue_filtered",
            ),
            models.Index(fields=["email", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"pk": self.pk})

    @property
    def in_review(self) -> bool:
        """Still before approval: lines and the method may be corrected by hand."""
        return self.status in (
            self.Status.RECEIVED,
            self.Status.AWAITING_REVIEW,
            self.Status.ON_HOLD,
        )


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=100, blank=True)
    variant = models.ForeignKey(
        Variant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
        help_text="Empty while the SKU is unknown: matched by hand.",
    )
    sku = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=ZERO, help_text="For the whole line.")
    tax = models.DecimalField(**MONEY, default=ZERO, help_text="For the whole line.")
    drop_ship = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


class OrderEvent(models.Model):
    """The order's timeline: every transition and note, with who and when. Append-only."""

    class Type(models.TextChoices):
        RECEIVED = "received", "Received"
        UPDATED = "updated", "Updated from the web store"
        RISK_ASSESSED = "risk_assessed", "Risk assessed"
        SENT_TO_REVIEW = "sent_to_review", "Sent to review"
        CLAIMED = "claimed", "Claimed"
        APPROVED = "approved", "Approved"
        AUTO_APPROVED = "auto_approved", "Approved automatically"
        HELD = "held", "Held"
        RELEASED = "released", "Back to review"
        CANCELLED = "cancelled", "Cancelled"
        COMMENTED = "commented", "Comment"
        LINE_MATCHED = "line_matched", "Line matched"
        STOCK_RESERVED = "stock_reserved", "Stock reserved"
        BACKORDERED = "backordered", "Backordered"
        FULFILLMENT = "fulfillment", "Fulfillment"  # data: shipment, step, and details
        NOTICE = "notice", "Customer e-mail"  # data: kind, to, notice id, status
        RETURN = "return", "Return"  # data: return id, step
        REFUND = "refund", "Refund"  # data: refund id, amount, method

    order = models.ForeignKey(Order, related_name="events", on_delete=models.PROTECT)
    type = models.CharField(max_length=40, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order}: {self.get_type_display()}"


class FraudRule(models.Model):
    """One rule of the fraud check; the admin edits its weight, parameters and whether it runs."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    weight = models.IntegerField(help_text="Points added when it fires (negative lowers risk).")
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class FraudSettings(models.Model):
    """The thresholds of the fraud check. One row."""

    SINGLETON_ID = 1

    medium_threshold = models.IntegerField(default=30)
    high_threshold = models.IntegerField(default=60)

    class Meta:
        verbose_name_plural = "fraud settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="fraudsettings_singleton"),
        ]

    def __str__(self) -> str:
        return f"medium ≥ {self.medium_threshold}, high ≥ {self.high_threshold}"


class RiskAssessment(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="risk")
    score = models.IntegerField()
    level = models.CharField(max_length=10)
    # [{"code": ..., "points": 15, "raises": true, "sentence": "..."}]
    indicators = models.JSONField(default=list)
    assessed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.order}: {self.level} ({self.score})"


from orders.models_fulfillment import (  # noqa: E402,F401  (one models module for Django)
    Carrier,
    CustomerNotice,
    DeliveryWindow,
    DeliveryZone,
    NoticeTemplate,
    PickList,
    Shipment,
    ShipmentEvent,
    ShipmentLine,
)
