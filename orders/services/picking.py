"""The ship flow: pick lists, picking, packing by scan, and shipping with a tracking number.

Writes go through shipment_transition (orders.services.fulfillment), which locks the order
and the shipment, checks the move and records it. The reads at the end feed the fulfillment
pages (this area has no selectors module of its own).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Location, StockLevel
from orders.models import (
    Carrier,
    Order,
    OrderEvent,
    PickList,
    Shipment,
    ShipmentEvent,
    ShipmentLine,
)
from orders.services.fulfillment import FULFILLING, shipment_lock, shipment_transition
from orders.services.notices import customer_notice_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = Shipment.Status
# Shipments picked from the store's own stock.
PICKABLE_METHODS = (Order.Method.SHIP, Order.Method.LOCAL_DELIVERY, Order.Method.STORE_PICKUP)
# Shipments packed at the pack screen (a pickup is handed over as picked).
PACKABLE_METHODS = (Order.Method.SHIP, Order.Method.LOCAL_DELIVERY)
PICK_LIST_MAX = 50
TRACKING_MAX = 100
QUEUE_LIMIT = 25


# Pick lists --------------------------------------------------------------------------------


@transaction.atomic
def pick_list_create(*, location_id: int, shipment_ids: list[int], actor: User | None) -> PickList:
    """Batch pending shipments of one location into a pick list; they become "being picked"."""
    ids = sorted({int(i) for i in shipment_ids})
    if not ids:
        raise ValidationError({"shipments": "Tick the shipments to pick first."})
    if len(ids) > PICK_LIST_MAX:
        raise ValidationError(
            {"shipments": f"A pick list takes at most {PICK_LIST_MAX} shipments."}
        )
    try:
        location = Location.objects.get(pk=location_id)
    except Location.DoesNotExist:
        raise ValidationError({"location": "Choose a location to pick from."}) from None
    shipments = {
        s.pk: s for s in Shipment.objects.filter(pk__in=ids).select_related("order").order_by("pk")
    }
    missing = [i for i in ids if i not in shipments]
    if missing:
        raise ValidationError(f"There is no shipment with id {missing[0]}.")
    for shipment in shipments.values():
        if shipment.location_id != location.pk:
            raise ValidationError(
                f"Shipment {shipment.number} is picked at {shipment.location or 'a vendor'}, "
                f"not {location}."
            )
        if shipment.method not in PICKABLE_METHODS:
            raise ValidationError(f"Shipment {shipment.number} is not picked here.")
        if shipment.status != S.PENDING or shipment.pick_list_id is not None:
            raise ValidationError(
                f"Shipment {shipment.number} is {shipment.get_status_display().lower()}, "
                "not waiting to be picked."
            )
        if shipment.order.status not in FULFILLING:
            raise ValidationError(
                f"Order {shipment.order.number} is {shipment.order.get_status_display().lower()}."
            )
    pick_list = PickList.objects.create(location=location, created_by=actor)
    for shipment_id in ids:
        # The transition locks and re-checks: one taken by a colleague meanwhile is refused,
        # and this whole list with it.
        shipment_transition(
            shipment_id=shipment_id,
            to_status=S.PICKING,
            actor=actor,
            pick_list=pick_list,
            event_data={"pick_list": pick_list.pk},
        )
    return pick_list


@transaction.atomic
def pick_list_complete(*, pick_list_id: int, actor: User | None) -> PickList:
    """Mark a pick list picked: every shipment on it still being picked becomes picked."""
    try:
        pick_list = PickList.objects.select_for_update().get(pk=pick_list_id)
    except PickList.DoesNotExist:
        raise ValidationError(f"There is no pick list with id {pick_list_id}.") from None
    if pick_list.status != PickList.Status.OPEN:
        raise ValidationError(f"{pick_list} is {pick_list.get_status_display().lower()} already.")
    for shipment_id in pick_list.shipments.filter(status=S.PICKING).values_list("pk", flat=True):
        shipment_pick(shipment_id=shipment_id, actor=actor)
    pick_list.status = PickList.Status.DONE
    pick_list.completed_at = timezone.now()
    pick_list.save(update_fields=["status", "completed_at"])
    return pick_list


@transaction.atomic
def shipment_pick(*, shipment_id: int, actor: User | None) -> Shipment:
    """Mark a shipment's units picked (from "to pick" or "being picked")."""
    shipment = Shipment.objects.filter(pk=shipment_id).only("status").first()
    if shipment is None:
        raise ValidationError(f"There is no shipment with id {shipment_id}.")
    if shipment.status == S.PENDING:
        shipment_transition(shipment_id=shipment_id, to_status=S.PICKING, actor=actor)
    shipment = shipment_transition(shipment_id=shipment_id, to_status=S.PICKED, actor=actor)
    shipment.lines.update(quantity_picked=F("quantity"))
    return shipment


