"""The CSV import of orders: one row per order line, rows of one order sharing its order_id.

Columns (a header row names them, in any order, case-insensitive):

    order_id       required   the store's id of the order; re-importing it updates, never doubles
    created_at     required   ISO 8601 with an offset, e.g. 2026-03-01T10:15:00+01:00
    currency       required   ISO 4217
    total          required   the order's total
    quantity       required
    unit_price     required
    sku, title     one of them; a SKU opsdesk does not know waits in review
    number, updated_at, status (open/cancelled), email, first_name, last_name, phone,
    billing_address1, billing_address2, billing_city, billing_region, billing_postcode,
    billing_country, shipping_address1 ... shipping_country (the same six),
    subtotal, discount_total, shipping_total, tax_total, taxes_included (true/false),
    payment_status, payment_gateway, shipping_method, line_discount, line_tax

Order-level values are read from an order's first row; later rows may leave them empty.
`shipping_method` is ship, store_pickup or local_delivery, or a value the channel's
shipping-method mapping knows. The whole file is checked before anything is imported: a bad
cell refuses the file, naming its row and column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ValidationError

from orders.formats import (
    ADDRESS_KEYS,
    IncomingOrder,
    NotAnOrder,
    generic,
    money,
    quantity,
    text,
    timestamp,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
REQUIRED = ("order_id", "created_at", "currency", "total", "quantity", "unit_price")
ADDRESS_COLUMNS = ("address1", "address2", "city", "region", "postcode", "country")
METHODS = ("ship", "store_pickup", "local_delivery")
ORDER_MONEY = ("subtotal", "discount_total", "shipping_total", "tax_total", "total")
KNOWN = {
    *REQUIRED,
    *ORDER_MONEY,
    "sku",
    "title",
    "number",
    "updated_at",
    "status",
    "email",
    "first_name",
    "last_name",
    "phone",
    "taxes_included",
    "payment_status",
    "payment_gateway",
    "shipping_method",
    "line_discount",
    "line_tax",
    *(f"billing_{c}" for c in ADDRESS_COLUMNS),
    *(f"shipping_{c}" for c in ADDRESS_COLUMNS),
}
TRUE = ("1", "true", "yes", "y")


class CsvRefused(ValidationError):
    """The file is refused as a whole; row (1 = the header) and column say where."""

    def __init__(self, message: str, *, row: int | None = None, column: str = "") -> None:
        self.row = row
        self.column = column
        where = f"Row {row}" if row else "The file"
        where += f", column {column}" if column else ""
        super().__init__(f"{where}: {message}", code="csv_refused")


def _decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise CsvRefused(f"it is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if b"\x00" in content[:4096]:
        raise CsvRefused("it is not a text file.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRefused("it is not UTF-8 text.") from None


def _cell(row: dict[str, str], name: str) -> str:
    return (row.get(name) or "").strip()


def _address(row: dict[str, str], prefix: str) -> dict[str, str]:
    values = {c: _cell(row, f"{prefix}_{c}") for c in ADDRESS_COLUMNS}
    if not any(values.values()):
        return {}
    return {key: values.get(key, "") for key in ADDRESS_KEYS}


def _check_row(row: dict[str, str], number: int) -> None:
    """Cell checks that can name their column."""
    for name in ("quantity",):
        try:
            quantity(_cell(row, name), name=name)
        except NotAnOrder as exc:
            raise CsvRefused(str(exc), row=number, column=name) from None
    for name in ("unit_price", "line_discount", "line_tax"):
        try:
            money(_cell(row, name), name=name, required=name == "unit_price")
        except NotAnOrder as exc:
            raise CsvRefused(str(exc), row=number, column=name) from None
    if not _cell(row, "sku") and not _cell(row, "title"):
        raise CsvRefused("give a sku or a title.", row=number, column="sku")


def _check_first_row(row: dict[str, str], number: int) -> None:
    for name in ("created_at", "updated_at"):
        if name == "created_at" or _cell(row, name):
            try:
                timestamp(_cell(row, name), name=name)
            except NotAnOrder as exc:
                raise CsvRefused(str(exc), row=number, column=name) from None
    for name in ORDER_MONEY:
        try:
            money(_cell(row, name), name=name, required=name == "total")
        except NotAnOrder as exc:
            raise CsvRefused(str(exc), row=number, column=name) from None


def _order_data(first: dict[str, str], rows: list[dict[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": _cell(first, "order_id"),
        "number": _cell(first, "number"),
        "created_at": _cell(first, "created_at"),
        "updated_at": _cell(first, "updated_at"),
        "status": _cell(first, "status").lower() or "open",
        "currency": _cell(first, "currency"),
        "customer": {
            "email": _cell(first, "email"),
            "first_name": _cell(first, "first_name"),
            "last_name": _cell(first, "last_name"),
            "phone": _cell(first, "phone"),
        },
        "billing_address": _address(first, "billing"),
        "shipping_address": _address(first, "shipping"),
        "taxes_included": _cell(first, "taxes_included").lower() in TRUE,
        "payment": {
            "status": _cell(first, "payment_status").lower() or "pending",
            "gateway": _cell(first, "payment_gateway"),
        },
        "lines": [
            {
                "sku": _cell(row, "sku"),
                "title": _cell(row, "title"),
                "quantity": _cell(row, "quantity"),
                "unit_price": _cell(row, "unit_price"),
                "discount": _cell(row, "line_discount"),
                "tax": _cell(row, "line_tax"),
            }
            for row in rows
        ],
    }
    for name in ORDER_MONEY:
        data[name] = _cell(first, name)
    return data


def parse_csv(content: bytes) -> list[IncomingOrder]:
    """Every order of a CSV file, or CsvRefused naming the first bad row and column."""
    reader = csv.DictReader(io.StringIO(_decode(content), newline=""))
    header = [text(name).lower() for name in (reader.fieldnames or [])]
    if not header:
        raise CsvRefused("it is empty.")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CsvRefused(f"the header has no {', '.join(missing)} column.", row=1)
    unknown = [name for name in header if name and name not in KNOWN]
    if unknown:
        raise CsvRefused(f"unknown column {unknown[0]!r}.", row=1, column=unknown[0])
    reader.fieldnames = header
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise CsvRefused(f"it has more than {MAX_ROWS} rows.")
        if None in row:
            raise CsvRefused("more cells than the header has columns.", row=number)
        if not any((value or "").strip() for value in row.values()):
            continue
        order_id = _cell(row, "order_id")
        if not order_id:
            raise CsvRefused("order_id is empty.", row=number, column="order_id")
        _check_row(row, number)
        groups.setdefault(order_id, []).append((number, row))
    if not groups:
        raise CsvRefused("it has no orders.")
    orders = []
    for rows in groups.values():
        first_number, first = rows[0]
        _check_first_row(first, first_number)
        try:
            incoming = generic.parse(_order_data(first, [row for _, row in rows]))
        except NotAnOrder as exc:
            raise CsvRefused(str(exc), row=first_number) from None
        method = _cell(first, "shipping_method")
        if method.lower() in METHODS:
            incoming.fulfillment_method = method.lower()
            incoming.shipping_line = {"method": method.lower()}
        elif method:
            incoming.shipping_line = {"method": method}
            incoming.shipping_keys, incoming.shipping_label = [method], method
        orders.append(incoming)
    return orders
