"""Building orders: an IncomingOrder (from a webhook, the CSV import, a reconciliation run or a
phone order) becomes an Order, or updates the one the store sent before.

An order is identified by its channel and the store's id (unique together), so a repeated or
parallel delivery never makes a second one: the loser of the insert race waits for the
winner's commit and applies its version as an update. Versions are ordered by the store's
modification time (`source_updated_at`): an older one never overwrites newer data, and an
update that arrives before its create builds the order. Stock is reserved for the whole
order when it is built (inventory's stock_reserve, all or nothing: what cannot be reserved
becomes a backorder in the out-of-stock queue); a line whose SKU is unknown keeps its SKU and
title without a variant, and the order waits in review with the reason until someone matches
it (order_line_match).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import prefetch_related_objects

from catalog.models import Variant
from opsdesk.core.bulk import objects_insert
from orders.formats import IncomingLine, IncomingOrder
from orders.models import Channel, Customer, Order, OrderEvent, OrderLine
from orders.services.customers import customer_match, customers_match_many
from orders.signals import order_received

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from inventory.services import ReserveResult

logger = logging.getLogger(__name__)

# Orders whose lines, method and stock still follow the store's changes; after approval a
# change is recorded on the timeline instead.
OPEN_FOR_CHANGES = (
    Order.Status.RECEIVED,
    Order.Status.AWAITING_REVIEW,
    Order.Status.ON_HOLD,
)
HEADER_FIELDS = (
    "number",
    "email",
    "phone",
    "billing_address",
    "shipping_address",
    "currency",
    "subtotal",
    "discount_total",
    "shipping_total",
    "tax_total",
    "total",
    "taxes_included",
    "payment_status",
    "payment_gateway",
    "avs_result",
    "cvv_result",
    "card_fingerprint",
    "client_ip",
    "shipping_line",
)
# Review reasons that intake writes start with one of these; they are recomputed when the
# order changes, and reasons others add are left alone.
REASON_UNKNOWN_SKU = "Unknown SKU"
REASON_NO_SKU = "Line without a SKU"
REASON_METHOD = "Shipping method"
REASON_NO_SHIPPING = "No shipping line"
REASON_NOT_RESERVED = "Not reserved"
INTAKE_REASONS = (
    REASON_UNKNOWN_SKU,
    REASON_NO_SKU,
    REASON_METHOD,
    REASON_NO_SHIPPING,
    REASON_NOT_RESERVED,
)
# As review's order_cancel: a cancelled order with these is owed a refund.
REFUNDABLE = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)
CONFLICT_ATTEMPTS = 4
# PostgreSQL: serialization_failure, deadlock_detected.
CONFLICT_CODES = ("40001", "40P01")


class BuildOutcome:
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    OLDER = "older"


@dataclass
class BuildResult:
    order: Order
    outcome: str
    detail: str = ""
    events: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome == BuildOutcome.CREATED

    @property
    def to_route(self) -> bool:
        """A new order the fraud check still has to route (not one built cancelled)."""
        return self.created and self.order.status == Order.Status.RECEIVED


def retry_on_conflict[T](func: Callable[[], T]) -> T:
    """Run `func` (a whole transaction) again after a deadlock or serialization failure."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return func()
        except OperationalError as exc:
            code = getattr(exc.__cause__, "pgcode", None)
            if attempt == CONFLICT_ATTEMPTS or code not in CONFLICT_CODES:
                raise
            logger.info("order build: conflict (%s) on attempt %d, trying again", code, attempt)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


# Lines, variants and the fulfillment method ----------------------------------------------


def _variants_by_sku(skus: set[str]) -> dict[str, Variant]:
    if not skus:
        return {}
    return {
        v.sku: v
        for v in Variant.objects.filter(sku__in=sorted(skus)).select_related("product__vendor")
    }


def _drop_ships(variant: Variant | None) -> bool:
    vendor = variant.product.vendor if variant is not None else None
    return bool(vendor is not None and vendor.drop_ships)


