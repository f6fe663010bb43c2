"""The domain events of orders. Services send them after the change, inside the transaction;
observers (bookkeeping, notifications, dashboards) connect receivers in their own modules.

Every signal is sent with `sender=Order` and the keyword arguments listed.
"""

from django.dispatch import Signal

# A new order was built from a delivery, an import or a phone call: order, actor.
order_received = Signal()
# A person or the fraud check approved the order: order, actor (None = automatic).
order_approved = Signal()
# The order was cancelled: order, actor, reason, refund_due (bool).
order_cancelled = Signal()
# A shipment left (shipped, out for delivery, handed over, or sent by its drop-ship vendor):
# shipment, actor. Sent once per shipment, after its stock movements.
shipment_shipped = Signal()
