"""What the drop-ship, store-pickup and local-delivery flows share.

The flows build on the fulfillment core (orders.services.fulfillment and notices): status
changes go through `shipment_transition`, stock leaves through `shipment_stock_commit`,
cancelling through `shipment_cancel`, and customer e-mails through `customer_notice_queue`
(re-exported here, so the flows call them as flows.shipment_transition and so on).

    dropship   purchase order to the vendor, the vendor's signed page, reminders
    pickup     ready for pickup, pickup code, handover, reminders, uncollected orders
    delivery   zones and windows, scheduling, route sheets, out / delivered / failed
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from opsdesk.processes.models import WorkItem
from opsdesk.processes.services import work_item_close, work_item_open
from orders.models import CustomerNotice, Order, OrderEvent, Shipment, ShipmentEvent
from orders.services.fulfillment import shipment_cancel, shipment_stock_commit, shipment_transition
from orders.services.notices import customer_notice_queue
from orders.templatetags.order_tags import address_lines

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DROP_SHIP_PROCESS = "drop_ship"
PICKUP_PROCESS = "store_pickup"
DELIVERY_PROCESS = "local_delivery"
PICKING_PROCESS = "pick_pack_ship"
NOTE_MAX = 255

__all__ = [
    "customer_notice_queue",
    "notice_queue",
    "shipment_cancel",
    "shipment_stock_commit",
    "shipment_transition",
]


# Helpers ----------------------------------------------------------------------------------


def notice_queue(
    *,
    kind: str,
    shipment: Shipment,
    context: dict,
    to: str | None = None,
    actor: User | None = None,
) -> CustomerNotice | None:
    """Queue an e-mail about a shipment (sent after commit), with the store's details.

    An order without an e-mail address (taken by phone) gets none: the step goes ahead and
    the shipment's timeline says the customer was not e-mailed.
    """
    if to is None and not shipment.order.email:
        shipment_event(shipment, type="notice_skipped", actor=actor, data={"kind": kind})
        return None
    context = {**store_context(), **shipment_context(shipment), **context}
    return customer_notice_queue(
        kind=kind, order=shipment.order, shipment=shipment, to=to, context=context, actor=actor
    )


# Shared helpers ----------------------------------------------------------------------------


def store_context() -> dict:
    return {
        "store_name": settings.STORE_NAME,
        "store_reply_to": settings.STORE_REPLY_TO,
        "site_url": settings.SITE_URL,
    }


def shipment_items(shipment: Shipment) -> list[dict]:
    """The shipment's lines as plain values (title, SKU, quantity) for e-mails and pages."""
    rows = shipment.lines.select_related("order_line", "variant").order_by("pk")
    return [
        {
            "title": line.order_line.title,
            "sku": line.variant.sku or line.order_line.sku,
            "quantity": line.quantity,
        }
        for line in rows
    ]


def customer_name(order: Order, ship_to: dict | None = None) -> str:
    address = ship_to or order.shipping_address or {}
    first = (address.get("first_name") or "").strip()
    if not first and order.customer_id:
        first = order.customer.first_name
    return first or "there"


def shipment_context(shipment: Shipment) -> dict:
    return {
        "items": shipment_items(shipment),
        "customer_first_name": customer_name(shipment.order, shipment.ship_to),
        "order_number": shipment.order.number,
        "shipment_number": shipment.number,
        "ship_to_lines": address_lines(shipment.ship_to or shipment.order.shipping_address),
    }


def lock_shipment(shipment_id: int, *, method: str) -> Shipment:
    """Lock a shipment of one method, its order first (the fulfillment core's lock order,
    so no two paths wait on each other); one of another method is refused."""
    order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
    Order.objects.select_for_update(of=("self",)).only("pk").get(pk=order_id)
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("order").get(pk=shipment_id)
    )
    if shipment.method != method:
        raise ValidationError(
            f"Shipment {shipment.number} is not a {method.replace('_', ' ')} shipment."
        )
    return shipment


def refuse_unless(shipment: Shipment, *statuses: str, doing: str) -> None:
    if shipment.status not in statuses:
        raise ValidationError(
            f"Shipment {shipment.number} is {shipment.get_status_display().lower()}; "
            f"it cannot be {doing} now."
        )


def clean_text(value: str, *, field: str, what: str, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ValidationError({field: f"Give {what}."})
    if len(value) > NOTE_MAX:
        raise ValidationError({field: f"Keep {what} under {NOTE_MAX} characters."})
    return value


def shipment_event(
    shipment: Shipment, *, type: str, actor: User | None, note: str = "", data: dict | None = None
) -> ShipmentEvent:
    """A step that changes no status, on the shipment's and the order's timelines."""
    data = data or {}
    OrderEvent.objects.create(
        order_id=shipment.order_id,
        type=OrderEvent.Type.FULFILLMENT,
        actor=actor,
        data={"shipment": shipment.number, "shipment_id": shipment.pk, "step": type, **data},
    )
    return ShipmentEvent.objects.create(
        shipment=shipment, type=type, actor=actor, note=note, data=data
    )


def work_item_for(
    shipment: Shipment, *, process: str, title: str, link: str, due_at=None
) -> WorkItem:
    """Put a step of the shipment in a process's queue (once: an open item is reused)."""
    return work_item_open(process=process, title=title, link=link, source=shipment, due_at=due_at)


def work_items_done(
    shipment: Shipment,
    *,
    actor: User | None,
    processes: tuple[str, ...],
    status: str = WorkItem.Status.DONE,
) -> int:
    """Close the shipment's open items in these processes' queues."""
    ids = list(
        WorkItem.objects.filter(
            source_type=ContentType.objects.get_for_model(Shipment),
            source_id=shipment.pk,
            status=WorkItem.Status.OPEN,
            process__key__in=processes,
        ).values_list("pk", flat=True)
    )
    for item_id in ids:
        work_item_close(item_id=item_id, actor=actor, status=status)
    return len(ids)
