"""opsdesk's generic JSON order format, for stores that are neither Shopify nor WooCommerce.

Sending an order
----------------
POST the order to `/webhooks/generic/<channel>/` (the channel's slug; `manage.py channel_add
--kind generic --name NAME` prints the URL and the secret) with these headers:

    Content-Type: application/json
    X-Opsdesk-Signature: base64(HMAC-SHA256(secret, raw body))
    Idempotency-Key: a unique string per order version, up to 200 characters

The signature is computed over the exact bytes sent. A delivery with the same
Idempotency-Key and the same body gets the same answer again, and is applied once; the same
key with a different body is refused with 422. Keys are remembered for 24 hours.

Answers: 202 `{"status": "accepted", "delivery": 123}` (the order is built within seconds);
400 `{"error": "..."}` when the body is not an order, saying why; 401 for a missing or wrong
signature; 422 for a reused Idempotency-Key. Do not retry a 400 or 401 unchanged.

Send the whole order every time, at creation and after every change, with a newer
`updated_at`: opsdesk keeps the newest version it has seen and ignores older ones, so
deliveries may arrive in any order.

The body
--------
    {
      "id": "A-1001",
      "number": "1001",
      "created_at": "2026-03-01T10:15:00+01:00",
      "updated_at": "2026-03-01T10:20:00+01:00",
      "status": "open",
      "currency": "USD",
      "customer": {"email": "ana@example.com", "first_name": "Ana", "last_name": "Lopes",
                   "phone": "+1 555 0100"},
      "billing_address": {"first_name": "Ana", "last_name": "Lopes", "company": "",
                          "address1": "12 Main St", "address2": "", "city": "Springfield",
                          "region": "IL", "postcode": "62701", "country": "US",
                          "phone": "+1 555 0100"},
      "shipping_address": {"first_name": "Ana", "last_name": "Lopes",
                           "address1": "12 Main St", "city": "Springfield",
                           "region": "IL", "postcode": "62701", "country": "US"},
      "lines": [
        {"id": "L1", "sku": "MUG-BLUE", "title": "Blue mug", "quantity": 2,
         "unit_price": "12.50", "discount": "0.00", "tax": "2.00"}
      ],
      "subtotal": "25.00",
      "discount_total": "0.00",
      "shipping_total": "4.95",
      "tax_total": "2.00",
      "total": "31.95",
      "taxes_included": false,
      "payment": {"status": "paid", "gateway": "stripe", "avs_result": "Y",
                  "cvv_result": "M", "card_fingerprint": "visa:4242",
                  "client_ip": "203.0.113.7"},
      "shipping": {"method": "flat_rate", "title": "Standard shipping"}
    }

Fields
------
- `id` (required): the store's id of the order, unique in the channel.
- `number`: the number customers see; default: `id`.
- `created_at` (required), `updated_at` (default: `created_at`): ISO 8601 with an offset.
- `status`: `open` (default) or `cancelled`.
- `currency` (required): ISO 4217.
- `customer`: `email` (orders are matched to customers by it), `first_name`, `last_name`,
  `phone`.
- `billing_address`, `shipping_address`: `first_name`, `last_name`, `company`, `address1`,
  `address2`, `city`, `region`, `postcode`, `country` (ISO 3166-1 alpha-2), `phone`.
- `lines` (required, at least one): `sku`, `title`, `quantity` (whole number, at least 1),
  `unit_price` (required), and `discount` and `tax` for the whole line; `id` optional.
- `subtotal` (the lines before discounts; default: their sum), `discount_total`,
  `shipping_total`, `tax_total`, `total` (required), `taxes_included` (true or false).
- `payment`: `status` (pending, authorized, paid, partially_refunded, refunded, voided;
  default pending), `gateway`, `avs_result`, `cvv_result`, `card_fingerprint`, `client_ip`.
- `shipping`: `method`, matched against the channel's shipping-method mapping (an unmapped
  method puts the order in review), and `title`.

Amounts are JSON strings or numbers, read exactly (never as floating point) and never
negative. A line whose SKU opsdesk does not know keeps its title and waits in review, to be
matched by hand.
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
