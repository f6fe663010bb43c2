"""Fulfillment: what happens to an approved order until the customer has it.

An approved order becomes shipments, one per location its stock sits in (and one per vendor
for drop-ship lines). Each shipment follows the flow of its method:

    ship            pending -> picking -> picked -> packed -> shipped (-> delivered)
    local delivery  pending -> picking -> picked -> packed -> out_for_delivery -> delivered
                    (or delivery_failed -> packed again with a new window)
    store pickup    pending -> picking -> picked -> ready_for_pickup -> picked_up
    drop ship       pending -> vendor_pending -> vendor_confirmed -> shipped

Anything before it leaves the building can be cancelled (its stock goes back).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Variant, Vendor
from inventory.models import Location, Reservation


class Carrier(models.Model):
    """A shipping carrier and the address of its tracking page."""

    name = models.CharField(max_length=80, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    tracking_url_template = models.CharField(
        max_length=300,
        help_text="The tracking page's address with {tracking} where the number goes.",
    )
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class DeliveryZone(models.Model):
    """Postcodes the store's own drivers deliver to."""

    name = models.CharField(max_length=80, unique=True)
    postcodes = models.TextField(
        help_text="One per line or comma separated; a trailing * matches a prefix (e.g. 941*)."
    )
    fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryWindow(models.Model):
    """A time slot for local delivery on given weekdays (0 = Monday), in the store's zone."""

    zone = models.ForeignKey(DeliveryZone, on_delete=models.CASCADE, related_name="windows")
    weekdays = models.JSONField(default=list, help_text="Weekday numbers, 0 = Monday.")
    starts = models.TimeField()
    ends = models.TimeField()
    capacity = models.PositiveSmallIntegerField(default=20)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["zone", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=models.F("starts")), name="delivery_window_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.zone.name} {self.starts:%H:%M}–{self.ends:%H:%M}"


class PickList(models.Model):
    """A batch of shipments from one location, picked in one walk."""

    class Status(models.TextChoices):
        OPEN = "open", "Being picked"
        DONE = "done", "Picked"
        CANCELLED = "cancelled", "Cancelled"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="pick_lists")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Pick list {self.pk}"