def _new_lines(
    order: Order, incoming: list[IncomingLine], variants: dict[str, Variant] | None = None
) -> list[OrderLine]:
    if variants is None:
        variants = _variants_by_sku({line.sku for line in incoming if line.sku})
    lines = []
    for line in incoming:
        variant = variants.get(line.sku) if line.sku else None
        lines.append(
            OrderLine(
                order=order,
                external_id=line.external_id,
                variant=variant,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
                drop_ship=_drop_ships(variant),
            )
        )
    return lines


def unknown_line_reason(line: OrderLine) -> str:
    """The review reason of a line without a variant (the same text every time)."""
    if line.sku:
        return f"{REASON_UNKNOWN_SKU} {line.sku!r}: {line.title}. Match the line by hand."
    return f"{REASON_NO_SKU}: {line.title}. Match the line by hand."


@dataclass
class MethodChoice:
    method: str
    pickup_location_id: int | None = None
    reason: str = ""


def _method_choice(
    channel: Channel | None, incoming: IncomingOrder, lines: list[OrderLine]
) -> MethodChoice:
    if incoming.fulfillment_method:
        choice = MethodChoice(incoming.fulfillment_method, incoming.pickup_location_id)
    elif channel is None:
        choice = MethodChoice(
            Order.Method.UNKNOWN,
            reason=f"{REASON_NO_SHIPPING}: choose how the order is fulfilled.",
        )
    else:
        mappings = {m.match_value.strip().lower(): m for m in channel.method_mappings.all()}
        mapping = next(
            (mappings[k.lower()] for k in incoming.shipping_keys if k.lower() in mappings), None
        )
        if mapping is not None:
            choice = MethodChoice(mapping.method, mapping.pickup_location_id)
        elif incoming.shipping_keys:
            label = incoming.shipping_label or incoming.shipping_keys[0]
            keys = ", ".join(incoming.shipping_keys)
            choice = MethodChoice(
                Order.Method.UNKNOWN,
                reason=(
                    f"{REASON_METHOD} {label!r} ({keys}) is not mapped for channel "
                    f"{channel.name}: map it on the channel page, or choose the method."
                ),
            )
        else:
            choice = MethodChoice(
                Order.Method.UNKNOWN,
                reason=f"{REASON_NO_SHIPPING} in the order: choose how it is fulfilled.",
            )
    if choice.method == Order.Method.SHIP and lines and all(line.drop_ship for line in lines):
        choice.method = Order.Method.DROP_SHIP
    return choice


def _with_reasons(order: Order, reasons: list[str]) -> list[str]:
    kept = [r for r in order.review_reasons or [] if not str(r).startswith(INTAKE_REASONS)]
    return kept + [r for r in reasons if r]


# Stock -----------------------------------------------------------------------------------


def _own_stock(lines: list[OrderLine]) -> list[tuple[int, int]]:
    """The (variant, quantity) pairs the store reserves itself (not drop ship, matched)."""
    return [
        (line.variant_id, line.quantity)
        for line in lines
        if line.variant_id is not None and not line.drop_ship
    ]


def _reserve(
    order: Order, lines: list[OrderLine], *, actor: User | None
) -> tuple[list[OrderEvent], str]:
    """Reserve the order's own-stock lines at once: events for the timeline, and a review
    reason when they cannot be reserved at all."""
    from inventory.services.stock import stock_reserve

    wanted = _own_stock(lines)
    if not wanted:
        return [], ""
    try:
        result = stock_reserve(
            lines=wanted, actor=actor, source=order, reference=order.number, allow_backorder=True
        )
    except ValidationError as exc:
        result = exc
    return _reserved(order, lines, result, actor=actor)


