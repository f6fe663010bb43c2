"""Fulfillment's receivers of inventory events (imported by OrdersConfig.ready()).

A backordered order whose stock is reserved at last gets shipments for those units. The
shipments are made after inventory's transaction commits, in a transaction of their own,
so the order's row is never locked while inventory holds stock levels (ship locks them the
other way round). shipments_create_for_order covers every reserved unit not yet in a
shipment, so a later call makes up for one that did not run.
"""

from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.dispatch import receiver

from inventory.models import Backorder
from inventory.signals import backorder_reserved


def _create_shipments(order_id: int) -> None:
    from orders.models import Order
    from orders.services.fulfillment import FULFILLING, shipments_create_for_order

    order = Order.objects.filter(pk=order_id, status__in=FULFILLING).first()
    if order is not None:
        shipments_create_for_order(order=order, actor=None)


@receiver(backorder_reserved, sender=Backorder, dispatch_uid="orders_backorder_reserved")
def backorder_reserved_make_shipments(sender, backorder: Backorder, **kwargs) -> None:
    from orders.models import Order

    if backorder.source_type_id != ContentType.objects.get_for_model(Order).pk:
        return
    # robust: a failure here is logged, not raised into the stock receipt that committed.
    transaction.on_commit(partial(_create_shipments, backorder.source_id), robust=True)