# Packing -----------------------------------------------------------------------------------


@dataclass
class ScanResult:
    shipment: Shipment
    sku: str
    packed: int
    quantity: int
    complete: bool


def _normalise(code: str) -> str:
    return "".join((code or "").split())


@transaction.atomic
def pack_scan(*, shipment_id: int, code: str, actor: User | None) -> ScanResult:
    """Tick one unit of a picked shipment by its barcode or SKU.

    A code that is not in the parcel, or one unit more than it holds, is refused and changes
    nothing. The shipment's row is locked, so two scanners at one parcel count every unit once.
    """
    code = _normalise(code)
    if not code:
        raise ValidationError({"code": "Scan a barcode or type a SKU."})
    _, shipment = shipment_lock(shipment_id)
    if shipment.method not in PACKABLE_METHODS:
        raise ValidationError(f"Shipment {shipment.number} is not packed at the pack screen.")
    if shipment.status != S.PICKED:
        raise ValidationError(
            f"Shipment {shipment.number} is {shipment.get_status_display().lower()}; "
            "only a picked shipment is packed."
        )
    lines = list(
        shipment.lines.select_for_update(of=("self",)).select_related("variant").order_by("pk")
    )
    matching = [
        ln
        for ln in lines
        if code == ln.variant.barcode or code.casefold() == ln.variant.sku.casefold()
    ]
    if not matching:
        raise ValidationError(
            {"code": f"Wrong item: {code} is not in shipment {shipment.number}. Put it back."}
        )
    line = next((ln for ln in matching if ln.quantity_packed < ln.quantity), None)
    if line is None:
        sku = matching[0].variant.sku
        wanted = sum(ln.quantity for ln in matching)
        raise ValidationError(
            {"code": f"One too many: {sku} is already packed ({wanted} of {wanted}). Take it out."}
        )
    line.quantity_packed += 1
    line.save(update_fields=["quantity_packed"])
    complete = all(ln.quantity_packed >= ln.quantity for ln in lines)
    return ScanResult(
        shipment=shipment,
        sku=line.variant.sku,
        packed=sum(ln.quantity_packed for ln in matching),
        quantity=sum(ln.quantity for ln in matching),
        complete=complete,
    )


@transaction.atomic
def pack_reset(*, shipment_id: int, actor: User | None) -> Shipment:
    """Start the packing of a picked shipment again (every unit to be scanned anew)."""
    _, shipment = shipment_lock(shipment_id)
    if shipment.status != S.PICKED:
        raise ValidationError(f"Shipment {shipment.number} is not being packed.")
    shipment.lines.update(quantity_packed=0)
    ShipmentEvent.objects.create(shipment=shipment, type="pack_restarted", actor=actor)
    return shipment


@transaction.atomic
def shipment_pack_close(*, shipment_id: int, actor: User | None) -> Shipment:
    """Close the parcel: refused until every unit has been scanned."""
    _, shipment = shipment_lock(shipment_id)
    missing = [
        (ln.variant.sku, ln.quantity - ln.quantity_packed)
        for ln in shipment.lines.select_related("variant").order_by("pk")
        if ln.quantity_packed < ln.quantity
    ]
    if shipment.status == S.PICKED and missing:
        sku, units = missing[0]
        more = f" and {len(missing) - 1} more line(s)" if len(missing) > 1 else ""
        raise ValidationError(f"The parcel cannot close yet: {units} × {sku}{more} still to scan.")
    return shipment_transition(shipment_id=shipment_id, to_status=S.PACKED, actor=actor)


