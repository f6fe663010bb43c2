"""Helpers and fixtures of the intake tests: channels, stocked variants, store-shaped payloads,
signed deliveries, and a stand-in for the broker.

Test modules take the fixtures with `from tests.orders.intake_support import *`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from inventory.models import Location
from inventory.services import stock_receive
from orders.models import Channel
from orders.services import intake
from orders.services.intake import channel_create, shipping_mapping_save
from orders.signatures import signature_compute
from tests.catalog.factories import ProductFactory, VariantFactory, VendorFactory

FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY_SECRET = "shpss_test_4f9a1c7e2b8d6f0a3c5e7b9d"
WOO_SECRET = "wc-secret-Xq7Lm2Pa9Rb3Tz8Vn"
GENERIC_SECRET = "generic-secret-Jd82Kf03Lq19Zx"
WOO_SOURCE = "https://shop.example.org/"
STOCK = 1_000
# SKUs in the stored payloads, with stock; the Shopify and WooCommerce fixtures use them.
STOCKED_SKUS = ("MUG-OCEAN", "CANDLE-CEDAR", "TOWEL-SAGE", "CARDS-SET6")

__all__ = [
    "GENERIC_SECRET",
    "SHOPIFY_SECRET",
    "T0",
    "WOO_SECRET",
    "WOO_SOURCE",
    "Built",
    "broker",
    "build_all",
    "drop_ship_variant",
    "dumps",
    "generic_channel",
    "generic_headers",
    "generic_order",
    "later",
    "load_fixture",
    "pickup_store",
    "post",
    "shopify_channel",
    "shopify_headers",
    "shopify_order",
    "stocked",
    "woo_channel",
    "woo_headers",
    "woo_order",
]


def load_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


# Headers as the stores send them ----------------------------------------------------------


def shopify_headers(
    body: bytes,
    *,
    secret: str = SHOPIFY_SECRET,
    topic: str = "orders/create",
    webhook_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, str]:
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature_compute(secret=secret, body=body),
        "X-Shopify-Shop-Domain": "corner-shop.myshopify.com",
        "X-Shopify-API-Version": "2025-07",
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-{abs(hash(body)) % 10**12:012d}",
        "X-Shopify-Triggered-At": "2026-03-02T19:21:09.000000Z",
    }
    if event_id:
        headers["X-Shopify-Event-Id"] = event_id
    return headers


def woo_headers(
    body: bytes,
    *,
    secret: str = WOO_SECRET,
    topic: str = "order.created",
    delivery_id: str = "36e520ebabc2fa725092ff4a47acedf2",
) -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "X-WC-Webhook-Source": WOO_SOURCE,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature_compute(secret=secret, body=body),
        "X-WC-Webhook-ID": "3",
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def generic_headers(body: bytes, *, key: str, secret: str = GENERIC_SECRET) -> dict[str, str]:
    return {
        "X-Opsdesk-Signature": signature_compute(secret=secret, body=body),
        "Idempotency-Key": key,
    }


def post(
    client: Client,
    kind: str,
    slug: str,
    body: bytes,
    headers: dict[str, str],
    content_type: str = "application/json",
):
    url = reverse(f"orders:webhook_{kind}", kwargs={"channel": slug})
    return client.post(url, data=body, content_type=content_type, headers=headers)


# Payloads in the stores' shapes -----------------------------------------------------------

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def shopify_order(
    order_id: int,
    *,
    updated_at: datetime = T0,
    lines: list[tuple[str, int, str]] | None = None,
    email: str = "buyer@example.com",
    financial_status: str = "paid",
    cancelled: bool = False,
    shipping_code: str = "Standard",
    note: str = "",
    country: str = "US",
) -> dict[str, Any]:
    """A Shopify Order resource with the fields the intake reads (prices as strings)."""
    lines = lines if lines is not None else [("MUG-OCEAN", 1, "24.00")]
    subtotal = sum((Decimal(price) * qty for _, qty, price in lines), Decimal("0.00"))
    address = {
        "first_name": "Sam",
        "last_name": "Lee",
        "address1": "1 Main St",
        "address2": None,
        "city": "Springfield",
        "zip": "62701",
        "province": "Illinois",
        "province_code": "IL",
        "country": "United States",
        "country_code": country,
        "phone": None,
        "company": None,
        "name": "Sam Lee",
    }
    return {
        "id": order_id,
        "name": f"#{order_id % 100000}",
        "order_number": order_id % 100000,
        "email": email,
        "created_at": _iso(T0),
        "updated_at": _iso(updated_at),
        "cancelled_at": _iso(updated_at) if cancelled else None,
        "cancel_reason": "customer" if cancelled else None,
        "currency": "USD",
        "financial_status": financial_status,
        "total_line_items_price": f"{subtotal:.2f}",
        "subtotal_price": f"{subtotal:.2f}",
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "total_price": f"{subtotal + Decimal('5.00'):.2f}",
        "total_shipping_price_set": {
            "shop_money": {"amount": "5.00", "currency_code": "USD"},
            "presentment_money": {"amount": "5.00", "currency_code": "USD"},
        },
        "taxes_included": False,
        "browser_ip": "203.0.113.9",
        "note": note,
        "customer": {"id": 1, "email": email, "first_name": "Sam", "last_name": "Lee"},
        "billing_address": address,
        "shipping_address": address,
        "line_items": [
            {
                "id": order_id * 10 + position,
                "sku": sku,
                "name": f"Item {sku}",
                "title": f"Item {sku}",
                "quantity": qty,
                "price": price,
                "total_discount": "0.00",
                "tax_lines": [],
                "discount_allocations": [],
            }
            for position, (sku, qty, price) in enumerate(lines)
        ],
        "shipping_lines": [
            {
                "id": 1,
                "code": shipping_code,
                "source": "shopify",
                "title": shipping_code,
                "price": "5.00",
            }
        ]
        if shipping_code
        else [],
    }


def woo_order(
    order_id: int,
    *,
    modified: datetime = T0,
    status: str = "processing",
    lines: list[tuple[str, int, str]] | None = None,
    method_id: str = "flat_rate",
    email: str = "buyer@example.org",
    note: str = "",
) -> dict[str, Any]:
    """A WooCommerce REST order with the fields the intake reads."""
    lines = lines if lines is not None else [("TOWEL-SAGE", 1, "10.00")]
    items = []
    for position, (sku, qty, price) in enumerate(lines):
        amount = Decimal(price) * qty
        items.append(
            {
                "id": order_id * 10 + position,
                "name": f"Item {sku}",
                "sku": sku,
                "quantity": qty,
                "subtotal": f"{amount:.2f}",
                "total": f"{amount:.2f}",
                "total_tax": "0.00",
                "price": float(price),
            }
        )
    subtotal = sum((Decimal(p) * q for _, q, p in lines), Decimal("0.00"))
    address = {
        "first_name": "Rae",
        "last_name": "Kim",
        "company": "",
        "address_1": "9 Elm St",
        "address_2": "",
        "city": "Portland",
        "state": "OR",
        "postcode": "97205",
        "country": "US",
    }
    stamp = modified.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "USD",
        "date_created_gmt": T0.replace(tzinfo=None).isoformat(timespec="seconds"),
        "date_modified_gmt": stamp,
        "date_paid_gmt": stamp if status in ("processing", "completed") else None,
        "discount_total": "0.00",
        "shipping_total": "5.00",
        "total_tax": "0.00",
        "total": f"{subtotal + Decimal('5.00'):.2f}",
        "prices_include_tax": False,
        "customer_ip_address": "198.51.100.7",
        "customer_note": note,
        "billing": {**address, "email": email, "phone": "555-0100"},
        "shipping": address,
        "payment_method": "stripe",
        "meta_data": [],
        "line_items": items,
        "shipping_lines": [
            {
                "id": 1,
                "method_id": method_id,
                "instance_id": "1",
                "method_title": method_id,
                "total": "5.00",
            }
        ],
    }


def generic_order(
    order_id: str,
    *,
    updated_at: datetime = T0,
    lines: list[tuple[str, int, str]] | None = None,
    status: str = "open",
    method: str = "standard",
) -> dict[str, Any]:
    lines = lines if lines is not None else [("MUG-OCEAN", 2, "12.50")]
    subtotal = sum((Decimal(p) * q for _, q, p in lines), Decimal("0.00"))
    return {
        "id": order_id,
        "number": order_id,
        "created_at": _iso(T0),
        "updated_at": _iso(updated_at),
        "status": status,
        "currency": "USD",
        "customer": {"email": "ana@example.com", "first_name": "Ana", "last_name": "Lopes"},
        "billing_address": {
            "address1": "12 Main St",
            "city": "Springfield",
            "country": "US",
            "postcode": "62701",
        },
        "lines": [
            {"sku": sku, "title": f"Item {sku}", "quantity": qty, "unit_price": price}
            for sku, qty, price in lines
        ],
        "subtotal": f"{subtotal:.2f}",
        "shipping_total": "4.95",
        "total": f"{subtotal + Decimal('4.95'):.2f}",
        "payment": {"status": "paid", "gateway": "stripe"},
        "shipping": {"method": method, "title": "Standard shipping"},
    }


# Fixtures -------------------------------------------------------------------------------


@pytest.fixture
def pickup_store(db) -> Location:
    location, _ = Location.objects.get_or_create(
        name="Main Street store",
        defaults={"kind": Location.Kind.STORE, "is_pickup": True, "web_priority": 10},
    )
    return location


@pytest.fixture
def stocked(pickup_store) -> dict[str, Variant]:
    """The payloads' SKUs, each with plenty of stock at the store (received, with movements)."""
    variants = {}
    for sku in STOCKED_SKUS:
        variant = Variant.objects.filter(sku=sku).first() or VariantFactory(sku=sku)
        stock_receive(
            variant_id=variant.pk, location_id=pickup_store.pk, quantity=STOCK, actor=None
        )
        variants[sku] = variant
    return variants


