"""Fulfillment core: shipments of an approved order, their transitions, stock, cancelling.

Locks are always taken order first, then shipment, then (inside inventory) stock levels, so
two people working on one order or shipment act one after the other and never deadlock.
Each step of a shipment is a work item in its process's queue: a transition closes the
step's item and opens the next one (NEXT_WORK).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from opsdesk.processes.models import WorkItem
from opsdesk.processes.services import work_item_close, work_item_open
from orders.models import Order, OrderEvent, OrderLine, Shipment, ShipmentEvent, ShipmentLine
from orders.services.transitions import order_transition
from orders.signals import shipment_shipped

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from inventory.models import Reservation

PICK_PACK_SHIP = "pick_pack_ship"
DROP_SHIP = "drop_ship"
OWN_STOCK_METHODS = (Order.Method.SHIP, Order.Method.STORE_PICKUP, Order.Method.LOCAL_DELIVERY)
# Orders whose shipments are still being made and worked on.
FULFILLING = (Order.Status.APPROVED, Order.Status.PARTIALLY_FULFILLED)
S = Shipment.Status
# (method, status) -> (process key, work item title) of the step that follows; "{number}"
# is the shipment's number. No entry: the shipment waits on nobody in a queue.
NEXT_WORK: dict[tuple[str, str], tuple[str, str]] = {
    ("ship", S.PENDING): (PICK_PACK_SHIP, "Pick {number}"),
    ("ship", S.PICKING): (PICK_PACK_SHIP, "Pick {number}"),
    ("ship", S.PICKED): (PICK_PACK_SHIP, "Pack {number}"),
    ("ship", S.PACKED): (PICK_PACK_SHIP, "Ship {number}"),
    ("local_delivery", S.PENDING): (PICK_PACK_SHIP, "Pick {number}"),
    ("local_delivery", S.PICKING): (PICK_PACK_SHIP, "Pick {number}"),
    ("local_delivery", S.PICKED): (PICK_PACK_SHIP, "Pack {number}"),
    ("local_delivery", S.PACKED): ("local_delivery", "Deliver {number}"),
    ("local_delivery", S.DELIVERY_FAILED): ("local_delivery", "Deliver {number} again"),
    ("store_pickup", S.PENDING): (PICK_PACK_SHIP, "Pick {number}"),
    ("store_pickup", S.PICKING): (PICK_PACK_SHIP, "Pick {number}"),
    ("store_pickup", S.PICKED): ("store_pickup", "Make {number} ready for pickup"),
    ("drop_ship", S.PENDING): (DROP_SHIP, "Send {number} to the vendor"),
    ("drop_ship", S.VENDOR_PENDING): (DROP_SHIP, "Vendor to confirm {number}"),
    ("drop_ship", S.VENDOR_CONFIRMED): (DROP_SHIP, "Vendor to ship {number}"),
}
# Who did the step, and when: set by the transition unless the caller gives them.
STEP_STAMPS: dict[str, tuple[str | None, str]] = {
    S.PICKED: ("picked_by", "picked_at"),
    S.PACKED: ("packed_by", "packed_at"),
    S.SHIPPED: ("shipped_by", "shipped_at"),
    S.PICKED_UP: ("handed_over_by", "picked_up_at"),
    S.DELIVERED: (None, "delivered_at"),
    S.CANCELLED: (None, "cancelled_at"),
}
NOTE_MAX = 1000


def shipment_url(shipment: Shipment) -> str:
    return reverse("orders:shipment_detail", kwargs={"pk": shipment.pk})


def _order_ct() -> ContentType:
    return ContentType.objects.get_for_model(Order)


# Work items --------------------------------------------------------------------------------


def _open_items(shipment: Shipment) -> list[WorkItem]:
    return list(
        WorkItem.objects.filter(
            source_type=ContentType.objects.get_for_model(Shipment),
            source_id=shipment.pk,
            status=WorkItem.Status.OPEN,
        ).select_related("process")
    )


def shipment_work_sync(
    shipment: Shipment,
    *,
    actor: User | None,
    next_work: tuple[str, str] | tuple[()] | None = None,
    notify: bool = False,
) -> WorkItem | None:
    """Close the shipment's finished step in its queue and open the next one.

    `next_work` (process key, title) overrides NEXT_WORK; an empty tuple opens nothing.
    An open item that already is the wanted step stays as it is (its due time too).
    """
    if next_work is None:
        wanted = NEXT_WORK.get((shipment.method, shipment.status))
    else:
        wanted = next_work or None  # type: ignore[assignment]
    title = wanted[1].format(number=shipment.number) if wanted else ""
    kept: WorkItem | None = None
    finished = WorkItem.Status.CANCELLED if shipment.status == S.CANCELLED else WorkItem.Status.DONE
    for item in _open_items(shipment):
        if wanted and kept is None and item.process.key == wanted[0] and item.title == title:
            kept = item
            continue
        work_item_close(item_id=item.pk, actor=actor, status=finished)
    if wanted and kept is None:
        kept = work_item_open(
            process=wanted[0],
            title=title,
            link=shipment_url(shipment),
            source=shipment,
            notify_on_duty=notify,
        )
    return kept


# Creating ----------------------------------------------------------------------------------


def _covered_by_line(order: Order) -> dict[int, int]:
    """Units of each order line already in a shipment that is not cancelled."""
    rows = (
        ShipmentLine.objects.filter(shipment__order=order)
        .exclude(shipment__status=S.CANCELLED)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["order_line_id"]: row["units"] for row in rows}


def _own_method(order: Order) -> str:
    if order.fulfillment_method in OWN_STOCK_METHODS:
        return order.fulfillment_method
    return Order.Method.SHIP


def _next_suffix(order: Order) -> int:
    numbers = Shipment.objects.filter(order=order).values_list("number", flat=True)
    used = [0]
    prefix = f"{order.number}-"
    for number in numbers:
        tail = number[len(prefix) :] if number.startswith(prefix) else ""
        if tail.isdigit():
            used.append(int(tail))
    return max(used) + 1


def _assign(
    reservations: list[Reservation], lines: list[OrderLine], covered: dict[int, int]
) -> list[tuple[Reservation, OrderLine, int]]:
    """Spread each reservation's units over the order lines of its variant, oldest first."""
    wanting: dict[int, list[list[Any]]] = defaultdict(list)
    for line in lines:
        still = line.quantity - covered.get(line.pk, 0)
        if still > 0:
            wanting[line.variant_id].append([line, still])
    out = []
    for reservation in reservations:
        units = reservation.remaining
        for slot in wanting.get(reservation.variant_id, []):
            if units <= 0:
                break
            take = min(units, slot[1])
            if take > 0:
                out.append((reservation, slot[0], take))
                slot[1] -= take
                units -= take
    return out