class Shipment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "To pick"
        PICKING = "picking", "Being picked"
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        VENDOR_PENDING = "vendor_pending", "Sent to vendor"
        VENDOR_CONFIRMED = "vendor_confirmed", "Confirmed by vendor"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        PICKED_UP = "picked_up", "Picked up"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERY_FAILED = "delivery_failed", "Delivery failed"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    ALLOWED_TRANSITIONS = {
        Status.PENDING: (Status.PICKING, Status.VENDOR_PENDING, Status.CANCELLED),
        Status.PICKING: (Status.PICKED, Status.PENDING, Status.CANCELLED),
        Status.PICKED: (Status.PACKED, Status.READY_FOR_PICKUP, Status.CANCELLED),
        Status.PACKED: (Status.SHIPPED, Status.OUT_FOR_DELIVERY, Status.CANCELLED),
        Status.SHIPPED: (Status.DELIVERED,),
        Status.VENDOR_PENDING: (Status.VENDOR_CONFIRMED, Status.SHIPPED, Status.CANCELLED),
        Status.VENDOR_CONFIRMED: (Status.SHIPPED, Status.CANCELLED),
        Status.READY_FOR_PICKUP: (Status.PICKED_UP, Status.CANCELLED),
        Status.PICKED_UP: (),
        Status.OUT_FOR_DELIVERY: (Status.DELIVERED, Status.DELIVERY_FAILED),
        Status.DELIVERY_FAILED: (Status.PACKED, Status.CANCELLED),
        Status.DELIVERED: (),
        Status.CANCELLED: (),
    }
    # Which statuses each method passes through (a transition outside them is refused).
    METHOD_STATUSES = {
        "ship": {"pending", "picking", "picked", "packed", "shipped", "delivered", "cancelled"},
        "local_delivery": {
            "pending",
            "picking",
            "picked",
            "packed",
            "out_for_delivery",
            "delivery_failed",
            "delivered",
            "cancelled",
        },
        "store_pickup": {
            "pending",
            "picking",
            "picked",
            "ready_for_pickup",
            "picked_up",
            "cancelled",
        },
        "drop_ship": {"pending", "vendor_pending", "vendor_confirmed", "shipped", "cancelled"},
    }
    # Stock has left (or the customer has it): nothing of it can be cancelled any more.
    DONE = (Status.SHIPPED, Status.PICKED_UP, Status.DELIVERED, Status.OUT_FOR_DELIVERY)
    OPEN = (
        Status.PENDING,
        Status.PICKING,
        Status.PICKED,
        Status.PACKED,
        Status.VENDOR_PENDING,
        Status.VENDOR_CONFIRMED,
        Status.READY_FOR_PICKUP,
        Status.DELIVERY_FAILED,
    )

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="shipments")
    number = models.CharField(max_length=80, help_text="The order number and a suffix: 1001-1.")
    method = models.CharField(max_length=20)  # one of Order.Method, never "unknown"
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    location = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shipments",
        help_text="Where the units are picked; empty for drop ship (the vendor sends them).",
    )
    vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shipments",
        help_text="For drop ship: the vendor who sends the parcel.",
    )
    pick_list = models.ForeignKey(
        PickList, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    ship_to = models.JSONField(default=dict, blank=True, help_text="The order's shipping address.")

    # Ship and drop ship
    carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    tracking_number = models.CharField(max_length=100, blank=True)

    # Store pickup
    pickup_location = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pickup_shipments",
        help_text="The store the customer collects from.",
    )
    pickup_code = models.CharField(max_length=12, blank=True, db_index=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    pickup_reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    uncollected_flagged_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Local delivery
    delivery_zone = models.ForeignKey(
        DeliveryZone, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    delivery_window = models.ForeignKey(
        DeliveryWindow, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    delivery_date = models.DateField(null=True, blank=True, db_index=True)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    delivery_note = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)

    # Drop ship
    vendor_notified_at = models.DateTimeField(null=True, blank=True)
    vendor_reminders_sent = models.PositiveSmallIntegerField(default=0)
    vendor_confirmed_at = models.DateTimeField(null=True, blank=True)

    # Who did each step, and when
    picked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    data = models.JSONField(default=dict, blank=True, help_text="Anything else a flow records.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["status", "method", "location", "created_at"]),
            models.Index(fields=["method", "delivery_date", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="shipment_number_unique"),
            models.CheckConstraint(
                condition=~Q(status="shipped") | ~Q(method="ship") | ~Q(tracking_number=""),
                name="shipped_parcel_has_tracking",
            ),
            # A code read out at the counter finds one order waiting there.
            models.UniqueConstraint(
                fields=["pickup_code"],
                condition=Q(status="ready_for_pickup") & ~Q(pickup_code=""),
                name="pickup_code_unique_while_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Shipment {self.number}"

    @property
    def received_at(self):
        """When the customer had it: delivered, picked up, or (for carriers) shipped."""
        return self.delivered_at or self.picked_up_at or self.shipped_at

    def can_become(self, status: str) -> bool:
        return status in self.ALLOWED_TRANSITIONS.get(
            self.status, ()
        ) and status in self.METHOD_STATUSES.get(self.method, ())


class ShipmentLine(models.Model):
    """Units of one order line in one shipment, and the reservation they come from."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="shipment_lines"
    )
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    quantity_picked = models.PositiveIntegerField(default=0)
    quantity_packed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(quantity_picked__lte=models.F("quantity")),
                name="shipment_line_picked_le_quantity",
            ),
            models.CheckConstraint(
                condition=Q(quantity_packed__lte=models.F("quantity")),
                name="shipment_line_packed_le_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class ShipmentEvent(models.Model):
    """The shipment's timeline (its steps also go on the order's timeline)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.from_status}->{self.to_status}"


class NoticeTemplate(models.Model):
    """A customer e-mail the admin can edit (Django template syntax, a fixed context)."""

    class Kind(models.TextChoices):
        SHIPPED = "shipped", "Shipping notice"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        PICKUP_REMINDER = "pickup_reminder", "Pickup reminder"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERY_FAILED = "delivery_failed", "Delivery failed"
        VENDOR_ORDER = "vendor_order", "Purchase order to a drop-ship vendor"
        VENDOR_REMINDER = "vendor_reminder", "Reminder to a drop-ship vendor"

    kind = models.CharField(max_length=30, choices=Kind.choices, unique=True)
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.get_kind_display()


class CustomerNotice(models.Model):
    """An e-mail to a customer (or a drop-ship vendor): written in the transaction that caused
    it, sent by Celery after commit, retried by a sweep until sent or failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="notices", null=True, blank=True
    )
    shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(max_length=30)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"
