"""The order formats opsdesk reads, each parsed to one internal shape: IncomingOrder.

shopify      the Order resource of Shopify's orders/create, orders/updated, orders/cancelled
woocommerce  WooCommerce's REST order, as its order.created / order.updated webhooks send it
generic      opsdesk's own JSON format, for other stores (documented in generic.py)
csvfile      the CSV import: one row per order line

A parser takes the decoded JSON (parse_json: numbers as Decimal, never float) and returns an
IncomingOrder, or raises NotAnOrder with a reason a sender can act on. Parsers do no database
work; orders.services.build turns an IncomingOrder into an Order.

Addresses are kept on the order as JSON with these keys (missing ones are empty strings):
first_name, last_name, company, address1, address2, city, region, postcode, country (ISO
3166-1 alpha-2, upper case), phone, email.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
MAX_QUANTITY = 100_000
MAX_LINES = 1_000
ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "region",
    "postcode",
    "country",
    "phone",
    "email",
)


class NotAnOrder(ValueError):
    """The body is not an order this format can read; the message says why."""


@dataclass
class IncomingLine:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    external_id: str = ""


@dataclass
class IncomingOrder:
    """One order as a store sent it, in opsdesk's terms; money exactly as received."""

    external_id: str
    number: str
    email: str
    currency: str
    total: Decimal
    lines: list[IncomingLine]
    placed_at: datetime
    # The store's modification time of this version; orders keep the newest they have seen.
    updated_at: datetime
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    billing_address: dict[str, str] = field(default_factory=dict)
    shipping_address: dict[str, str] = field(default_factory=dict)
    subtotal: Decimal = Decimal("0.00")
    discount_total: Decimal = Decimal("0.00")
    shipping_total: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")
    taxes_included: bool = False
    payment_status: str = "pending"
    payment_gateway: str = ""
    avs_result: str = ""
    cvv_result: str = ""
    card_fingerprint: str = ""
    client_ip: str | None = None
    # The delivery data as received (kept on the order) and the values the channel's
    # shipping-method mapping is tried with, most specific first.
    shipping_line: dict[str, Any] = field(default_factory=dict)
    shipping_keys: list[str] = field(default_factory=list)
    shipping_label: str = ""
    # Set by staff (phone orders) or a CSV naming a method outright; otherwise the channel's
    # mapping decides.
    fulfillment_method: str = ""
    pickup_location_id: int | None = None
    cancelled: bool = False
    cancel_reason: str = ""


# Reading JSON ----------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise NotAnOrder(f"The body has {name}, which is not a number.")


def parse_json(body: bytes) -> Any:
    """The body's JSON, with every non-integer number a Decimal (money never passes a float)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAnOrder("The body is not UTF-8 text.") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise NotAnOrder(f"The body is not JSON: {exc.msg} at character {exc.pos}.") from None


def require_object(data: Any, what: str = "The body") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise NotAnOrder(f"{what} must be a JSON object.")
    return data


# Fields ----------------------------------------------------------------------------------


def text(value: Any, *, limit: int = 255) -> str:
    """A short text field: strings and numbers as text, anything else empty; trimmed."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    if isinstance(value, Decimal):
        value = format(value, "f")
    return str(value).strip()[:limit]


def required_text(data: dict[str, Any], key: str, *, where: str = "", limit: int = 255) -> str:
    value = text(data.get(key), limit=limit)
    if not value:
        raise NotAnOrder(f"Missing field {where}{key}.")
    return value


def money(value: Any, *, name: str, required: bool = False) -> Decimal:
    """An amount as received: a JSON string or number, exact, to the cent; never negative."""
    if value is None or value == "":
        if required:
            raise NotAnOrder(f"Missing amount {name}.")
        return Decimal("0.00")
    if isinstance(value, bool | float | dict | list):
        raise NotAnOrder(f"{name} is not an amount.")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise NotAnOrder(f"{name} is not an amount: {text(value, limit=40)!r}.") from None
    if not amount.is_finite():
        raise NotAnOrder(f"{name} is not an amount.")
    if amount < 0:
        raise NotAnOrder(f"{name} is negative.")
    if amount > MAX_AMOUNT:
        raise NotAnOrder(f"{name} is too large.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value: Any, *, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise NotAnOrder(f"{name} is not a whole number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise NotAnOrder(f"{name} is not a whole number.") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise NotAnOrder(f"{name} is not a whole number.")
    if not 0 < number <= MAX_QUANTITY:
        raise NotAnOrder(f"{name} must be between 1 and {MAX_QUANTITY}.")
    return int(number)


def timestamp(value: Any, *, name: str, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 date-time; one without an offset is refused unless naive_is_utc."""
    raw = text(value, limit=60)
    if not raw:
        raise NotAnOrder(f"Missing date-time {name}.")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise NotAnOrder(f"{name} is not an ISO 8601 date-time: {raw!r}.") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise NotAnOrder(f"{name} has no time zone offset: {raw!r}.")
        moment = moment.replace(tzinfo=UTC)
    return moment


def ip_address(value: Any) -> str | None:
    raw = text(value, limit=60)
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def currency(value: Any) -> str:
    code = text(value, limit=10).upper()
    if len(code) != 3 or not code.isalpha():
        raise NotAnOrder(f"currency must be a three-letter ISO 4217 code, not {code!r}.")
    return code


def email(value: Any) -> str:
    address = text(value, limit=254).lower()
    if address and ("@" not in address or " " in address):
        raise NotAnOrder(f"{address!r} is not an e-mail address.")
    return address


def address(data: Any, mapping: dict[str, str]) -> dict[str, str]:
    """An address in opsdesk's keys; `mapping` names the store's key for each of ours."""
    if not isinstance(data, dict):
        return {}
    result = {key: text(data.get(mapping.get(key, key))) for key in ADDRESS_KEYS}
    result["country"] = result["country"].upper()[:2]
    result["email"] = result["email"].lower()
    if not any(result.values()):
        return {}
    return result


def lines_of(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = data.get(key)
    if not isinstance(raw, list) or not raw:
        raise NotAnOrder(f"The order has no {key}.")
    if len(raw) > MAX_LINES:
        raise NotAnOrder(f"The order has more than {MAX_LINES} {key}.")
    for position, line in enumerate(raw, start=1):
        require_object(line, f"{key}[{position}]")
    return raw


def parser_for(kind: str):
    """The parse function of a channel kind: parse(data, topic=...) -> IncomingOrder."""
    from orders.formats import generic, shopify, woocommerce

    return {"shopify": shopify.parse, "woocommerce": woocommerce.parse, "generic": generic.parse}[
        kind
    ]
