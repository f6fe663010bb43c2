"""RELIABILITY R13: parallel refunds against one order never exceed what was paid.

Real parallel PostgreSQL connections (transaction=True tests with threads released together
by a barrier). Every refund service locks the order's row before adding up its refunds, so
the second of two refunds of 60.00 against 100.00 paid always sees the first.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from orders.models import Order
from returns.models import Refund
from returns.services.refunds import refund_create
from tests.inventory.support import race
from tests.orders.factories import OrderFactory

PAID = Decimal("100.00")


def _paid_order() -> Order:
    return OrderFactory(
        subtotal=PAID, shipping_total=Decimal("0.00"), total=PAID, status=Order.Status.FULFILLED
    )


def _refund(order_id: int, amount: str, i: int) -> Refund:
    return refund_create(
        order_id=order_id,
        amount=Decimal(amount),
        method="original",
        actor=None,
        provider_reference=f"re_{order_id}_{i}",
    )


def _issued(order: Order) -> Decimal:
    return Refund.objects.filter(order=order, status=Refund.Status.ISSUED).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0.00")


@pytest.mark.django_db(transaction=True)
def test_r13_two_refunds_of_60_at_once_one_succeeds_50_runs_out_of_50():
    for _run in range(50):
        order = _paid_order()
        outcome = race(
            lambda i, o=order: _refund(o.pk, "60.00", i), count=2, expected=(ValidationError,)
        )
        assert outcome.errors == [], outcome.errors[:3]
        done = [r for r in outcome.results if isinstance(r, Refund)]
        refused = [r for r in outcome.results if isinstance(r, ValidationError)]
        assert (len(done), len(refused)) == (1, 1)
        assert "at most 40.00 can still be refunded" in " ".join(refused[0].messages)
        assert _issued(order) == Decimal("60.00")
        order.refresh_from_db()
        assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED


@pytest.mark.django_db(transaction=True)
def test_r13_ten_refunds_of_10_at_once_all_succeed_and_an_eleventh_is_refused_50_runs():
    for _run in range(50):
        order = _paid_order()
        outcome = race(
            lambda i, o=order: _refund(o.pk, "10.00", i), count=10, expected=(ValidationError,)
        )
        assert outcome.errors == [], outcome.errors[:3]
        assert all(isinstance(r, Refund) for r in outcome.results) and len(outcome.results) == 10
        assert _issued(order) == PAID
        order.refresh_from_db()
        assert order.payment_status == Order.PaymentStatus.REFUNDED
        with pytest.raises(ValidationError):
            _refund(order.pk, "10.00", 99)
        with pytest.raises(ValidationError):
            _refund(order.pk, "0.01", 100)
        assert _issued(order) == PAID


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("amount", ["0.00", "-10.00"])
def test_r13_zero_or_negative_refused(amount):
    order = _paid_order()
    with pytest.raises(ValidationError):
        _refund(order.pk, amount, 0)
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.django_db(transaction=True)
def test_r13_ten_parallel_refunds_of_15_never_exceed_what_was_paid():
    order = _paid_order()
    outcome = race(lambda i: _refund(order.pk, "15.00", i), count=10, expected=(ValidationError,))
    assert outcome.errors == [], outcome.errors[:3]
    done = [r for r in outcome.results if isinstance(r, Refund)]
    assert len(done) == 6
    assert _issued(order) == Decimal("90.00")


@pytest.mark.django_db(transaction=True)
def test_a_returned_line_is_restocked_once_when_two_people_inspect_it_at_once():
    from inventory.models import StockMovement
    from returns.services import requests
    from tests.inventory.factories import LocationFactory
    from tests.returns.factories import delivered_order, publish_policy

    publish_policy()
    order = delivered_order(lines=[(2, "20.00")])
    ret = requests.return_request_create(
        order_id=order.pk, lines={order.lines.get().pk: 2}, reason="wrong_item", actor=None
    )
    requests.return_approve(return_id=ret.pk, actor=None)
    requests.return_receive(return_id=ret.pk, actor=None)
    line = ret.lines.get()
    store = LocationFactory()

    def inspect(_i: int):
        return requests.return_line_inspect(
            return_line_id=line.pk, outcome="restock", location_id=store.pk, actor=None
        )

    outcome = race(inspect, count=5, expected=(ValidationError,))
    assert outcome.errors == [], outcome.errors[:3]
    assert sum(1 for r in outcome.results if not isinstance(r, ValidationError)) == 1
    movements = StockMovement.objects.filter(kind=StockMovement.Kind.RETURN_RESTOCK)
    assert movements.count() == 1 and movements.get().on_hand_delta == 2
