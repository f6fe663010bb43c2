"""Returns reacting to orders: a cancelled, paid order owes a refund.

Connected in ReturnsConfig.ready(). The receiver runs in the cancelling transaction, so the
cancellation and the refund waiting in the refunds queue are committed together.
"""

from django.dispatch import receiver

from orders.models import Order
from orders.signals import order_cancelled


@receiver(order_cancelled, sender=Order, dispatch_uid="returns_refund_for_cancelled_order")
def refund_for_cancelled_order_receiver(sender, *, order, actor, reason, refund_due, **kwargs):
    if not refund_due:
        return
    from returns.services.refunds import refund_for_cancelled_order

    refund_for_cancelled_order(order_id=order.pk, actor=actor, reason=reason)