@pytest.fixture
def drop_ship_variant(db) -> Variant:
    vendor = VendorFactory(name="Direct Goods Supply", drop_ships=True)
    return VariantFactory(sku="DROP-LAMP", product=ProductFactory(vendor=vendor))


@pytest.fixture
def shopify_channel(db, pickup_store) -> Channel:
    channel = channel_create(kind="shopify", name="Web", secret=SHOPIFY_SECRET, slug="web")
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="Standard",
        method="ship",
        pickup_location_id=None,
        actor=None,
    )
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="Pickup",
        method="store_pickup",
        pickup_location_id=pickup_store.pk,
        actor=None,
    )
    return channel


@pytest.fixture
def woo_channel(db, pickup_store) -> Channel:
    channel = channel_create(kind="woocommerce", name="Woo", secret=WOO_SECRET, slug="woo")
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="local_pickup",
        method="store_pickup",
        pickup_location_id=pickup_store.pk,
        actor=None,
    )
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="flat_rate",
        method="ship",
        pickup_location_id=None,
        actor=None,
    )
    return channel


@pytest.fixture
def generic_channel(db) -> Channel:
    channel = channel_create(kind="generic", name="Partner", secret=GENERIC_SECRET, slug="partner")
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="standard",
        method="ship",
        pickup_location_id=None,
        actor=None,
    )
    return channel


class Built(list):
    """The delivery ids handed to the (stand-in) broker, in order."""


@pytest.fixture
def broker(monkeypatch) -> Built:
    """Replaces the broker: ids are collected instead of enqueued; build_all builds them."""
    sent = Built()
    monkeypatch.setattr(
        intake, "deliveries_enqueue", lambda *, delivery_ids: sent.extend(delivery_ids)
    )
    return sent


def build_all(ids: list[int]) -> None:
    """Run the build task's service for each id, as a worker would."""
    for delivery_id in list(ids):
        intake.delivery_build(delivery_id=delivery_id)


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)
