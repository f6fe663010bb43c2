"""The demo seeding, and returns' reaction to cancelled orders."""

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services.review import order_cancel
from returns.demo import seed_returns
from returns.models import Refund, ReturnPolicy, ReturnRequest
from tests.returns.factories import delivered_order

pytestmark = pytest.mark.django_db


def test_seed_returns_publishes_a_policy_and_opens_returns_once():
    delivered_order()
    delivered_order()
    first = seed_returns()
    assert first == {"policy_version": 1, "returns": 2}
    assert set(ReturnRequest.objects.values_list("status", flat=True)) == {
        ReturnRequest.Status.REQUESTED,
        ReturnRequest.Status.AWAITING_ITEM,
    }
    assert seed_returns() == {"policy_version": 1, "returns": 0}
    assert ReturnPolicy.objects.count() == 1 and ReturnRequest.objects.count() == 2


def test_cancelling_an_unpaid_order_owes_nothing():
    order = delivered_order(deliver=False, payment_status=Order.PaymentStatus.PENDING)
    order.status = Order.Status.AWAITING_REVIEW
    order.save()
    order_cancel(order_id=order.pk, actor=None, reason="Duplicate")
    assert not Refund.objects.exists()


def test_cancelling_a_partly_refunded_order_queues_only_the_rest():
    from returns.services.refunds import refund_create

    order = delivered_order(deliver=False)
    order.status = Order.Status.APPROVED
    order.save()
    refund_create(
        order_id=order.pk,
        amount=Decimal("5.00"),
        method="original",
        actor=None,
        provider_reference="re_goodwill",
    )
    order_cancel(order_id=order.pk, actor=None, reason="Out of stock")
    pending = Refund.objects.get(status=Refund.Status.PENDING)
    assert pending.amount == order.total - Decimal("5.00")