def _shipment_new(
    order: Order, *, suffix: int, method: str, actor: User | None, **fields: Any
) -> Shipment:
    shipment = Shipment.objects.create(
        order=order,
        number=f"{order.number}-{suffix}",
        method=method,
        ship_to=order.shipping_address or {},
        **fields,
    )
    ShipmentEvent.objects.create(
        shipment=shipment, type="created", actor=actor, to_status=shipment.status
    )
    return shipment


@transaction.atomic
def shipments_create_for_order(*, order: Order, actor: User | None) -> list[Shipment]:
    """Turn an approved order's reserved and drop-ship lines into shipments.

    One shipment per location of the order's active reservations, one per vendor for
    drop-ship lines. Units already in a shipment are skipped, so calling it again (or when
    a backorder is reserved later) only adds shipments for what is new.
    """
    from inventory.models import Reservation

    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status not in FULFILLING:
        return []
    lines = list(order.lines.select_related("variant__product__vendor").order_by("pk"))
    covered = _covered_by_line(order)
    in_shipments = set(
        ShipmentLine.objects.filter(shipment__order=order, reservation__isnull=False)
        .exclude(shipment__status=S.CANCELLED)
        .values_list("reservation_id", flat=True)
    )
    reservations = [
        r
        for r in Reservation.objects.filter(
            source_type=_order_ct(), source_id=order.pk, status=Reservation.Status.ACTIVE
        ).order_by("location_id", "created_at", "pk")
        if r.pk not in in_shipments
    ]
    own_lines = [ln for ln in lines if ln.variant_id is not None and not ln.drop_ship]
    by_location: dict[int, list[tuple[Reservation, OrderLine, int]]] = defaultdict(list)
    for reservation, line, units in _assign(reservations, own_lines, covered):
        by_location[reservation.location_id].append((reservation, line, units))
    by_vendor: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)
    for line in lines:
        if not line.drop_ship or line.variant_id is None:
            continue
        vendor = line.variant.product.vendor
        still = line.quantity - covered.get(line.pk, 0)
        if vendor is not None and still > 0:
            by_vendor[vendor.pk].append((line, still))

    suffix = _next_suffix(order)
    made: list[Shipment] = []
    method = _own_method(order)
    for location_id in sorted(by_location):
        extra = {"pickup_location_id": order.pickup_location_id} if method == "store_pickup" else {}
        shipment = _shipment_new(
            order, suffix=suffix, method=method, actor=actor, location_id=location_id, **extra
        )
        suffix += 1
        ShipmentLine.objects.bulk_create(
            ShipmentLine(
                shipment=shipment,
                order_line=line,
                variant_id=line.variant_id,
                reservation=reservation,
                quantity=units,
            )
            for reservation, line, units in by_location[location_id]
        )
        made.append(shipment)
    for vendor_id in sorted(by_vendor):
        shipment = _shipment_new(
            order, suffix=suffix, method=Order.Method.DROP_SHIP, actor=actor, vendor_id=vendor_id
        )
        suffix += 1
        ShipmentLine.objects.bulk_create(
            ShipmentLine(
                shipment=shipment, order_line=line, variant_id=line.variant_id, quantity=units
            )
            for line, units in by_vendor[vendor_id]
        )
        made.append(shipment)
    for shipment in made:
        shipment_work_sync(shipment, actor=actor, notify=True)
        OrderEvent.objects.create(
            order=order,
            type=OrderEvent.Type.FULFILLMENT,
            actor=actor,
            data={
                "shipment": shipment.number,
                "shipment_id": shipment.pk,
                "step": "created",
                "method": shipment.method,
                "location": str(shipment.location) if shipment.location_id else "",
                "units": sum(line.quantity for line in shipment.lines.all()),
            },
        )
    return made


