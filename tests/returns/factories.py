"""Return policies and delivered orders for the returns tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orders.models import Order, OrderLine, Shipment, ShipmentLine
from returns.models import RefundMethod
from returns.services.policy import PolicyData, PolicyReason, policy_publish
from tests.orders.factories import OrderFactory, OrderLineFactory


def policy_data(**overrides) -> PolicyData:
    base = {
        "window_days": 30,
        "reasons": [
            PolicyReason("changed_mind", "Changed my mind", Decimal("10"), True),
            PolicyReason("damaged", "Arrived damaged", Decimal("0"), False),
            PolicyReason("wrong_item", "Wrong item sent", Decimal("0"), True),
        ],
        "refund_methods": [
            RefundMethod.ORIGINAL,
            RefundMethod.STORE_CREDIT,
            RefundMethod.EXCHANGE,
        ],
        "refund_approval_threshold": Decimal("200.00"),
    }
    return PolicyData(**{**base, **overrides})


def publish_policy(actor=None, **overrides):
    return policy_publish(data=policy_data(**overrides), actor=actor)


def delivered_order(
    *,
    lines: list[tuple[int, str]] | None = None,
    delivered_days_ago: int = 3,
    shipping: str = "5.00",
    tax_rate: str = "0",
    deliver: bool = True,
    **fields,
) -> Order:
    """A paid, fulfilled order whose lines (quantity, unit price) were all delivered."""
    lines = lines or [(2, "20.00"), (1, "10.00")]
    rate = Decimal(tax_rate)
    fields.setdefault("status", Order.Status.FULFILLED)
    fields.setdefault("payment_status", Order.PaymentStatus.PAID)
    order = OrderFactory(shipping_total=Decimal(shipping), **fields)
    made: list[OrderLine] = []
    for quantity, price in lines:
        tax = (Decimal(price) * quantity * rate / 100).quantize(Decimal("0.01"))
        made.append(
            OrderLineFactory(order=order, quantity=quantity, unit_price=Decimal(price), tax=tax)
        )
    subtotal = sum((line.unit_price * line.quantity for line in made), Decimal("0"))
    tax_total = sum((line.tax for line in made), Decimal("0"))
    order.subtotal, order.tax_total = subtotal, tax_total
    order.total = subtotal + tax_total + Decimal(shipping)
    order.save()
    if deliver:
        when = timezone.now() - timedelta(days=delivered_days_ago)
        shipment = Shipment.objects.create(
            order=order,
            number=f"{order.number}-1",
            method="ship",
            status=Shipment.Status.DELIVERED,
            shipped_at=when - timedelta(days=1),
            delivered_at=when,
        )
        for line in made:
            ShipmentLine.objects.create(
                shipment=shipment, order_line=line, variant=line.variant, quantity=line.quantity
            )
    return order