def _reserved(
    order: Order,
    lines: list[OrderLine],
    result: ReserveResult | ValidationError,
    *,
    actor: User | None,
    location_names: dict[int, str] | None = None,
) -> tuple[list[OrderEvent], str]:
    """What a reservation attempt means for the order: timeline events, or a review reason."""
    from inventory.exceptions import NotReservable
    from inventory.models import Location

    if isinstance(result, NotReservable):
        return [], f"{REASON_NOT_RESERVED}: not for sale: {', '.join(result.skus)}."
    if isinstance(result, ValidationError):
        return [], f"{REASON_NOT_RESERVED}: {' '.join(result.messages)}"
    skus = {line.variant_id: line.variant.sku for line in lines if line.variant is not None}
    if result.backorders:
        return [
            OrderEvent(
                order=order,
                type=OrderEvent.Type.BACKORDERED,
                actor=actor,
                data={
                    "lines": [
                        {"sku": skus.get(b.variant_id, ""), "quantity": b.quantity}
                        for b in result.backorders
                    ],
                    "note": "Not enough stock for the whole order: it waits in the "
                    "out-of-stock queue and is reserved as a whole when stock arrives.",
                },
            )
        ], ""
    if location_names is None:
        location_names = dict(
            Location.objects.filter(
                pk__in={r.location_id for r in result.reservations}
            ).values_list("pk", "name")
        )
    return [
        OrderEvent(
            order=order,
            type=OrderEvent.Type.STOCK_RESERVED,
            actor=actor,
            data={
                "reservations": [
                    {
                        "sku": skus.get(r.variant_id, ""),
                        "quantity": r.quantity,
                        "location": location_names.get(r.location_id, ""),
                    }
                    for r in result.reservations
                ]
            },
        )
    ], ""


def order_stock_release(*, order: Order, actor: User | None, reason: str) -> int:
    """Give back everything held for the order: cancel its pending backorders, then release
    its active reservations (including any the backorders' settling made meanwhile)."""
    from inventory.models import Backorder, Reservation
    from inventory.services import backorder_cancel, stock_release

    source_type = ContentType.objects.get_for_model(Order)
    count = 0
    for backorder_id in Backorder.objects.filter(
        source_type=source_type, source_id=order.pk, status__in=Backorder.PENDING
    ).values_list("pk", flat=True):
        try:
            backorder_cancel(backorder_id=backorder_id, actor=actor, reason=reason)
            count += 1
        except ValidationError:
            pass  # reserved meanwhile with the rest of its order; released below
    for reservation_id in Reservation.objects.filter(
        source_type=source_type, source_id=order.pk, status=Reservation.Status.ACTIVE
    ).values_list("pk", flat=True):
        stock_release(reservation_id=reservation_id, actor=actor, reason=reason)
        count += 1
    return count


# Building --------------------------------------------------------------------------------


def _header(incoming: IncomingOrder) -> dict[str, Any]:
    return {
        "number": incoming.number,
        "email": incoming.email,
        "phone": incoming.phone,
        "billing_address": incoming.billing_address,
        "shipping_address": incoming.shipping_address,
        "currency": incoming.currency,
        "subtotal": incoming.subtotal,
        "discount_total": incoming.discount_total,
        "shipping_total": incoming.shipping_total,
        "tax_total": incoming.tax_total,
        "total": incoming.total,
        "taxes_included": incoming.taxes_included,
        "payment_status": incoming.payment_status,
        "payment_gateway": incoming.payment_gateway,
        "avs_result": incoming.avs_result,
        "cvv_result": incoming.cvv_result,
        "card_fingerprint": incoming.card_fingerprint,
        "client_ip": incoming.client_ip,
        "shipping_line": incoming.shipping_line,
    }


def _cancel_from_store(order: Order, incoming: IncomingOrder, *, actor: User | None) -> None:
    """The store cancelled the order: cancel it as review does (stock back, a paid payment
    due for refund, out of the queues), and cancel its backorders too."""
    from orders.services.review import order_cancel

    reason = (incoming.cancel_reason or "cancelled in the store")[:200]
    order_cancel(order_id=order.pk, actor=actor, reason=f"The store says: {reason}")
    order_stock_release(order=order, actor=actor, reason="Order cancelled in the store")
    order.refresh_from_db(fields=["status", "payment_status", "updated_at"])