MISSING_BATCH = 100


def shipments_create_missing(*, limit: int = MISSING_BATCH) -> int:
    """Make the shipments that a lost after-commit call did not (a backorder reserved while
    the process stopped): orders being fulfilled whose active reservations are in no
    shipment. Each order in its own transaction; returns how many shipments were made."""
    from inventory.models import Reservation

    covered = (
        ShipmentLine.objects.filter(reservation__isnull=False)
        .exclude(shipment__status=S.CANCELLED)
        .values("reservation_id")
    )
    order_ids = list(
        Reservation.objects.filter(
            status=Reservation.Status.ACTIVE, source_type=_order_ct(), source_id__isnull=False
        )
        .exclude(pk__in=covered)
        .order_by()
        .values_list("source_id", flat=True)
        .distinct()[: limit * 5]
    )
    made = 0
    for order in Order.objects.filter(pk__in=order_ids, status__in=FULFILLING).order_by("pk")[
        :limit
    ]:
        made += len(shipments_create_for_order(order=order, actor=None))
    return made


# Transitions -------------------------------------------------------------------------------


def shipment_lock(shipment_id: int) -> tuple[Order, Shipment]:
    """Lock the shipment's order, then the shipment (the order used everywhere)."""
    try:
        order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
    except Shipment.DoesNotExist:
        raise ValidationError(f"There is no shipment with id {shipment_id}.") from None
    order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("carrier", "location")
        .get(pk=shipment_id)
    )
    return order, shipment


def _check_fields(fields: dict[str, Any]) -> None:
    for name in fields:
        try:
            field = Shipment._meta.get_field(name)
        except FieldDoesNotExist:
            raise ValidationError(f"A shipment has no field {name!r}.") from None
        if field.name in ("id", "order", "status", "number", "method") or field.auto_created:
            raise ValidationError(f"A transition cannot set {name!r}.")


def _refuse(shipment: Shipment, to_status: str) -> ValidationError:
    label = dict(S.choices).get(to_status, to_status)
    return ValidationError(
        f"Shipment {shipment.number} is {shipment.get_status_display().lower()}; "
        f"it cannot become {label.lower()}."
    )


def order_fulfillment_update(order: Order, *, actor: User | None) -> Order:
    """Move the (locked) order to partly fulfilled or fulfilled as its shipments leave."""
    if order.status not in FULFILLING:
        return order
    statuses = list(order.shipments.exclude(status=S.CANCELLED).values_list("status", flat=True))
    done = [s for s in statuses if s in Shipment.DONE]
    if not done:
        return order
    target = Order.Status.PARTIALLY_FULFILLED
    if len(done) == len(statuses):
        done_units = _done_units(order)
        if all(done_units.get(line.pk, 0) >= line.quantity for line in order.lines.all()):
            target = Order.Status.FULFILLED
    if target == order.status:
        return order
    return order_transition(
        order_id=order.pk,
        to_status=target,
        actor=actor,
        event_type=OrderEvent.Type.FULFILLMENT,
        data={"step": target},
    )


def _done_units(order: Order) -> dict[int, int]:
    rows = (
        ShipmentLine.objects.filter(shipment__order=order, shipment__status__in=Shipment.DONE)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["order_line_id"]: row["units"] for row in rows}