# Shipping ----------------------------------------------------------------------------------


@transaction.atomic
def shipment_ship(
    *, shipment_id: int, carrier_id: int, tracking_number: str, actor: User | None
) -> Shipment:
    """Hand a packed parcel to the carrier: records carrier and tracking number, commits the
    reserved stock, and queues the customer's shipping notice.

    Two people pressing "ship" at once: the second waits for the first's lock, then finds
    the shipment shipped and is refused, so stock is committed and the notice sent once.
    """
    tracking = _normalise(tracking_number)
    if not tracking:
        raise ValidationError({"tracking_number": "Enter or scan the tracking number."})
    if len(tracking) > TRACKING_MAX:
        raise ValidationError(
            {"tracking_number": f"A tracking number has at most {TRACKING_MAX} characters."}
        )
    carrier = Carrier.objects.filter(pk=carrier_id, active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": "Choose one of the carriers."})
    shipment = shipment_transition(
        shipment_id=shipment_id,
        to_status=S.SHIPPED,
        actor=actor,
        carrier=carrier,
        tracking_number=tracking,
        event_data={"carrier": carrier.name, "tracking_number": tracking},
    )
    order = shipment.order
    if order.email:
        customer_notice_queue(kind="shipped", order=order, shipment=shipment, actor=actor)
    else:
        OrderEvent.objects.create(
            order=order,
            type=OrderEvent.Type.NOTICE,
            actor=actor,
            data={"kind": "shipped", "status": "not sent", "note": "The order has no e-mail."},
        )
    return shipment


# Reads -------------------------------------------------------------------------------------


@dataclass
class PickRow:
    """One SKU of a pick list: where it sits and how many go into which shipment."""

    sku: str
    title: str
    barcode: str
    bin: str
    quantity: int = 0
    shipments: list[tuple[str, int]] = field(default_factory=list)


def pick_list_rows(pick_list: PickList) -> list[PickRow]:
    """The pick list's lines grouped by SKU and sorted by bin (then SKU): one query."""
    bins = StockLevel.objects.filter(
        variant_id=OuterRef("variant_id"), location_id=pick_list.location_id
    ).values("bin")[:1]
    lines = (
        ShipmentLine.objects.filter(shipment__pick_list=pick_list)
        .exclude(shipment__status=S.CANCELLED)
        .annotate(bin=Subquery(bins))
        .order_by("shipment__number", "pk")
        # Plain values: a printed list of many lines need not build three models a line.
        .values_list(
            "variant__sku",
            "variant__barcode",
            "variant__product__title",
            "order_line__title",
            "shipment__number",
            "quantity",
            "bin",
        )
    )
    rows: dict[str, PickRow] = {}
    per_shipment: dict[str, dict[str, int]] = defaultdict(dict)
    for sku, barcode, product_title, line_title, number, quantity, bin_ in lines:
        row = rows.get(sku)
        if row is None:
            row = rows[sku] = PickRow(
                sku=sku, title=line_title or product_title, barcode=barcode, bin=bin_ or ""
            )
        row.quantity += quantity
        counts = per_shipment[sku]
        counts[number] = counts.get(number, 0) + quantity
    for sku, row in rows.items():
        row.shipments = sorted(per_shipment[sku].items())
    # Rows without a bin go last, so the walk starts at the first shelf.
    return sorted(rows.values(), key=lambda r: (r.bin == "", r.bin, r.sku))


@dataclass
class QueueRow:
    """One shipment in a queue of the fulfillment page: what its row shows."""

    pk: int
    number: str
    method: str
    status: str
    created_at: datetime
    units: int
    line_count: int
    late: bool = False


# Which shipments wait at each step of the ship flow: (step, status, methods).
STEPS = (
    ("pick", S.PENDING, PICKABLE_METHODS),
    ("pack", S.PICKED, PACKABLE_METHODS),
    ("ship", S.PACKED, (Order.Method.SHIP,)),
)


def fulfillment_queues(*, location_id: int, limits: dict[str, int]) -> dict[str, list[QueueRow]]:
    """The oldest shipments waiting to be picked, packed and shipped at a location.

    On PostgreSQL one query, written in SQL because it is the hot page of the flow: each
    (step, method) is a row of a VALUES list joined LATERAL to its own ordered, limited read
    of the shipments. As the status and method come from outside that read, the planner walks
    the index on (status, method, location, created_at) and stops at the limit; given them as
    constants, it walks the index on created_at from the oldest shipment (most left long
    ago), or sorts all that wait. Elsewhere (the embedded SQLite default) one ORM query per
    step gives the same rows.
    """
    if connection.vendor != "postgresql":
        return _fulfillment_queues_portable(location_id=location_id, limits=limits)
    branches, params = [], []
    for step, status, methods in STEPS:
        for method in methods:
            branches.append("(%s, %s, %s, %s)")
            params += [step, str(status), str(method), limits[step]]
    # Only table names are put in the text (from the models); values are parameters.
    sql = (
        "SELECT s.id, s.number, s.method, s.status, s.created_at, v.step, "  # noqa: S608
        "COALESCE(l.units, 0), COALESCE(l.line_count, 0) "
        f"FROM (VALUES {', '.join(branches)}) AS v (step, status, method, row_limit) "
        "CROSS JOIN LATERAL ("
        "SELECT x.id, x.number, x.method, x.status, x.created_at "
        f"FROM {Shipment._meta.db_table} x "
        "WHERE x.status = v.status AND x.method = v.method AND x.location_id = %s "
        "ORDER BY x.created_at, x.id LIMIT v.row_limit) s "
        "LEFT JOIN LATERAL (SELECT SUM(quantity) AS units, COUNT(*) AS line_count "
        f"FROM {ShipmentLine._meta.db_table} WHERE shipment_id = s.id) l ON TRUE "
        "ORDER BY v.step, s.created_at, s.id"
    )
    queues: dict[str, list[QueueRow]] = {step: [] for step, _, _ in STEPS}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, location_id])
        for pk, number, method, status, created_at, step, units, line_count in cursor:
            queues[step].append(
                QueueRow(pk, number, method, status, created_at, int(units), int(line_count))
            )
    for step, rows in queues.items():
        del rows[limits[step] :]  # the methods of one step together may hold more
    return queues