def _order_new(
    *,
    channel: Channel | None,
    incoming: IncomingOrder,
    source: str,
    customer: Customer | None,
    variants: dict[str, Variant] | None = None,
) -> tuple[Order, list[OrderLine]]:
    """The order and its lines as first received, not saved yet."""
    order = Order(
        channel=channel,
        source=source,
        external_id=incoming.external_id,
        customer=customer,
        placed_at=incoming.placed_at,
        source_updated_at=incoming.updated_at,
        status=Order.Status.RECEIVED,
        **_header(incoming),
    )
    lines = _new_lines(order, incoming.lines, variants)
    choice = _method_choice(channel, incoming, lines)
    order.fulfillment_method = choice.method
    order.pickup_location_id = choice.pickup_location_id
    reasons = [unknown_line_reason(line) for line in lines if line.variant is None]
    order.review_reasons = [choice.reason, *reasons] if choice.reason else reasons
    return order, lines


def _received_event(
    order: Order,
    *,
    incoming: IncomingOrder,
    source: str,
    actor: User | None,
    via: dict[str, Any],
) -> OrderEvent:
    return OrderEvent(
        order=order,
        type=OrderEvent.Type.RECEIVED,
        actor=actor,
        to_status=Order.Status.RECEIVED,
        data={
            "source": source,
            "channel": order.channel.slug if order.channel else "",
            "external_id": incoming.external_id,
            "store_updated_at": incoming.updated_at.isoformat(),
            **via,
        },
    )


def _order_create(
    *,
    channel: Channel | None,
    incoming: IncomingOrder,
    source: str,
    actor: User | None,
    via: dict[str, Any],
) -> BuildResult:
    customer = customer_match(
        email=incoming.email,
        first_name=incoming.first_name,
        last_name=incoming.last_name,
        phone=incoming.phone,
    )
    order, lines = _order_new(channel=channel, incoming=incoming, source=source, customer=customer)
    order.save(force_insert=True)
    if not order.number:
        order.number = f"P{order.pk:06d}"
        order.save(update_fields=["number"])
    OrderLine.objects.bulk_create(lines)
    events = [_received_event(order, incoming=incoming, source=source, actor=actor, via=via)]
    if not incoming.cancelled:
        reserved, reason = _reserve(order, lines, actor=actor)
        events += reserved
        if reason:
            order.review_reasons = [*order.review_reasons, reason]
            order.save(update_fields=["review_reasons"])
    OrderEvent.objects.bulk_create(events)
    order_received.send(sender=Order, order=order, actor=actor)
    if incoming.cancelled:
        _cancel_from_store(order, incoming, actor=actor)
    return BuildResult(order, BuildOutcome.CREATED, events=[e.type for e in events])


@dataclass
class NewOrder:
    """One order of a batch for orders_create_many: a first version, not cancelled."""

    channel: Channel
    incoming: IncomingOrder
    via: dict[str, Any]
    order: Order | None = None
    lines: list[OrderLine] = field(default_factory=list)


def orders_create_many(*, new: list[NewOrder], source: str = Order.Source.WEBHOOK) -> None:
    """_order_create for a batch of new orders at once, in the caller's transaction; each
    NewOrder gets its order and lines. What one order gets is the same as from order_build:
    its customer, lines, method, review reasons, stock reservation or backorder, and timeline.

    The caller makes sure every order is new (channel and store id unknown, each once in the
    batch) and not cancelled. A parallel build of one of them raises IntegrityError: the
    caller then builds the batch one by one. Routing comes next (risk_assess_many).
    """
    from inventory.models import Location
    from inventory.services import ReserveRequest, stock_reserve_many

    customers = customers_match_many(
        [
            {
                "email": n.incoming.email,
                "first_name": n.incoming.first_name,
                "last_name": n.incoming.last_name,
                "phone": n.incoming.phone,
            }
            for n in new
        ]
    )
    variants = _variants_by_sku({line.sku for n in new for line in n.incoming.lines if line.sku})
    # One object per channel, its shipping mappings read once for the batch.
    channels = {n.channel.pk: n.channel for n in new}
    prefetch_related_objects(list(channels.values()), "method_mappings")
    lines_of: dict[int, list[OrderLine]] = {}
    for position, n in enumerate(new):
        n.order, lines_of[position] = _order_new(
            channel=channels[n.channel.pk],
            incoming=n.incoming,
            source=source,
            customer=customers.get((n.incoming.email or "").strip().lower()),
            variants=variants,
        )
    Order.objects.bulk_create([n.order for n in new])
    unnumbered = [n.order for n in new if not n.order.number]
    for order in unnumbered:
        order.number = f"P{order.pk:06d}"
    Order.objects.bulk_update(unnumbered, ["number"])
    lines = []
    for position, n in enumerate(new):
        n.lines = lines_of[position]
        for line in n.lines:
            line.order = n.order  # sets order_id, now that the order has an id
            lines.append(line)
    objects_insert(lines)  # no line's id is read below, nor by the fraud check
    events = [
        _received_event(n.order, incoming=n.incoming, source=source, actor=None, via=n.via)
        for n in new
    ]
    requests, owners = [], []
    for position, n in enumerate(new):
        if wanted := _own_stock(lines_of[position]):
            requests.append(ReserveRequest(lines=wanted, source=n.order, reference=n.order.number))
            owners.append(position)
    results = stock_reserve_many(requests=requests, actor=None)
    location_names = dict(Location.objects.values_list("pk", "name"))
    not_reserved = []
    for position, result in zip(owners, results, strict=True):
        order = new[position].order
        reserved, reason = _reserved(
            order, lines_of[position], result, actor=None, location_names=location_names
        )
        events += reserved
        if reason:
            order.review_reasons = [*order.review_reasons, reason]
            not_reserved.append(order)
    Order.objects.bulk_update(not_reserved, ["review_reasons"])
    objects_insert(events)
    for n in new:
        order_received.send(sender=Order, order=n.order, actor=None)


