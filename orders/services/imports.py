"""Orders that do not come by webhook: a CSV file from the store, and phone orders entered by
staff. Both go through the same build as a delivery (orders.services.build)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Variant
from orders.formats import IncomingLine, IncomingOrder
from orders.formats.csvfile import parse_csv
from orders.models import Channel, Order
from orders.services.build import BuildOutcome, order_build, order_route_new, retry_on_conflict

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged)


def orders_import_csv(
    *, channel: Channel, content: bytes, actor: User | None, filename: str = ""
) -> ImportResult:
    """Import a CSV file of orders into a channel (see orders.formats.csvfile).

    The whole file is checked first, and refused as a whole (CsvRefused, naming the row and
    column) before anything is built. Each order is then built in its own transaction;
    importing the same file again changes nothing.
    """
    incoming_orders = parse_csv(content)
    result = ImportResult()
    via = {"import": filename[:120]} if filename else {"import": "csv"}
    for incoming in incoming_orders:
        built = retry_on_conflict(
            lambda incoming=incoming: order_build(
                channel=channel,
                incoming=incoming,
                source=Order.Source.CSV,
                actor=actor,
                via=via,
            )
        )
        if built.created:
            result.created.append(built.order.number)
            if built.to_route:
                order_route_new(order_id=built.order.pk)
        elif built.outcome == BuildOutcome.UPDATED:
            result.updated.append(built.order.number)
        else:
            result.unchanged.append(built.order.number)
    logger.info(
        "CSV import into %s by %s: %d created, %d updated, %d unchanged",
        channel.slug,
        actor,
        len(result.created),
        len(result.updated),
        len(result.unchanged),
    )
    return result


@dataclass
class PhoneLine:
    sku: str
    quantity: int
    unit_price: Decimal | None = None


@dataclass
class PhoneOrder:
    """What staff take down on the phone; prices default to the variants' retail prices."""

    lines: list[PhoneLine]
    method: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    billing_address: dict[str, str] = field(default_factory=dict)
    shipping_address: dict[str, str] = field(default_factory=dict)
    pickup_location_id: int | None = None
    shipping_total: Decimal = ZERO
    discount_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    payment_status: str = Order.PaymentStatus.PENDING
    note: str = ""


def phone_order_create(*, data: PhoneOrder, actor: User | None) -> Order:
    """Enter an order taken by phone: lines by SKU, then built and routed like any other."""
    if not data.lines:
        raise ValidationError({"lines": "Add at least one line."})
    skus = [line.sku for line in data.lines]
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=skus).select_related("product")}
    unknown = [sku for sku in skus if sku not in variants]
    if unknown:
        raise ValidationError({"lines": f"Unknown SKU: {', '.join(unknown)}."})
    if data.method not in (
        Order.Method.SHIP,
        Order.Method.STORE_PICKUP,
        Order.Method.LOCAL_DELIVERY,
    ):
        raise ValidationError({"method": "Choose how the order is fulfilled."})
    if data.method == Order.Method.STORE_PICKUP and data.pickup_location_id is None:
        raise ValidationError({"pickup_location": "Choose where the customer collects it."})
    lines = []
    for line in data.lines:
        variant = variants[line.sku]
        options = variant.options_label
        lines.append(
            IncomingLine(
                sku=variant.sku,
                title=f"{variant.product.title}{' — ' + options if options else ''}"[:255],
                quantity=line.quantity,
                unit_price=line.unit_price if line.unit_price is not None else variant.retail_price,
            )
        )
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    total = subtotal - data.discount_total + data.shipping_total + data.tax_total
    if total < 0:
        raise ValidationError({"discount_total": "The discount is larger than the order."})
    now = timezone.now()
    taken_by = actor.get_username() if actor is not None else ""
    incoming = IncomingOrder(
        external_id="",
        number="",
        email=data.email.strip().lower(),
        phone=data.phone,
        first_name=data.first_name,
        last_name=data.last_name,
        billing_address=data.billing_address,
        shipping_address=data.shipping_address or data.billing_address,
        currency=settings.STORE_CURRENCY,
        subtotal=subtotal,
        discount_total=data.discount_total,
        shipping_total=data.shipping_total,
        tax_total=data.tax_total,
        total=total,
        payment_status=data.payment_status,
        payment_gateway="phone",
        shipping_line={"method": data.method, "taken_by": taken_by, "note": data.note[:500]},
        fulfillment_method=data.method,
        pickup_location_id=data.pickup_location_id,
        lines=lines,
        placed_at=now,
        updated_at=now,
    )
    built = order_build(
        channel=None, incoming=incoming, source=Order.Source.PHONE, actor=actor, via={}
    )
    if built.to_route:
        order_route_new(order_id=built.order.pk)
    built.order.refresh_from_db()
    return built.order
