"""What inventory does to an order's stock, written on the order's timeline.

Inventory knows an order only as the source of its reservations and backorders; these
receivers turn its signals into timeline events, in the same transaction as the change.

Also: a channel saved or deleted is no longer kept by this process's intake, nor in the
queue filter's cached choices.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from inventory import signals as stock_signals
from inventory.models import Backorder, Reservation
from opsdesk.core.cached import forget
from orders.models import Channel, Order, OrderEvent
from orders.selectors import CHANNELS_KEY
from orders.services.intake import channels_forget


def _order_id(record: Reservation | Backorder) -> int | None:
    if record.source_type_id != ContentType.objects.get_for_model(Order).pk:
        return None
    return record.source_id


@receiver(stock_signals.reservation_backordered, sender=Reservation)
def reservation_backordered(
    sender: type, reservation: Reservation, backorder: Backorder, actor: Any, **kwargs: Any
) -> None:
    """The POS counted fewer units than were held: the order's units wait as a backorder."""
    order_id = _order_id(reservation)
    if order_id is None:
        return
    OrderEvent.objects.create(
        order_id=order_id,
        type=OrderEvent.Type.BACKORDERED,
        actor=actor,
        data={
            "lines": [{"sku": backorder.variant.sku, "quantity": backorder.quantity}],
            "location": reservation.location.name,
            "note": f"The POS counted fewer units at {reservation.location.name} than were "
            "reserved: these wait in the out-of-stock queue and are reserved again when "
            "stock arrives.",
        },
    )


@receiver(stock_signals.backorder_reserved, sender=Backorder)
def backorder_reserved(
    sender: type, backorder: Backorder, reservations: list[Reservation], actor: Any, **kwargs: Any
) -> None:
    """Stock arrived for a waiting line: record where it is held now."""
    order_id = _order_id(backorder)
    if order_id is None or not reservations:
        return
    OrderEvent.objects.create(
        order_id=order_id,
        type=OrderEvent.Type.STOCK_RESERVED,
        actor=actor,
        data={
            "reservations": [
                {"sku": backorder.variant.sku, "quantity": r.quantity, "location": r.location.name}
                for r in reservations
            ],
            "note": "Reserved from the out-of-stock queue.",
        },
    )


@receiver(stock_signals.backorder_cancelled, sender=Backorder)
def backorder_cancelled(
    sender: type, backorder: Backorder, reason: str, actor: Any, **kwargs: Any
) -> None:
    order_id = _order_id(backorder)
    if order_id is None:
        return
    OrderEvent.objects.create(
        order_id=order_id,
        type=OrderEvent.Type.BACKORDERED,
        actor=actor,
        data={
            "lines": [{"sku": backorder.variant.sku, "quantity": backorder.quantity}],
            "note": f"Backordered line cancelled: {reason}",
        },
    )


@receiver(post_save, sender=Channel, dispatch_uid="orders_channel_saved")
@receiver(post_delete, sender=Channel, dispatch_uid="orders_channel_deleted")
def _channel_changed(sender, **kwargs: Any) -> None:
    channels_forget()
    forget(CHANNELS_KEY)