def _line_key(line: OrderLine | IncomingLine) -> tuple[str, int]:
    return (line.sku or line.title, line.quantity)


def _lines_key(lines: list[Any]) -> list[tuple[str, int]]:
    return sorted(_line_key(line) for line in lines)


def _money_changes(existing: list[OrderLine], incoming: list[IncomingLine]) -> list[OrderLine]:
    """Same items and quantities: carry over changed titles, prices, discounts and taxes."""
    pairs = zip(
        sorted(existing, key=lambda line: (*_line_key(line), line.pk)),
        sorted(incoming, key=_line_key),
        strict=True,
    )
    changed = []
    for line, new in pairs:
        values = (new.title, new.unit_price, new.discount, new.tax)
        if (line.title, line.unit_price, line.discount, line.tax) != values:
            line.title, line.unit_price, line.discount, line.tax = values
            changed.append(line)
    return changed


def _order_update(
    order: Order,
    *,
    channel: Channel | None,
    incoming: IncomingOrder,
    source: str,
    actor: User | None,
    via: dict[str, Any],
) -> BuildResult:
    if order.source_updated_at is not None and incoming.updated_at <= order.source_updated_at:
        if incoming.updated_at == order.source_updated_at:
            return BuildResult(
                order, BuildOutcome.DUPLICATE, "This version of the order was already applied."
            )
        return BuildResult(
            order,
            BuildOutcome.OLDER,
            f"Older than the order's data ({incoming.updated_at.isoformat()} before "
            f"{order.source_updated_at.isoformat()}): not applied.",
        )
    header = _header(incoming)
    # Money still held for a cancelled order is due back to the customer (review's
    # order_cancel marks it so), until the store reports the refund. An order the store
    # cancels now is marked by order_cancel itself, below.
    if order.status == Order.Status.CANCELLED and header["payment_status"] in REFUNDABLE:
        header["payment_status"] = Order.PaymentStatus.REFUND_DUE
    changed = [name for name, value in header.items() if getattr(order, name) != value]
    for name in changed:
        setattr(order, name, header[name])
    if "email" in changed:
        order.customer = customer_match(
            email=incoming.email,
            first_name=incoming.first_name,
            last_name=incoming.last_name,
            phone=incoming.phone,
        )
        changed.append("customer")
    events: list[OrderEvent] = []
    data: dict[str, Any] = {"store_updated_at": incoming.updated_at.isoformat(), **via}
    open_for_changes = order.status in OPEN_FOR_CHANGES
    existing = list(order.lines.select_related("variant__product__vendor"))
    if _lines_key(existing) != _lines_key(incoming.lines):
        if open_for_changes:
            order_stock_release(order=order, actor=actor, reason="Lines changed in the store")
            order.lines.all().delete()
            lines = _new_lines(order, incoming.lines)
            OrderLine.objects.bulk_create(lines)
            reserved, reason = [], ""
            if not incoming.cancelled:
                reserved, reason = _reserve(order, lines, actor=actor)
            events += reserved
            choice = _method_choice(channel, incoming, lines)
            order.fulfillment_method = choice.method
            order.pickup_location_id = choice.pickup_location_id
            order.review_reasons = _with_reasons(
                order,
                [choice.reason, reason, *(unknown_line_reason(x) for x in lines if not x.variant)],
            )
            changed += ["lines", "fulfillment_method", "review_reasons"]
        else:
            data["lines_not_applied"] = (
                f"The store changed the lines after the order was {order.get_status_display()}; "
                "opsdesk kept its lines."
            )
    else:
        money_changed = _money_changes(existing, incoming.lines)
        if money_changed:
            OrderLine.objects.bulk_update(money_changed, ["title", "unit_price", "discount", "tax"])
            changed.append("line prices")
        if "shipping_line" in changed and open_for_changes:
            choice = _method_choice(channel, incoming, existing)
            order.fulfillment_method = choice.method
            order.pickup_location_id = choice.pickup_location_id
            order.review_reasons = _with_reasons(
                order,
                [
                    choice.reason,
                    *(r for r in order.review_reasons if str(r).startswith(REASON_NOT_RESERVED)),
                    *(unknown_line_reason(x) for x in existing if not x.variant),
                ],
            )
            changed += ["fulfillment_method"]
    order.source_updated_at = incoming.updated_at
    fields = {
        name
        for name in [*changed, "fulfillment_method", "pickup_location", "review_reasons"]
        if name in {f.name for f in Order._meta.concrete_fields}
    }
    order.save(update_fields=[*sorted(fields), "source_updated_at", "updated_at"])
    data["changed"] = changed
    events.insert(0, OrderEvent(order=order, type=OrderEvent.Type.UPDATED, actor=actor, data=data))
    OrderEvent.objects.bulk_create(events)
    if incoming.cancelled and order.status != Order.Status.CANCELLED:
        _cancel_from_store(order, incoming, actor=actor)
    return BuildResult(order, BuildOutcome.UPDATED, events=[e.type for e in events])


