"""The demo store's web channels and a handful of orders, sent through the real intake.

`seed_orders()` makes one channel of each kind (Shopify "web", WooCommerce "garden",
generic "partner") with generated secrets and shipping-method mappings, then, the first time
only, signs and delivers a few orders exactly as the stores would (delivery_receive, then the
build the Celery task runs), so the review queue has work of every kind: plain orders, an
unknown SKU, an unmapped shipping method, a store pickup, an update, a high-risk order and a
cancellation. Run after the catalog and inventory are seeded (it reads their SKUs). Running
it again changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from catalog.models import Product, Variant
from inventory.models import Location
from orders.models import Channel, WebhookDelivery
from orders.services.intake import (
    channel_create,
    delivery_build,
    delivery_receive,
    shipping_mapping_save,
)
from orders.signatures import signature_compute

CHANNELS = [
    ("web", "shopify", "Web store (Shopify)"),
    ("garden", "woocommerce", "Garden shop (WooCommerce)"),
    ("partner", "generic", "Partner marketplace"),
]
MAPPINGS = {
    "web": [("Standard", "ship"), ("Express", "ship"), ("Pickup", "store_pickup")],
    "garden": [("flat_rate", "ship"), ("free_shipping", "ship"), ("local_pickup", "store_pickup")],
    "partner": [("standard", "ship"), ("pickup", "store_pickup")],
}


def _channels() -> dict[str, Channel]:
    pickup = Location.objects.filter(is_pickup=True, active=True).order_by("web_priority").first()
    channels = {}
    for slug, kind, name in CHANNELS:
        channel = Channel.objects.filter(slug=slug).first()
        if channel is None:
            channel = channel_create(kind=kind, name=name, slug=slug)
            for value, method in MAPPINGS[slug]:
                if method == "store_pickup" and pickup is None:
                    continue
                shipping_mapping_save(
                    channel_id=channel.pk,
                    match_value=value,
                    method=method,
                    pickup_location_id=pickup.pk if method == "store_pickup" else None,
                    actor=None,
                )
        channels[slug] = channel
    return channels


def _skus() -> list[tuple[str, str, Decimal]]:
    variants = (
        Variant.objects.filter(
            product__status=Product.Status.ACTIVE,
            product__published=True,
            stock_levels__on_hand__gt=5,
        )
        .select_related("product")
        .distinct()
        .order_by("sku")[:6]
    )
    return [(v.sku, v.product.title, v.retail_price) for v in variants]


def _address(first: str, last: str, street: str, city: str, region: str, postcode: str, country):
    return {
        "first_name": first,
        "last_name": last,
        "address1": street,
        "city": city,
        "province_code": region,
        "zip": postcode,
        "country_code": country,
    }


def _shopify(number: int, items, *, when, **extra) -> dict[str, Any]:
    subtotal = sum(price * qty for _, _, price, qty in items)
    shipping = Decimal(extra.pop("shipping", "6.00"))
    address = extra.pop(
        "address", _address("Maya", "Ortiz", "418 Larkspur Ave", "Brooklyn", "NY", "11215", "US")
    )
    order = {
        "id": 5_900_000_000 + number,
        "name": f"#{number}",
        "email": extra.pop("email", "maya.ortiz@example.com"),
        "created_at": when.isoformat(),
        "updated_at": extra.pop("updated_at", when).isoformat(),
        "currency": "USD",
        "financial_status": extra.pop("financial_status", "paid"),
        "total_line_items_price": f"{subtotal:.2f}",
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "total_price": f"{subtotal + shipping:.2f}",
        "total_shipping_price_set": {"shop_money": {"amount": f"{shipping:.2f}"}},
        "browser_ip": extra.pop("browser_ip", "203.0.113.42"),
        "customer": {"first_name": address["first_name"], "last_name": address["last_name"]},
        "billing_address": address,
        "shipping_address": extra.pop("shipping_address", address),
        "line_items": [
            {
                "id": number * 10 + i,
                "sku": sku,
                "name": title,
                "quantity": qty,
                "price": f"{price:.2f}",
                "total_discount": "0.00",
                "tax_lines": [],
            }
            for i, (sku, title, price, qty) in enumerate(items)
        ],
        "shipping_lines": [
            {"code": extra.pop("code", "Standard"), "source": "shopify", "price": f"{shipping}"}
        ],
        "payment_details": extra.pop(
            "payment_details",
            {
                "avs_result_code": "Y",
                "cvv_result_code": "M",
                "credit_card_bin": "424242",
                "credit_card_number": "•••• •••• •••• 4242",
                "credit_card_company": "Visa",
            },
        ),
        **extra,
    }
    order["customer"]["email"] = order["email"]
    return order


def _woo(number: int, items, *, when, status="processing", method_id="flat_rate", **extra):
    subtotal = sum(price * qty for _, _, price, qty in items)
    stamp = extra.pop("modified", when).astimezone(UTC).replace(tzinfo=None)
    address = {
        "first_name": "Tomás",
        "last_name": "Brennan",
        "address_1": "77 Orchard St",
        "city": "Portland",
        "state": "OR",
        "postcode": "97205",
        "country": "US",
    }
    return {
        "id": 7300 + number,
        "number": str(7300 + number),
        "status": status,
        "currency": "USD",
        "date_created_gmt": when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "date_modified_gmt": stamp.isoformat(timespec="seconds"),
        "date_paid_gmt": stamp.isoformat(timespec="seconds") if status != "pending" else None,
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "total_tax": "0.00",
        "total": f"{subtotal:.2f}",
        "customer_ip_address": "198.51.100.23",
        "billing": {**address, "email": "tomas.brennan@example.org", "phone": "503-555-0192"},
        "shipping": address,
        "payment_method": "stripe",
        "line_items": [
            {
                "id": number * 10 + i,
                "name": title,
                "sku": sku,
                "quantity": qty,
                "subtotal": f"{price * qty:.2f}",
                "total": f"{price * qty:.2f}",
                "total_tax": "0.00",
            }
            for i, (sku, title, price, qty) in enumerate(items)
        ],
        "shipping_lines": [{"method_id": method_id, "instance_id": "1", "method_title": method_id}],
    }


def _send(channel: Channel, data: dict[str, Any], *, topic: str, key: str) -> None:
    body = json.dumps(data).encode()
    signature = signature_compute(secret=channel.secret, body=body)
    headers = {
        "shopify": {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Webhook-Id": key,
            "X-Shopify-Shop-Domain": "corner-shop.myshopify.com",
        },
        "woocommerce": {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-Source": "https://garden.example.org/",
            "X-WC-Webhook-Delivery-ID": key,
        },
        "generic": {"X-Opsdesk-Signature": signature, "Idempotency-Key": key},
    }[channel.kind]
    answer = delivery_receive(
        kind=channel.kind,
        channel_slug=channel.slug,
        headers=headers,
        body=body,
        content_type="application/json",
    )
    if answer.delivery_id is not None:
        # What the Celery task does; the task finds it built and does nothing.
        delivery_build(delivery_id=answer.delivery_id)


def _orders(channels: dict[str, Channel], skus: list[tuple[str, str, Decimal]]) -> None:
    now = timezone.now().replace(microsecond=0)
    a, b, c = (skus * 3)[:3]
    item = lambda sku, qty=1: (sku[0], sku[1], sku[2], qty)  # noqa: E731
    web, garden, partner = channels["web"], channels["garden"], channels["partner"]

    _send(
        web,
        _shopify(1041, [item(a, 2), item(b)], when=now - timedelta(hours=3)),
        topic="orders/create",
        key="demo-1041",
    )
    unknown = ("RETIRED-42", "Enamel pin (old stock)", Decimal("6.50"), 1)
    _send(
        web,
        _shopify(
            1042, [item(c), unknown], when=now - timedelta(hours=2), email="li.wei@example.com"
        ),
        topic="orders/create",
        key="demo-1042",
    )
    _send(
        web,
        _shopify(
            1043,
            [item(b)],
            when=now - timedelta(minutes=90),
            code="Same-day courier",
            email="ana.lopes@example.com",
        ),
        topic="orders/create",
        key="demo-1043",
    )
    risky = _shopify(
        1044,
        [item(a, 8)],
        when=now - timedelta(minutes=40),
        email="quick.buyer@mailinator.com",
        code="Express",
        browser_ip="185.220.101.7",
        shipping_address=_address("J", "Doe", "1 Freight Way", "Miami", "FL", "33101", "US"),
        address=_address("J", "Doe", "9 Rue Haute", "Lyon", "", "69001", "FR"),
        payment_details={"avs_result_code": "N", "cvv_result_code": "N"},
    )
    _send(web, risky, topic="orders/create", key="demo-1044")
    cancelled = _shopify(
        1045, [item(c)], when=now - timedelta(hours=5), email="sam.lee@example.com"
    )
    _send(web, cancelled, topic="orders/create", key="demo-1045")
    cancelled.update(
        updated_at=(now - timedelta(hours=4)).isoformat(),
        cancelled_at=(now - timedelta(hours=4)).isoformat(),
        cancel_reason="customer",
        financial_status="refunded",
    )
    _send(web, cancelled, topic="orders/cancelled", key="demo-1045-cancel")

    pending = _woo(
        15,
        [item(b, 3), item(c)],
        when=now - timedelta(hours=1),
        status="pending",
        method_id="local_pickup",
    )
    _send(garden, pending, topic="order.created", key="demo-woo-15-a")
    paid = _woo(
        15,
        [item(b, 3), item(c)],
        when=now - timedelta(hours=1),
        status="processing",
        method_id="local_pickup",
        modified=now - timedelta(minutes=50),
    )
    _send(garden, paid, topic="order.updated", key="demo-woo-15-b")

    generic = {
        "id": "PM-20931",
        "number": "PM-20931",
        "created_at": (now - timedelta(minutes=25)).isoformat(),
        "currency": "USD",
        "customer": {"email": "r.okoye@example.net", "first_name": "Rita", "last_name": "Okoye"},
        "billing_address": {
            "address1": "5 Canal St",
            "city": "Boston",
            "region": "MA",
            "postcode": "02108",
            "country": "US",
        },
        "lines": [{"sku": a[0], "title": a[1], "quantity": 1, "unit_price": f"{a[2]:.2f}"}],
        "shipping_total": "4.95",
        "total": f"{a[2] + Decimal('4.95'):.2f}",
        "payment": {"status": "paid", "gateway": "marketplace"},
        "shipping": {"method": "standard", "title": "Standard"},
    }
    _send(partner, generic, topic="order", key="demo-pm-20931")


def seed_orders() -> None:
    """Load the demo channels, and the first time a few orders through the real intake."""
    channels = _channels()
    if WebhookDelivery.objects.filter(channel__in=channels.values()).exists():
        return
    skus = _skus()
    if not skus:
        return  # no stocked catalog to order from
    _orders(channels, skus)