@transaction.atomic
def shipment_transition(
    *,
    shipment_id: int,
    to_status: str,
    actor: User | None,
    note: str = "",
    next_work: tuple[str, str] | tuple[()] | None = None,
    event_data: dict[str, Any] | None = None,
    **fields: Any,
) -> Shipment:
    """Move a shipment to its next step, record it on both timelines, and update the order.

    Locks the order and the shipment; the move must be in Shipment.can_become. `fields`
    are set on the shipment with it. Moving into a status where the stock has left
    (Shipment.DONE) commits the reserved stock, once. The step's work item is closed and
    the next one opened (NEXT_WORK, or `next_work`).
    """
    _check_fields(fields)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"Keep the note under {NOTE_MAX} characters."})
    order, shipment = shipment_lock(shipment_id)
    if not shipment.can_become(to_status):
        raise _refuse(shipment, to_status)
    from_status = shipment.status
    now = timezone.now()
    by_field, at_field = STEP_STAMPS.get(to_status, (None, ""))
    if by_field and by_field not in fields:
        fields[by_field] = actor
    if at_field and at_field not in fields:
        fields[at_field] = now
    for name, value in fields.items():
        setattr(shipment, name, value)
    shipment.status = to_status
    shipment.save()
    if to_status in Shipment.DONE and shipment.location_id is not None:
        shipment_stock_commit(shipment, actor)
    data = dict(event_data or {})
    ShipmentEvent.objects.create(
        shipment=shipment,
        type=to_status,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
    )
    OrderEvent.objects.create(
        order=order,
        type=OrderEvent.Type.FULFILLMENT,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data={"shipment": shipment.number, "shipment_id": shipment.pk, "step": to_status}
        | ({"note": note} if note else {})
        | data,
    )
    shipment_work_sync(shipment, actor=actor, next_work=next_work)
    order_fulfillment_update(order, actor=actor)
    if to_status in Shipment.DONE and from_status not in Shipment.DONE:
        shipment_shipped.send(sender=Order, shipment=shipment, actor=actor)
    return shipment


def shipment_stock_commit(shipment: Shipment, actor: User | None) -> bool:
    """Ship the reserved units of a (locked) shipment's lines; once: False if already done.

    Inventory's stock_ship lowers on hand and reserved and writes the movement; it refuses a
    reservation that has already shipped, so even a second path could not ship twice.
    """
    from inventory.services.stock import stock_ship

    locked = Shipment.objects.select_for_update(of=("self",)).get(pk=shipment.pk)
    if locked.data.get("stock_committed_at"):
        return False
    units = 0
    for line in locked.lines.filter(reservation__isnull=False).order_by("pk"):
        stock_ship(reservation_id=line.reservation_id, actor=actor, quantity=line.quantity)
        units += line.quantity
    locked.data = {**locked.data, "stock_committed_at": timezone.now().isoformat()}
    locked.save(update_fields=["data", "updated_at"])
    shipment.data = locked.data
    ShipmentEvent.objects.create(
        shipment=shipment, type="stock_committed", actor=actor, data={"units": units}
    )
    return True


@transaction.atomic
def shipment_cancel(*, shipment_id: int, actor: User | None, reason: str) -> Shipment:
    """Cancel a shipment that has not left: its reserved units go back to stock."""
    from inventory.models import Reservation
    from inventory.services.stock import stock_release

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the shipment is cancelled."})
    _, shipment = shipment_lock(shipment_id)
    if not shipment.can_become(S.CANCELLED):
        raise _refuse(shipment, S.CANCELLED)
    reservation_ids = sorted(
        set(
            shipment.lines.filter(
                reservation__isnull=False, reservation__status=Reservation.Status.ACTIVE
            ).values_list("reservation_id", flat=True)
        )
    )
    for reservation_id in reservation_ids:
        stock_release(
            reservation_id=reservation_id,
            actor=actor,
            reason=f"Shipment {shipment.number} cancelled: {reason}"[:255],
        )
    return shipment_transition(
        shipment_id=shipment.pk,
        to_status=S.CANCELLED,
        actor=actor,
        note=reason,
        event_data={"reservations_released": len(reservation_ids)},
    )


def order_shipments_cancel(*, order: Order, actor: User | None, reason: str) -> int:
    """Cancel every open shipment of a (locked) order; refused if any has left."""
    statuses = list(order.shipments.values_list("number", "status"))
    gone = [number for number, status in statuses if status in Shipment.DONE]
    if gone:
        raise ValidationError(
            f"Order {order.number} cannot be cancelled: shipment {gone[0]} has already left. "
            "Start a return instead."
        )
    count = 0
    for shipment_id in order.shipments.filter(status__in=Shipment.OPEN).values_list(
        "pk", flat=True
    ):
        shipment_cancel(shipment_id=shipment_id, actor=actor, reason=reason)
        count += 1
    return count


__all__ = [
    "NEXT_WORK",
    "order_fulfillment_update",
    "order_shipments_cancel",
    "shipment_cancel",
    "shipment_lock",
    "shipment_stock_commit",
    "shipment_transition",
    "shipment_work_sync",
    "shipments_create_for_order",
    "shipments_create_missing",
]
