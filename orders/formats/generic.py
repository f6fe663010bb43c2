"""opsdesk's generic JSON order format, for stores that are neither Shopify nor WooCommerce.

The format (headers, answers, the body and its fields) is documented for senders in
README.md, "Orders from the web store"; keep the two in step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orders.formats import (
    IncomingLine,
    IncomingOrder,
    NotAnOrder,
    address,
    currency,
    email,
    ip_address,
    lines_of,
    money,
    quantity,
    require_object,
    text,
    timestamp,
)

PAYMENT_STATUSES = (
    "pending",
    "authorized",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
)
STATUSES = ("open", "cancelled")
MAX_KEY_LENGTH = 200


def _line(raw: dict[str, Any], position: int) -> IncomingLine:
    where = f"lines[{position}]."
    return IncomingLine(
        external_id=text(raw.get("id"), limit=100),
        sku=text(raw.get("sku"), limit=64),
        title=text(raw.get("title")) or text(raw.get("sku")) or "(untitled item)",
        quantity=quantity(raw.get("quantity"), name=f"{where}quantity"),
        unit_price=money(raw.get("unit_price"), name=f"{where}unit_price", required=True),
        discount=money(raw.get("discount"), name=f"{where}discount"),
        tax=money(raw.get("tax"), name=f"{where}tax"),
    )


def parse(data: Any, *, topic: str = "") -> IncomingOrder:
    """An IncomingOrder from the generic JSON format described above."""
    order = require_object(data)
    external_id = text(order.get("id"), limit=100)
    if not external_id:
        raise NotAnOrder("Missing field id.")
    status = text(order.get("status"), limit=20).lower() or "open"
    if status not in STATUSES:
        raise NotAnOrder(f"status must be one of {', '.join(STATUSES)}.")
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    payment = order.get("payment") if isinstance(order.get("payment"), dict) else {}
    shipping = order.get("shipping") if isinstance(order.get("shipping"), dict) else {}
    payment_status = text(payment.get("status"), limit=30).lower() or "pending"
    if payment_status not in PAYMENT_STATUSES:
        raise NotAnOrder(f"payment.status must be one of {', '.join(PAYMENT_STATUSES)}.")
    lines = [_line(raw, position) for position, raw in enumerate(lines_of(order, "lines"), start=1)]
    placed_at = timestamp(order.get("created_at"), name="created_at")
    updated_at = (
        timestamp(order.get("updated_at"), name="updated_at")
        if order.get("updated_at")
        else placed_at
    )
    billing = address(order.get("billing_address"), {})
    method = text(shipping.get("method"), limit=120)
    return IncomingOrder(
        external_id=external_id,
        number=text(order.get("number"), limit=60) or external_id,
        email=email(customer.get("email") or billing.get("email")),
        phone=text(customer.get("phone"), limit=40) or billing.get("phone", "")[:40],
        first_name=text(customer.get("first_name"), limit=100),
        last_name=text(customer.get("last_name"), limit=100),
        billing_address=billing,
        shipping_address=address(order.get("shipping_address"), {}),
        currency=currency(order.get("currency")),
        subtotal=money(order.get("subtotal"), name="subtotal")
        if order.get("subtotal") not in (None, "")
        else sum((line.unit_price * line.quantity for line in lines), Decimal("0.00")),
        discount_total=money(order.get("discount_total"), name="discount_total"),
        shipping_total=money(order.get("shipping_total"), name="shipping_total"),
        tax_total=money(order.get("tax_total"), name="tax_total"),
        total=money(order.get("total"), name="total", required=True),
        taxes_included=bool(order.get("taxes_included")),
        payment_status=payment_status,
        payment_gateway=text(payment.get("gateway"), limit=60),
        avs_result=text(payment.get("avs_result"), limit=10),
        cvv_result=text(payment.get("cvv_result"), limit=10),
        card_fingerprint=text(payment.get("card_fingerprint"), limit=120),
        client_ip=ip_address(payment.get("client_ip")),
        shipping_line={"method": method, "title": text(shipping.get("title"))} if shipping else {},
        shipping_keys=[method] if method else [],
        shipping_label=text(shipping.get("title")) or method,
        lines=lines,
        placed_at=placed_at,
        updated_at=updated_at,
        cancelled=status == "cancelled",
        cancel_reason="Cancelled in the store" if status == "cancelled" else "",
    )


def dedup_key(*, idempotency_key: str) -> str:
    return f"idem:{idempotency_key}"
