"""Reads compiled once per process (opsdesk/core/compiled.py): each call answers as its
queryset would, with its own values, and compiles nothing after the first."""

import threading

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import StringAgg, Value
from django.db.models.sql.compiler import SQLCompiler

from opsdesk.core.compiled import CompiledRead
from orders.models import Order, RiskAssessment
from tests.orders.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _order_read():
    return CompiledRead(
        lambda order_id: Order.objects.select_related("channel", "customer", "risk").filter(
            pk=order_id
        ),
        order_id=int,
    )


def test_each_call_gives_what_the_queryset_gives_with_its_related_objects(
    django_assert_num_queries,
):
    read = _order_read()
    with_risk = OrderFactory(customer=CustomerFactory())
    RiskAssessment.objects.create(order=with_risk, score=71, level="high", indicators=[{"a": 1}])
    plain = OrderFactory(customer=None)

    for order in (with_risk, plain, with_risk):
        expected = Order.objects.select_related("channel", "customer", "risk").get(pk=order.pk)
        with django_assert_num_queries(1):
            (got,) = read(order_id=order.pk)
            related = (got.channel, got.customer, getattr(got, "risk", None))
        assert (got.pk, got.number, got.total, got.shipping_address) == (
            expected.pk,
            expected.number,
            expected.total,
            expected.shipping_address,
        )
        assert related == (expected.channel, expected.customer, getattr(expected, "risk", None))
    assert with_risk.risk.indicators == [{"a": 1}]
    assert read(order_id=plain.pk + with_risk.pk + 1000) == []


def test_annotations_and_string_parameters_come_through():
    read = CompiledRead(
        lambda username: User.objects.annotate(
            groups_named=StringAgg("groups__name", Value(","), order_by="groups__name")
        ).filter(username=username),
        username=str,
    )
    ana = User.objects.create_user("ana")
    ana.groups.add(Group.objects.create(name="b"), Group.objects.create(name="a"))
    User.objects.create_user("ben")

    (got,) = read(username="ana")
    assert (got.pk, got.groups_named) == (ana.pk, "a,b")
    assert read(username="ben")[0].groups_named is None
    assert read(username="nobody") == []


def test_it_compiles_once_and_then_runs_the_sql_with_each_calls_values(monkeypatch):
    compiles = []
    as_sql = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiles.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    read = _order_read()
    orders = OrderFactory.create_batch(3)
    monkeypatch.setattr(SQLCompiler, "as_sql", counted)

    got = [read(order_id=order.pk)[0].pk for order in orders]

    assert got == [order.pk for order in orders]
    assert compiles == [Order]


def test_a_sliced_read_keeps_its_slice_and_order():
    customer = CustomerFactory()
    orders = OrderFactory.create_batch(4, customer=customer)
    read = CompiledRead(
        lambda customer_id, order_id: (
            Order.objects.filter(customer_id=customer_id).exclude(pk=order_id).order_by("-id")[:2]
        ),
        customer_id=int,
        order_id=int,
    )

    got = read(customer_id=customer.pk, order_id=orders[3].pk)

    assert [o.pk for o in got] == [orders[2].pk, orders[1].pk]


def test_a_parameter_the_sql_does_not_take_is_refused_when_compiling():
    read = CompiledRead(lambda order_id: Order.objects.all(), order_id=int)

    with pytest.raises(ValueError, match="does not take \\['order_id'\\]"):
        read(order_id=1)


def test_values_of_the_wrong_kind_or_name_are_refused():
    read = _order_read()

    with pytest.raises(TypeError, match="order_id must be int"):
        read(order_id="5")
    with pytest.raises(TypeError, match="takes \\['order_id'\\]"):
        read(pk=5)
    with pytest.raises(TypeError, match="int and str parameters"):
        CompiledRead(lambda when: Order.objects.filter(created_at=when), when=object)


def test_another_thread_runs_it_on_its_own_connection():
    read = _order_read()
    order = OrderFactory()
    assert read(order_id=order.pk)  # compiled on this thread's connection
    answers = []

    def elsewhere():
        try:
            answers.append(read(order_id=order.pk + 1000))
        except Exception as exc:  # reported by the assert below
            answers.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert answers == [[]]
