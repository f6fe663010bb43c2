"""Writes of orders, split by sub-process:

intake       webhook deliveries, channels, the build task's service, reconciliation
build        an incoming order to an Order; matching lines and choosing methods by hand
customers    customers matched by e-mail address
imports      CSV import and phone orders
review, fraud, transitions   the review queue and the fraud check

Only intake's entry points are re-exported here; import the rest from their modules.
"""

from orders.services.intake import (
    IntakeAnswer,
    ReconcileResult,
    channel_create,
    channel_secret_rotate,
    channel_webhook_url,
    deliveries_enqueue,
    delivery_build,
    delivery_build_sweep,
    delivery_receive,
    delivery_replay,
    idempotency_keys_expire,
    orders_reconcile,
    shipping_mapping_delete,
    shipping_mapping_save,
)

__all__ = [
    "IntakeAnswer",
    "ReconcileResult",
    "channel_create",
    "channel_secret_rotate",
    "channel_webhook_url",
    "deliveries_enqueue",
    "delivery_build",
    "delivery_build_sweep",
    "delivery_receive",
    "delivery_replay",
    "idempotency_keys_expire",
    "orders_reconcile",
    "shipping_mapping_delete",
    "shipping_mapping_save",
]