def _fulfillment_queues_portable(
    *, location_id: int, limits: dict[str, int]
) -> dict[str, list[QueueRow]]:
    queues: dict[str, list[QueueRow]] = {}
    for step, status, methods in STEPS:
        rows = (
            Shipment.objects.filter(status=status, method__in=methods, location_id=location_id)
            .annotate(units=Coalesce(Sum("lines__quantity"), 0), line_count=Count("lines"))
            .order_by("created_at", "pk")
            .values_list("pk", "number", "method", "status", "created_at", "units", "line_count")[
                : limits[step]
            ]
        )
        queues[step] = [QueueRow(*row) for row in rows]
    return queues


COUNT_CAP = 1000


def fulfillment_counts(*, location_id: int, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many shipments wait at each step at a location, each count stopped at `cap`
    (a page shows "1000+"): one query, read from the index on (status, method, location)."""
    table = Shipment._meta.db_table
    branches, params = [], []
    for _, status, methods in STEPS:
        for method in methods:
            branches.append(
                f"SELECT %s, COUNT(*) FROM (SELECT 1 FROM {table} "  # noqa: S608
                "WHERE status = %s AND method = %s AND location_id = %s LIMIT %s) x"
            )
            params += [str(status), str(status), str(method), location_id, cap]
    counts: dict[str, int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        for status, n in cursor:
            counts[status] += n
    return {status: min(n, cap) for status, n in counts.items()}
