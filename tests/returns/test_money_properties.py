"""RELIABILITY R14: refund arithmetic over random orders (hypothesis).

Orders of 1 to 50 lines, tax 0 to 27 %, line and order-level discounts, prices with and
without tax included, shipping. Refunding everything gives back exactly the total, to the
cent; any split into partial refunds sums to at most the total, and the whole split to
exactly it. Money is Decimal throughout: no float gets in.
"""

import ast
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returns.money import LineIn, money, order_shares, refund_quote, spread

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=500_00).map(lambda c: Decimal(c) * CENT)


@st.composite
def orders(draw):
    count = draw(st.integers(min_value=1, max_value=50))
    rate = Decimal(draw(st.integers(min_value=0, max_value=2700))) / Decimal(10000)
    included = draw(st.booleans())
    lines = []
    for i in range(count):
        quantity = draw(st.integers(min_value=1, max_value=12))
        price = draw(cents.filter(lambda p: p > 0))
        gross = price * quantity
        discount = draw(st.integers(min_value=0, max_value=int(gross / CENT))) * CENT
        if included:
            tax = ((gross - discount) * rate / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
        else:
            tax = ((gross - discount) * rate).quantize(CENT, ROUND_HALF_UP)
        lines.append(
            LineIn(id=i + 1, quantity=quantity, unit_price=price, discount=discount, tax=tax)
        )
    shipping = draw(cents)
    goods = sum(
        (ln.unit_price * ln.quantity - ln.discount + (0 if included else ln.tax) for ln in lines),
        Decimal("0.00"),
    )
    order_discount = draw(st.integers(min_value=0, max_value=int(goods / CENT))) * CENT
    total = goods - order_discount + shipping
    return {"lines": lines, "shipping": shipping, "total": total, "included": included}


def _shares(o):
    return order_shares(
        total=o["total"],
        shipping_total=o["shipping"],
        taxes_included=o["included"],
        lines=o["lines"],
    )


@settings(max_examples=300, deadline=None)
@given(orders())
def test_refunding_everything_gives_back_exactly_the_total(o):
    shares = _shares(o)
    quote = refund_quote(
        shares=shares,
        units={ln.id: ln.quantity for ln in o["lines"]},
        already_units={},
        include_shipping=True,
    )
    assert quote.amount == o["total"]
    assert all(isinstance(q.amount, Decimal) and q.amount >= 0 for q in quote.lines)
    assert quote.amount == quote.amount.quantize(CENT)


@settings(max_examples=200, deadline=None)
@given(orders(), st.data())
def test_any_split_into_partial_refunds_sums_to_at_most_then_exactly_the_total(o, data):
    shares = _shares(o)
    remaining = {ln.id: ln.quantity for ln in o["lines"]}
    already: dict[int, int] = {}
    given_back = Decimal("0.00")
    shipping_done = Decimal("0.00")
    while any(remaining.values()):
        units = {}
        for line_id, left in remaining.items():
            if left:
                take = data.draw(st.integers(min_value=0, max_value=left))
                if take:
                    units[line_id] = take
        with_shipping = data.draw(st.booleans())
        quote = refund_quote(
            shares=shares,
            units=units,
            already_units=already,
            include_shipping=with_shipping,
            shipping_already=shipping_done,
        )
        given_back += quote.amount
        shipping_done += quote.shipping_amount
        assert given_back <= o["total"]
        for line_id, n in units.items():
            remaining[line_id] -= n
            already[line_id] = already.get(line_id, 0) + n
    final = refund_quote(
        shares=shares,
        units={},
        already_units=already,
        include_shipping=True,
        shipping_already=shipping_done,
    )
    assert given_back + final.amount == o["total"]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=-(10**9), max_value=10**9).map(lambda c: Decimal(c) * CENT),
    st.lists(st.integers(min_value=0, max_value=10**6).map(Decimal), min_size=1, max_size=30),
)
def test_spread_adds_up_to_the_cent(amount, weights):
    parts = spread(amount, weights)
    assert sum(parts, Decimal("0")) == amount
    assert all(p == p.quantize(CENT) for p in parts)


def test_refunding_more_units_than_remain_is_refused():
    shares = order_shares(
        total=Decimal("10.00"),
        shipping_total=Decimal("0"),
        taxes_included=False,
        lines=[LineIn(id=1, quantity=1, unit_price=Decimal("10.00"))],
    )
    with pytest.raises(ValueError, match="only 0 of 1"):
        refund_quote(shares=shares, units={1: 1}, already_units={1: 1}, include_shipping=False)


def test_money_refuses_float():
    with pytest.raises(TypeError):
        money(1.1)


def test_no_float_in_money_code():
    root = Path(__file__).resolve().parents[2] / "returns"
    files = [root / "money.py", *sorted((root / "services").glob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), path
            assert not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "float"
            ), path


# Through the database: random orders refunded in random parts, then the rest.


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders(), st.data())
def test_refunds_recorded_on_an_order_add_up_to_exactly_its_total(o, data):
    from django.db import transaction

    from orders.models import Order
    from returns.models import Refund
    from returns.services.refunds import refund_create, refund_for_cancelled_order
    from returns.services.requests import order_refund_quote
    from tests.orders.factories import OrderFactory, OrderLineFactory

    o = {**o, "lines": o["lines"][:8]}
    goods = sum(
        (
            ln.unit_price * ln.quantity - ln.discount + (0 if o["included"] else ln.tax)
            for ln in o["lines"]
        ),
        Decimal("0.00"),
    )
    total = goods + o["shipping"]
    with transaction.atomic():
        order = OrderFactory(
            total=total,
            shipping_total=o["shipping"],
            taxes_included=o["included"],
            payment_status=Order.PaymentStatus.PAID,
        )
        made = [
            OrderLineFactory(
                order=order,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discount=ln.discount,
                tax=ln.tax,
                variant=None,
                sku="",
            )
            for ln in o["lines"]
        ]
        line = made[data.draw(st.integers(min_value=0, max_value=len(made) - 1))]
        part = data.draw(st.integers(min_value=0, max_value=line.quantity))
        if part:
            quote = order_refund_quote(order=order, units={line.pk: part}, include_shipping=False)
            if quote.amount > 0:
                refund_create(
                    order_id=order.pk,
                    amount=quote.amount,
                    method="original",
                    actor=None,
                    lines=[(q.line_id, q.quantity, q.amount) for q in quote.lines],
                    provider_reference="re_part",
                )
        if total > 0:
            rest = refund_for_cancelled_order(order_id=order.pk, actor=None, reason="test")
            held = sum(
                (r.amount for r in Refund.objects.filter(order=order, status__in=Refund.HOLDING)),
                Decimal("0.00"),
            )
            assert held == total
            assert rest is None or rest.amount > 0
            with pytest.raises(ValidationError):
                refund_create(
                    order_id=order.pk,
                    amount=Decimal("0.01"),
                    method="original",
                    actor=None,
                    provider_reference="re_more",
                )
        transaction.set_rollback(True)
