"""Shopify's Order resource, as the orders/create, orders/updated and orders/cancelled webhooks
send it (topic in X-Shopify-Topic; every topic carries the whole order).

Money fields are strings ("199.00"); the order's id is a number; `name` ("#1001") is the
number customers see; `updated_at` changes with every change, so it orders the versions.
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

TOPICS = ("orders/create", "orders/updated", "orders/cancelled")
ADDRESS = {
    "region": "province_code",
    "postcode": "zip",
    "country": "country_code",
}
PAYMENT = {
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "pending",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "voided",
    "expired": "voided",
}


def _address(data: Any) -> dict[str, str]:
    result = address(data, ADDRESS)
    if result and isinstance(data, dict):
        # Older payloads give only the names of the province and country.
        result["region"] = result["region"] or text(data.get("province"))
        result["country"] = result["country"] or text(data.get("country")).upper()[:2]
    return result


def _line(raw: dict[str, Any], position: int) -> IncomingLine:
    where = f"line_items[{position}]"
    allocations = raw.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        discount = sum(
            (money(a.get("amount"), name=f"{where}.discount_allocations") for a in allocations),
            Decimal("0.00"),
        )
    else:
        discount = money(raw.get("total_discount"), name=f"{where}.total_discount")
    taxes = raw.get("tax_lines") if isinstance(raw.get("tax_lines"), list) else []
    tax = sum((money(t.get("price"), name=f"{where}.tax_lines") for t in taxes), Decimal("0.00"))
    return IncomingLine(
        external_id=text(raw.get("id"), limit=100),
        sku=text(raw.get("sku"), limit=64),
        title=text(raw.get("name")) or text(raw.get("title")) or "(untitled item)",
        quantity=quantity(raw.get("quantity"), name=f"{where}.quantity"),
        unit_price=money(raw.get("price"), name=f"{where}.price", required=True),
        discount=discount,
        tax=tax,
    )


def _shipping(data: dict[str, Any]) -> tuple[dict[str, Any], list[str], str, Decimal]:
    raw = data.get("shipping_lines")
    lines = [line for line in raw if isinstance(line, dict)] if isinstance(raw, list) else []
    amount = sum(
        (money(line.get("price"), name="shipping_lines.price") for line in lines),
        Decimal("0.00"),
    )
    shipping_set = data.get("total_shipping_price_set")
    if isinstance(shipping_set, dict) and isinstance(shipping_set.get("shop_money"), dict):
        amount = money(shipping_set["shop_money"].get("amount"), name="total_shipping_price_set")
    if not lines:
        return {}, [], "", amount
    first = lines[0]
    kept = {
        key: first.get(key)
        for key in ("id", "code", "source", "title", "price", "carrier_identifier")
        if key in first
    }
    keys = [k for k in (text(first.get("code")), text(first.get("source"))) if k]
    label = text(first.get("title")) or text(first.get("code"))
    return kept, keys, label, amount


def _card(details: Any) -> tuple[str, str, str]:
    if not isinstance(details, dict):
        return "", "", ""
    number = text(details.get("credit_card_number"))
    last4 = "".join(ch for ch in number if ch.isdigit())[-4:]
    parts = [
        text(details.get("credit_card_company")).lower(),
        text(details.get("credit_card_bin")),
        last4,
    ]
    fingerprint = ":".join(parts) if last4 else ""
    return (
        text(details.get("avs_result_code"), limit=10),
        text(details.get("cvv_result_code"), limit=10),
        fingerprint[:120],
    )


def parse(data: Any, *, topic: str = "orders/create") -> IncomingOrder:
    """An IncomingOrder from Shopify's Order resource."""
    order = require_object(data)
    if order.get("id") in (None, ""):
        raise NotAnOrder("Missing field id: this is not a Shopify order.")
    external_id = text(order.get("id"), limit=100)
    raw_lines = lines_of(order, "line_items")
    lines = [_line(raw, position) for position, raw in enumerate(raw_lines, start=1)]
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    billing = _address(order.get("billing_address"))
    shipping_address = _address(order.get("shipping_address"))
    placed_at = timestamp(order.get("created_at"), name="created_at")
    updated_at = (
        timestamp(order.get("updated_at"), name="updated_at")
        if order.get("updated_at")
        else placed_at
    )
    shipping_line, shipping_keys, shipping_label, shipping_total = _shipping(order)
    avs, cvv, fingerprint = _card(order.get("payment_details"))
    client = order.get("client_details") if isinstance(order.get("client_details"), dict) else {}
    gateways = order.get("payment_gateway_names")
    gateway = text(order.get("gateway"), limit=60) or (
        text(gateways[0], limit=60) if isinstance(gateways, list) and gateways else ""
    )
    line_total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
    cancelled = topic == "orders/cancelled" or bool(order.get("cancelled_at"))
    return IncomingOrder(
        external_id=external_id,
        number=text(order.get("name"), limit=60)
        or text(order.get("order_number"), limit=60)
        or external_id,
        email=email(order.get("email") or order.get("contact_email") or customer.get("email")),
        phone=text(order.get("phone") or customer.get("phone") or billing.get("phone"), limit=40),
        first_name=text(customer.get("first_name"), limit=100) or billing.get("first_name", ""),
        last_name=text(customer.get("last_name"), limit=100) or billing.get("last_name", ""),
        billing_address=billing,
        shipping_address=shipping_address,
        currency=currency(order.get("currency")),
        subtotal=money(order.get("total_line_items_price"), name="total_line_items_price")
        if order.get("total_line_items_price") not in (None, "")
        else line_total,
        discount_total=money(order.get("total_discounts"), name="total_discounts"),
        shipping_total=shipping_total,
        tax_total=money(order.get("total_tax"), name="total_tax"),
        total=money(order.get("total_price"), name="total_price", required=True),
        taxes_included=bool(order.get("taxes_included")),
        payment_status=PAYMENT.get(text(order.get("financial_status")).lower(), "pending"),
        payment_gateway=gateway,
        avs_result=avs,
        cvv_result=cvv,
        card_fingerprint=fingerprint,
        client_ip=ip_address(order.get("browser_ip")) or ip_address(client.get("browser_ip")),
        shipping_line=shipping_line,
        shipping_keys=shipping_keys,
        shipping_label=shipping_label,
        lines=lines,
        placed_at=placed_at,
        updated_at=updated_at,
        cancelled=cancelled,
        cancel_reason=text(order.get("cancel_reason"), limit=120),
    )


def dedup_key(*, topic: str, webhook_id: str, event_id: str) -> str:
    """What makes two Shopify deliveries the same: the event (one per change, the same for
    every subscription and retry), else the webhook delivery id (the same for each retry)."""
    if event_id:
        return f"shopify:event:{topic}:{event_id}"[:255]
    if webhook_id:
        return f"shopify:webhook:{webhook_id}"[:255]
    return ""
