"""WooCommerce's REST order (wc/v3), as its order.created and order.updated webhooks send it.

Money fields are strings ("35.00"), a line's `price` a JSON number; `date_modified_gmt` is
UTC without an offset and orders the versions. WooCommerce never retries with the same
delivery id (X-WC-Webhook-Delivery-ID is new per attempt), so a delivery is recognised by its
store, order id and modification time. Saving a webhook in WooCommerce sends a form-encoded
`webhook_id=N` ping, unsigned.
"""

from __future__ import annotations

import re
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

TOPICS = ("order.created", "order.updated")
PING = re.compile(rb"\Awebhook_id=\d{1,20}\Z")
ADDRESS = {"address1": "address_1", "address2": "address_2", "region": "state"}
PAID_STATUSES = ("processing", "completed")
# Gateways that record their checks in the order's meta data use one of these keys.
AVS_KEYS = ("_avs_result", "avs_result", "_avs_result_code", "avs_result_code")
CVV_KEYS = ("_cvv_result", "cvv_result", "_cvv_result_code", "cvv_result_code", "_cvc_check")
CARD_BRAND_KEYS = ("_card_brand", "_stripe_card_brand", "card_brand")
CARD_LAST4_KEYS = ("_card_last4", "_stripe_card_last4", "card_last4")


def is_ping(body: bytes, content_type: str) -> bool:
    """WooCommerce's test delivery when a webhook is saved: `webhook_id=N`, form-encoded."""
    return content_type.split(";")[0].strip().lower() == (
        "application/x-www-form-urlencoded"
    ) and bool(PING.match(body.strip()))


def _meta(order: dict[str, Any]) -> dict[str, str]:
    raw = order.get("meta_data")
    if not isinstance(raw, list):
        return {}
    return {
        text(item.get("key"), limit=80): text(item.get("value"), limit=120)
        for item in raw
        if isinstance(item, dict)
    }


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((meta[key] for key in keys if meta.get(key)), "")


def _before_discount(raw: dict[str, Any], position: int) -> Decimal:
    """The line's amount before discounts, as received (`subtotal`), else price times quantity."""
    where = f"line_items[{position}]"
    if raw.get("subtotal") not in (None, ""):
        return money(raw.get("subtotal"), name=f"{where}.subtotal")
    count = quantity(raw.get("quantity"), name=f"{where}.quantity")
    return money(raw.get("price"), name=f"{where}.price", required=True) * count


def _line(raw: dict[str, Any], position: int) -> IncomingLine:
    where = f"line_items[{position}]"
    count = quantity(raw.get("quantity"), name=f"{where}.quantity")
    before = _before_discount(raw, position)
    after = money(raw.get("total"), name=f"{where}.total")
    return IncomingLine(
        external_id=text(raw.get("id"), limit=100),
        sku=text(raw.get("sku"), limit=64),
        title=text(raw.get("name")) or "(untitled item)",
        quantity=count,
        unit_price=money(before / count, name=f"{where}.price"),
        discount=(
            max(before - after, Decimal("0.00"))
            if raw.get("total") not in (None, "")
            else Decimal("0.00")
        ),
        tax=money(raw.get("total_tax"), name=f"{where}.total_tax"),
    )


def _shipping(order: dict[str, Any]) -> tuple[dict[str, Any], list[str], str]:
    raw = order.get("shipping_lines")
    lines = [line for line in raw if isinstance(line, dict)] if isinstance(raw, list) else []
    if not lines:
        return {}, [], ""
    first = lines[0]
    kept = {
        key: first.get(key)
        for key in ("id", "method_id", "instance_id", "method_title", "total")
        if key in first
    }
    method_id = text(first.get("method_id"), limit=100)
    instance_id = text(first.get("instance_id"), limit=20)
    keys = [k for k in (f"{method_id}:{instance_id}" if instance_id else "", method_id) if k]
    return kept, keys, text(first.get("method_title")) or method_id


def _payment_status(order: dict[str, Any], status: str) -> str:
    if status == "refunded":
        return "refunded"
    refunds = order.get("refunds")
    if isinstance(refunds, list) and refunds:
        return "partially_refunded"
    if order.get("date_paid_gmt") or order.get("date_paid") or status in PAID_STATUSES:
        return "paid"
    return "pending"


def modified_at(order: dict[str, Any]):
    for key in ("date_modified_gmt", "date_created_gmt"):
        if order.get(key):
            return timestamp(order[key], name=key, naive_is_utc=True)
    raise NotAnOrder("Missing field date_modified_gmt.")


def parse(data: Any, *, topic: str = "order.created") -> IncomingOrder:
    """An IncomingOrder from WooCommerce's REST order."""
    order = require_object(data)
    if order.get("id") in (None, "", 0):
        raise NotAnOrder("Missing field id: this is not a WooCommerce order.")
    external_id = text(order.get("id"), limit=100)
    status = text(order.get("status"), limit=30).lower()
    raw_lines = list(enumerate(lines_of(order, "line_items"), start=1))
    lines = [_line(raw, position) for position, raw in raw_lines]
    billing = address(order.get("billing"), ADDRESS)
    shipping_address = address(order.get("shipping"), ADDRESS)
    meta = _meta(order)
    shipping_line, shipping_keys, shipping_label = _shipping(order)
    placed_at = (
        timestamp(order["date_created_gmt"], name="date_created_gmt", naive_is_utc=True)
        if order.get("date_created_gmt")
        else modified_at(order)
    )
    brand, last4 = _first(meta, CARD_BRAND_KEYS).lower(), _first(meta, CARD_LAST4_KEYS)[-4:]
    return IncomingOrder(
        external_id=external_id,
        number=text(order.get("number"), limit=60) or external_id,
        email=email(billing.get("email")),
        phone=billing.get("phone", "")[:40],
        first_name=billing.get("first_name", "")[:100],
        last_name=billing.get("last_name", "")[:100],
        billing_address=billing,
        shipping_address=shipping_address,
        currency=currency(order.get("currency")),
        subtotal=sum(
            (_before_discount(raw, position) for position, raw in raw_lines), Decimal("0.00")
        ),
        discount_total=money(order.get("discount_total"), name="discount_total"),
        shipping_total=money(order.get("shipping_total"), name="shipping_total"),
        tax_total=money(order.get("total_tax"), name="total_tax"),
        total=money(order.get("total"), name="total", required=True),
        taxes_included=bool(order.get("prices_include_tax")),
        payment_status=_payment_status(order, status),
        payment_gateway=text(order.get("payment_method"), limit=60),
        avs_result=_first(meta, AVS_KEYS)[:10],
        cvv_result=_first(meta, CVV_KEYS)[:10],
        card_fingerprint=f"{brand}:{last4}" if last4 else "",
        client_ip=ip_address(order.get("customer_ip_address")),
        shipping_line=shipping_line,
        shipping_keys=shipping_keys,
        shipping_label=shipping_label,
        lines=lines,
        placed_at=placed_at,
        updated_at=modified_at(order),
        cancelled=status == "cancelled",
        cancel_reason="Cancelled in WooCommerce" if status == "cancelled" else "",
    )


def dedup_key(*, source: str, data: Any) -> str:
    """What makes two WooCommerce deliveries the same: store, order id, modification time."""
    if not isinstance(data, dict):
        return ""
    order_id = text(data.get("id"), limit=40)
    modified = text(data.get("date_modified_gmt"), limit=40)
    if not order_id or not modified:
        return ""
    return f"woocommerce:{source.rstrip('/')[:150]}:{order_id}:{modified}"[:255]