def order_build(
    *,
    channel: Channel | None,
    incoming: IncomingOrder,
    source: str = Order.Source.WEBHOOK,
    actor: User | None = None,
    via: dict[str, Any] | None = None,
) -> BuildResult:
    """Create the order from one version the store sent, or apply it to the order it has.

    Idempotent: the same version again is a DUPLICATE, an older one is OLDER, and neither
    changes anything. Routing a new order to review is the caller's next step
    (order_route_new), after this transaction commits.
    """
    via = via or {}
    with transaction.atomic():
        order = None
        if channel is not None and incoming.external_id:
            order = (
                Order.objects.select_for_update()
                .filter(channel=channel, external_id=incoming.external_id)
                .first()
            )
        if order is None:
            try:
                with transaction.atomic():
                    return _order_create(
                        channel=channel, incoming=incoming, source=source, actor=actor, via=via
                    )
            except IntegrityError:
                # A parallel build of the same order committed first: apply this version
                # to it. Anything else is a real error.
                order = (
                    Order.objects.select_for_update()
                    .filter(channel=channel, external_id=incoming.external_id)
                    .first()
                    if channel is not None and incoming.external_id
                    else None
                )
                if order is None:
                    raise
        return _order_update(
            order, channel=channel, incoming=incoming, source=source, actor=actor, via=via
        )


def order_route_new(*, order_id: int) -> bool:
    """Send a newly built order on to the fraud check, which routes it (hold, review or
    approval). True when the check ran.

    Runs after the order is committed. The check locks the order and routes it only while
    it is RECEIVED, so a second call, or one for an order that moved on, routes nothing. If
    the check fails, the order stays RECEIVED and the intake sweep routes it later.
    """
    from orders.services.fraud import risk_assess

    try:
        risk_assess(order_id=order_id)
    except Exception:
        logger.exception("order %s: risk assessment failed; the intake sweep retries it", order_id)
        return False
    return True


