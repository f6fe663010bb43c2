"""Returns and refunds: the return policy (versioned), return requests with their lines and
timeline, refunds (with the lines and shipping they give back), and store credit."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from inventory.models import Location
from orders.models import Customer, Order, OrderLine

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class RefundMethod(models.TextChoices):
    ORIGINAL = "original", "To the original payment"
    STORE_CREDIT = "store_credit", "Store credit"
    EXCHANGE = "exchange", "Exchange for a replacement"


class ReturnPolicy(models.Model):
    """One version of the store's return policy. A change is a new row (a new version); the
    newest published version is the one that applies and that the website shows.

    `reasons` is a list of {"code", "label", "restocking_fee_percent", "receive_first"}:
    per reason, the restocking fee and whether the item must be back before the refund.
    """

    class ShippingPaidBy(models.TextChoices):
        CUSTOMER = "customer", "The customer"
        STORE = "store", "The store"

    version = models.PositiveIntegerField(unique=True)
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days from delivery or pickup to ask for a return."
    )
    final_sale_category_ids = models.JSONField(default=list, blank=True)
    final_sale_product_ids = models.JSONField(default=list, blank=True)
    condition_required = models.CharField(
        max_length=255, default="Unused, with its tags, in its original packaging."
    )
    return_shipping_paid_by = models.CharField(
        max_length=20, choices=ShippingPaidBy.choices, default=ShippingPaidBy.CUSTOMER
    )
    refund_methods = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    refund_approval_threshold = models.DecimalField(
        **MONEY,
        default=Decimal("200.00"),
        help_text="Refunds above this need a second person's approval.",
    )
    public_requests_per_hour = models.PositiveSmallIntegerField(
        default=10, help_text="Public return-form submissions per address per hour."
    )
    extra_terms = models.TextField(blank=True, help_text="Markdown, shown under the rules.")
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "return policies"
        constraints = [
            models.CheckConstraint(condition=Q(window_days__gte=0), name="policy_window_not_neg"),
            models.CheckConstraint(
                condition=Q(refund_approval_threshold__gte=0), name="policy_threshold_not_neg"
            ),
        ]

    def __str__(self) -> str:
        return f"Return policy v{self.version}"

    def reason(self, code: str) -> dict | None:
        return next((r for r in self.reasons if r.get("code") == code), None)

    @property
    def reason_choices(self) -> list[tuple[str, str]]:
        return [(r["code"], r["label"]) for r in self.reasons]


class ReturnRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved, no return needed"
        AWAITING_ITEM = "awaiting_item", "Waiting for the item"
        DECLINED = "declined", "Declined"
        RECEIVED = "received", "Received"
        INSPECTED = "inspected", "Inspected"
        REFUNDED = "refunded", "Refunded"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    ALLOWED_TRANSITIONS = {
        Status.REQUESTED: (
            Status.APPROVED,
            Status.AWAITING_ITEM,
            Status.DECLINED,
            Status.CANCELLED,
        ),
        # Approved without the item coming back (e.g. arrived damaged: a photo is enough).
        Status.APPROVED: (Status.REFUNDED, Status.RECEIVED, Status.CANCELLED),
        Status.AWAITING_ITEM: (Status.RECEIVED, Status.CANCELLED),
        Status.RECEIVED: (Status.INSPECTED,),
        Status.INSPECTED: (Status.REFUNDED, Status.CLOSED),
        Status.REFUNDED: (Status.CLOSED,),
        Status.DECLINED: (),
        Status.CLOSED: (),
        Status.CANCELLED: (),
    }
    # A return in these states still counts against the units that can be returned.
    ACTIVE = (
        Status.REQUESTED,
        Status.APPROVED,
        Status.AWAITING_ITEM,
        Status.RECEIVED,
        Status.INSPECTED,
        Status.REFUNDED,
        Status.CLOSED,
    )

    class Source(models.TextChoices):
        STAFF = "staff", "Staff (phone or e-mail)"
        CUSTOMER = "customer", "Customer (public form)"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    policy = models.ForeignKey(
        ReturnPolicy,
        on_delete=models.PROTECT,
        related_name="returns",
        help_text="The policy version that applied when the return was asked for.",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.STAFF)
    reason = models.CharField(max_length=40)
    customer_note = models.TextField(blank=True)
    decline_reason = models.CharField(max_length=255, blank=True)
    refund_method = models.CharField(
        max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL
    )
    receive_first = models.BooleanField(
        default=True, help_text="From the policy: the item must be back before the refund."
    )
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    exchange_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchange_for"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(restocking_fee_percent__gte=0) & Q(restocking_fee_percent__lte=100),
                name="return_fee_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Return {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("returns:detail", kwargs={"pk": self.pk})

    @property
    def number(self) -> str:
        return f"R{self.pk:05d}" if self.pk else "R(new)"

    @property
    def reason_label(self) -> str:
        found = self.policy.reason(self.reason) if self.policy_id else None
        return found["label"] if found else self.reason


class ReturnLine(models.Model):
    """Units of one order line coming back, and what inspection decided for them."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not inspected"
        RESTOCK = "restock", "Restocked"
        WRITE_OFF = "write_off", "Written off (damaged)"
        RETURN_TO_VENDOR = "return_to_vendor", "Returned to vendor"

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inspection_note = models.CharField(max_length=255, blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inspected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_pos"),
            models.CheckConstraint(
                condition=~Q(outcome="restock") | Q(location__isnull=False),
                name="return_line_restock_has_location",
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="return_line_once_per_order_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.sku or self.order_line.title}"


class ReturnEvent(models.Model):
    """The return's timeline: every step, with who and when. Append-only."""

    class Type(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        RECEIVED = "received", "Received"
        INSPECTED = "inspected", "Line inspected"
        REFUND = "refund", "Refund"
        EXCHANGE = "exchange", "Replacement order"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"
        NOTICE = "notice", "Customer e-mail"

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.PROTECT, related_name="events"
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.return_request}: {self.get_type_display()}"


class Refund(models.Model):
    """Money given back on an order. opsdesk records it (and the payment provider's reference);
    it does not move money itself. The refunds of an order never add up to more than was paid
    (checked under the order's row lock, see returns.services.refunds)."""

    class Status(models.TextChoices):
        PENDING = "pending", "To be issued"
        AWAITING_APPROVAL = "awaiting_approval", "Waiting for a second approval"
        ISSUED = "issued", "Issued"
        CANCELLED = "cancelled", "Cancelled"

    ALLOWED_TRANSITIONS = {
        Status.PENDING: (Status.ISSUED, Status.AWAITING_APPROVAL, Status.CANCELLED),
        Status.AWAITING_APPROVAL: (Status.ISSUED, Status.CANCELLED),
        Status.ISSUED: (),
        Status.CANCELLED: (),
    }
    # A refund in these states holds its amount against what was paid.
    HOLDING = (Status.PENDING, Status.AWAITING_APPROVAL, Status.ISSUED)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        ReturnRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    amount = models.DecimalField(**MONEY)
    lines_amount = models.DecimalField(**MONEY, default=ZERO)
    shipping_amount = models.DecimalField(**MONEY, default=ZERO)
    restocking_fee = models.DecimalField(**MONEY, default=ZERO)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    exchange_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at", "id"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0)
                & Q(restocking_fee__gte=0)
                & Q(lines_amount__gte=0),
                name="refund_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status="issued") | Q(issued_at__isnull=False),
                name="refund_issued_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.amount} {self.currency}"

    def get_absolute_url(self) -> str:
        return reverse("returns:refund_detail", kwargs={"pk": self.pk})


class RefundLine(models.Model):
    """Units of an order line a refund pays back: what makes a line refunded only once."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_pos"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_line_amount_not_neg"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id}: {self.amount}"


class StoreCreditAccount(models.Model):
    """A customer's store credit balance, usable on a later order."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="store_credit")
    balance = models.DecimalField(**MONEY, default=ZERO)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="store_credit_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Store credit of {self.customer}: {self.balance}"


class StoreCreditEntry(models.Model):
    """One change of a store credit balance: plus from a refund, minus when spent on an order."""

    account = models.ForeignKey(
        StoreCreditAccount, on_delete=models.PROTECT, related_name="entries"
    )
    amount = models.DecimalField(**MONEY)
    balance_after = models.DecimalField(**MONEY)
    refund = models.OneToOneField(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entry"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="store_credit_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="store_credit_entry_balance_not_neg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} ({self.balance_after})"
