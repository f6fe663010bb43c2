"""The demo store's return policy and a couple of returns.

`seed_returns()` publishes a first policy version (when none is), then, the first time only,
opens returns through the real services on up to two paid orders that reached their
customers (one arrived damaged, refunded without coming back; one changed mind, waiting for
the parcel). Run after the orders and their fulfillment are seeded. Running it again
changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from orders.models import Order
from returns.models import RefundMethod, ReturnRequest
from returns.services.policy import PolicyData, PolicyReason, policy_current, policy_publish
from returns.services.requests import WITH_CUSTOMER, return_approve, return_request_create

DEMO_POLICY = PolicyData(
    window_days=30,
    reasons=[
        PolicyReason("changed_mind", "Changed my mind", Decimal("10"), True),
        PolicyReason("damaged", "Arrived damaged", Decimal("0"), False),
        PolicyReason("wrong_item", "Wrong item sent", Decimal("0"), True),
        PolicyReason("does_not_fit", "Does not fit", Decimal("0"), True),
    ],
    refund_methods=[RefundMethod.ORIGINAL, RefundMethod.STORE_CREDIT, RefundMethod.EXCHANGE],
    condition_required="Unused, with its tags, in its original packaging.",
    refund_approval_threshold=Decimal("200.00"),
    extra_terms="Gift cards and personalised items are **final sale**.",
)


def seed_returns() -> dict[str, int]:
    """Publish the demo policy and open a couple of returns; safe to run again."""
    policy = policy_current() or policy_publish(data=DEMO_POLICY, actor=None)
    made = 0
    if not ReturnRequest.objects.exists():
        orders = (
            Order.objects.filter(
                payment_status=Order.PaymentStatus.PAID,
                shipments__status__in=WITH_CUSTOMER,
            )
            .distinct()
            .order_by("id")[:2]
        )
        for order, reason in zip(orders, ["damaged", "changed_mind"], strict=False):
            line = order.lines.order_by("id").first()
            if line is None:
                continue
            try:
                ret = return_request_create(
                    order_id=order.pk, lines={line.pk: 1}, reason=reason, actor=None
                )
            except ValidationError:
                continue
            if reason == "changed_mind":
                return_approve(return_id=ret.pk, actor=None)
            made += 1
    return {"policy_version": policy.version, "returns": made}