def orders_route_new_many(*, order_ids: list[int], built: Sequence[NewOrder] = ()) -> int:
    """order_route_new for a batch of new orders: one fraud run and one notice for all.
    `built` are the orders as orders_create_many left them: the fraud check takes them as
    they are, where nothing changed them since, rather than reading them again.

    If the batch's check fails, each order is routed on its own (and one that fails again
    stays RECEIVED for the intake sweep). Returns how many orders were routed.
    """
    from orders.services.fraud import risk_assess_many

    try:
        return risk_assess_many(
            order_ids=order_ids, built={n.order.pk: (n.order, n.lines) for n in built}
        )
    except Exception:
        logger.exception("risk assessment of a batch failed; routing its orders one by one")
    return sum(order_route_new(order_id=order_id) for order_id in order_ids)


# Staff corrections -----------------------------------------------------------------------


@transaction.atomic
def order_line_match(*, line_id: int, variant_id: int, actor: User | None) -> OrderLine:
    """Match a line whose SKU was unknown to a variant by hand, and reserve its stock."""
    line = OrderLine.objects.select_related("order").get(pk=line_id)
    order = Order.objects.select_for_update().get(pk=line.order_id)
    line = OrderLine.objects.select_for_update().get(pk=line_id)
    if line.variant_id is not None:
        raise ValidationError("This line is already matched to a variant.")
    if order.status == Order.Status.CANCELLED:
        raise ValidationError("The order is cancelled; its lines can no longer be matched.")
    try:
        variant = Variant.objects.select_related("product__vendor").get(pk=variant_id)
    except Variant.DoesNotExist:
        raise ValidationError({"variant": "There is no such variant."}) from None
    old_reason = unknown_line_reason(line)
    line.variant = variant
    line.drop_ship = _drop_ships(variant)
    line.save(update_fields=["variant", "drop_ship"])
    events = [
        OrderEvent(
            order=order,
            type=OrderEvent.Type.LINE_MATCHED,
            actor=actor,
            data={
                "line": line.pk,
                "sku_received": line.sku,
                "title": line.title,
                "sku": variant.sku,
            },
        )
    ]
    reasons = [r for r in order.review_reasons or [] if r != old_reason]
    reserved, reason = _reserve(order, [line], actor=actor)
    events += reserved
    if reason:
        reasons.append(reason)
    order.review_reasons = reasons
    fields = ["review_reasons", "updated_at"]
    if order.fulfillment_method == Order.Method.SHIP and all(
        x.drop_ship for x in order.lines.select_related("variant__product__vendor")
    ):
        order.fulfillment_method = Order.Method.DROP_SHIP
        fields.append("fulfillment_method")
    order.save(update_fields=fields)
    OrderEvent.objects.bulk_create(events)
    return line


@transaction.atomic
def order_fulfillment_method_set(
    *, order_id: int, method: str, pickup_location_id: int | None, actor: User | None
) -> Order:
    """Choose how an order is fulfilled when the store's shipping line did not say."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in OPEN_FOR_CHANGES:
        raise ValidationError(
            f"The order is {order.get_status_display().lower()}; its method can't change now."
        )
    if method not in Order.Method.values or method == Order.Method.UNKNOWN:
        raise ValidationError({"method": "Choose a fulfillment method."})
    if method == Order.Method.STORE_PICKUP and pickup_location_id is None:
        raise ValidationError({"pickup_location": "Choose where the customer collects it."})
    before = order.fulfillment_method
    order.fulfillment_method = method
    order.pickup_location_id = pickup_location_id if method == Order.Method.STORE_PICKUP else None
    order.review_reasons = [
        r
        for r in order.review_reasons or []
        if not str(r).startswith((REASON_METHOD, REASON_NO_SHIPPING))
    ]
    order.save(
        update_fields=["fulfillment_method", "pickup_location", "review_reasons", "updated_at"]
    )
    OrderEvent.objects.create(
        order=order,
        type=OrderEvent.Type.UPDATED,
        actor=actor,
        data={"changed": ["fulfillment_method"], "from": before, "to": method},
    )
    return order
