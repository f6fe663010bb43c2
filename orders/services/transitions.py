"""The one place an order's status changes (STYLE §4): lock, check, save, record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor: User | None,
    event_type: str,
    data: dict | None = None,
) -> Order:
    """Move an order to another status and record the event on its timeline.

    Locks the order's row until the caller's transaction ends, so two people acting on one
    order at once act one after the other, and the second sees the status the first left.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    if to_status not in Order.ALLOWED_TRANSITIONS.get(order.status, ()):
        raise InvalidTransition(order=order, to_status=to_status)
    from_status, order.status = order.status, to_status
    order.save(update_fields=["status", "updated_at"])
    OrderEvent.objects.create(
        order=order,
        type=event_type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
    return order
