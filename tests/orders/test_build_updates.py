"""Building and updating orders: R4 (out of order: an update before its create builds the
order, an older update never rolls it back; 1,000 shuffled sequences end at the newest
state), the update rules, reconciliation, and the hand fixes (line match, method)."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import Location, Reservation
from inventory.services import stock_receive
from orders.formats import parse_json, shopify
from orders.models import Order, OrderEvent
from orders.services.build import (
    BuildOutcome,
    order_build,
    order_fulfillment_method_set,
    order_line_match,
)
from orders.services.intake import orders_reconcile
from tests.catalog.factories import ProductFactory, VariantFactory, VendorFactory
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import T0, dumps, later, shopify_order

pytestmark = pytest.mark.django_db

PAYMENT = ["pending", "authorized", "paid", "partially_refunded", "refunded"]
CITIES = ["Springfield", "Shelbyville", "Ogdenville", "North Haverbrook"]


def incoming(data: dict, topic: str = "orders/updated"):
    """Through the JSON decoder, as a delivery body would be."""
    return shopify.parse(parse_json(dumps(data)), topic=topic)


def version(order_id: int, n: int, *, status: str, city: str, qty: int, cancelled: bool):
    data = shopify_order(
        order_id,
        updated_at=later(n),
        financial_status=status,
        cancelled=cancelled,
        lines=[("R4-SKU", qty, "10.00")],
    )
    data["shipping_address"]["city"] = city
    topic = "orders/create" if n == 0 else "orders/cancelled" if cancelled else "orders/updated"
    return data, topic


def reservations_of(order: Order):
    return Reservation.objects.filter(
        source_type=ContentType.objects.get_for_model(Order),
        source_id=order.pk,
        status=Reservation.Status.ACTIVE,
    )


# R4 -----------------------------------------------------------------------------------------


def versions_strategy(*, vary_quantity: bool):
    return st.lists(
        st.tuples(
            st.sampled_from(PAYMENT),
            st.sampled_from(CITIES),
            st.integers(min_value=1, max_value=3) if vary_quantity else st.just(1),
        ),
        min_size=2,
        max_size=4,
    )


@pytest.fixture
def r4_stock(shopify_channel, pickup_store):
    variant = VariantFactory(sku="R4-SKU")
    stock_receive(variant_id=variant.pk, location_id=pickup_store.pk, quantity=100_000, actor=None)
    return variant


@pytest.fixture
def r4_drop_ship(shopify_channel):
    vendor = VendorFactory(name="R4 vendor", drop_ships=True)
    return VariantFactory(sku="R4-SKU", product=ProductFactory(vendor=vendor))


def shuffled_sequences(channel, *, examples: int, with_stock: bool):
    """Hypothesis: versions of one order (payment, city, quantity; cancelled from some
    version on), some sent twice, all in a shuffled order. The order must end at the newest
    version's state, whatever the order of arrival."""
    # Only the run with stock changes the lines (a change of lines moves stock, the slow
    # part); both change payment, address and cancellation.
    ids = itertools.count(9_000_000 if with_stock else 8_000_000)

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        states=versions_strategy(vary_quantity=with_stock),
        cancel_from=st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
        repeats=st.lists(st.integers(min_value=0, max_value=3), max_size=1),
        data=st.data(),
    )
    def run(states, cancel_from, repeats, data):
        order_id = next(ids)
        # Once the store cancels an order, every later version says so too.
        versions = [
            version(
                order_id,
                n,
                status=status,
                city=city,
                qty=qty,
                cancelled=cancel_from is not None and n >= cancel_from,
            )
            for n, (status, city, qty) in enumerate(states)
        ]
        sent = versions + [versions[r % len(versions)] for r in repeats]
        for payload, topic in data.draw(st.permutations(sent)):
            order_build(channel=channel, incoming=incoming(payload, topic))

        newest, _ = versions[-1]
        order = Order.objects.get(channel=channel, external_id=str(order_id))
        assert order.source_updated_at == later(len(versions) - 1)
        newest_cancelled = newest["cancelled_at"] is not None
        paid = shopify.PAYMENT[newest["financial_status"]]
        if newest_cancelled and paid in ("paid", "partially_refunded"):
            paid = Order.PaymentStatus.REFUND_DUE  # cancelled with the money still held
        assert order.payment_status == paid
        assert order.shipping_address["city"] == newest["shipping_address"]["city"]
        assert order.total == Decimal(newest["total_price"])
        assert (order.status == Order.Status.CANCELLED) == newest_cancelled
        held = sum(r.quantity for r in reservations_of(order))
        if newest_cancelled:
            assert held == 0
        else:
            wanted = newest["line_items"][0]["quantity"]
            assert list(order.lines.values_list("sku", "quantity")) == [("R4-SKU", wanted)]
            assert held == (wanted if with_stock else 0)

    run()


def test_out_of_order_deliveries_end_at_the_newest_state(shopify_channel, r4_drop_ship):
    # R4's 1,000 sequences; the item is drop shipped, so no stock is held (the next test
    # shuffles with stock).
    shuffled_sequences(shopify_channel, examples=1000, with_stock=False)


def test_out_of_order_deliveries_hold_the_newest_lines_stock(shopify_channel, r4_stock):
    shuffled_sequences(shopify_channel, examples=100, with_stock=True)


def test_an_update_before_its_create_builds_the_order_and_the_create_is_then_older(
    shopify_channel, stocked
):
    updated = shopify_order(1, updated_at=later(5), financial_status="paid")
    created = shopify_order(1, updated_at=T0, financial_status="pending")

    first = order_build(channel=shopify_channel, incoming=incoming(updated))
    second = order_build(channel=shopify_channel, incoming=incoming(created, topic="orders/create"))

    assert (first.outcome, second.outcome) == (BuildOutcome.CREATED, BuildOutcome.OLDER)
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert "not applied" in second.detail
    assert order.events.filter(type=OrderEvent.Type.RECEIVED).count() == 1
    assert not order.events.filter(type=OrderEvent.Type.UPDATED).exists()


def test_the_same_version_again_is_a_duplicate_and_changes_nothing(shopify_channel, stocked):
    data = shopify_order(2)
    order_build(channel=shopify_channel, incoming=incoming(data, "orders/create"))
    again = order_build(channel=shopify_channel, incoming=incoming(data))

    assert again.outcome == BuildOutcome.DUPLICATE
    assert Order.objects.get().events.count() == 2  # received, stock reserved


def test_an_update_records_what_changed(shopify_channel, stocked):
    order_build(channel=shopify_channel, incoming=incoming(shopify_order(3), "orders/create"))
    result = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(3, updated_at=later(1), financial_status="refunded")),
    )

    event = result.order.events.get(type=OrderEvent.Type.UPDATED)
    assert event.data["changed"] == ["payment_status"]
    assert result.order.payment_status == Order.PaymentStatus.REFUNDED


def test_changed_lines_give_back_the_old_stock_and_reserve_the_new(shopify_channel, stocked):
    order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(4, lines=[("MUG-OCEAN", 2, "24.00")]), "orders/create"),
    )
    result = order_build(
        channel=shopify_channel,
        incoming=incoming(
            shopify_order(4, updated_at=later(1), lines=[("CANDLE-CEDAR", 1, "37.00")])
        ),
    )

    assert [(r.variant.sku, r.quantity) for r in reservations_of(result.order)] == [
        ("CANDLE-CEDAR", 1)
    ]
    assert list(result.order.lines.values_list("sku", flat=True)) == ["CANDLE-CEDAR"]


def test_after_approval_the_store_cannot_change_the_lines(shopify_channel, stocked):
    from orders.services.transitions import order_transition

    built = order_build(
        channel=shopify_channel, incoming=incoming(shopify_order(5), "orders/create")
    )
    order_transition(
        order_id=built.order.pk,
        to_status=Order.Status.APPROVED,
        actor=None,
        event_type=OrderEvent.Type.APPROVED,
    )
    result = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(5, updated_at=later(1), lines=[("MUG-OCEAN", 9, "1.00")])),
    )

    assert list(result.order.lines.values_list("quantity", flat=True)) == [1]
    event = result.order.events.get(type=OrderEvent.Type.UPDATED)
    assert "kept its lines" in event.data["lines_not_applied"]


def test_a_refund_due_on_a_cancelled_order_stays_due_until_the_store_refunds(
    shopify_channel, stocked
):
    from orders.services.review import order_cancel

    built = order_build(
        channel=shopify_channel, incoming=incoming(shopify_order(6), "orders/create")
    )
    order_cancel(order_id=built.order.pk, actor=None, reason="Customer called")
    paid = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(6, updated_at=later(1), financial_status="paid")),
    )
    refunded = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(6, updated_at=later(2), financial_status="refunded")),
    )

    assert paid.order.payment_status == Order.PaymentStatus.REFUND_DUE
    assert refunded.order.payment_status == Order.PaymentStatus.REFUNDED
    assert refunded.order.status == Order.Status.CANCELLED


def test_a_paid_order_the_store_cancels_is_due_a_refund(shopify_channel, stocked):
    order_build(channel=shopify_channel, incoming=incoming(shopify_order(8), "orders/create"))
    result = order_build(
        channel=shopify_channel,
        incoming=incoming(
            shopify_order(8, updated_at=later(1), cancelled=True), "orders/cancelled"
        ),
    )

    assert result.order.status == Order.Status.CANCELLED
    assert result.order.payment_status == Order.PaymentStatus.REFUND_DUE
    cancelled = result.order.events.get(type=OrderEvent.Type.CANCELLED)
    assert cancelled.data["refund_due"] is True
    assert "The store says" in cancelled.data["reason"]


def test_a_new_order_that_arrives_cancelled_is_built_cancelled_without_stock(
    shopify_channel, stocked
):
    result = order_build(
        channel=shopify_channel, incoming=incoming(shopify_order(7, cancelled=True))
    )
    assert result.order.status == Order.Status.CANCELLED
    assert not reservations_of(result.order).exists()


# Reconciliation ---------------------------------------------------------------------------


def test_reconciliation_builds_what_is_missing_and_updates_what_is_newer(shopify_channel, stocked):
    order_build(channel=shopify_channel, incoming=incoming(shopify_order(11), "orders/create"))
    order_build(channel=shopify_channel, incoming=incoming(shopify_order(12), "orders/create"))
    store = [
        parse_json(dumps(shopify_order(11))),  # the same
        parse_json(dumps(shopify_order(12, updated_at=later(3), financial_status="refunded"))),
        parse_json(dumps(shopify_order(13))),  # never delivered
        {"id": 14},  # not an order
    ]

    result = orders_reconcile(channel=shopify_channel, external_orders=store)
    again = orders_reconcile(channel=shopify_channel, external_orders=store)

    assert (result.built, result.updated, result.unchanged) == (["13"], ["12"], 1)
    assert result.refused[0][0] == "14"
    assert (again.built, again.updated, again.unchanged) == ([], [], 3)
    assert Order.objects.count() == 3
    # Built orders are routed on by the fraud check, as deliveries are.
    assert Order.objects.get(external_id="13").status != Order.Status.RECEIVED


# Fixing by hand ---------------------------------------------------------------------------


def test_matching_a_line_twice_is_refused(shopify_channel, stocked):
    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(21, lines=[("NOPE", 1, "1.00")]), "orders/create"),
    )
    line = built.order.lines.get()
    order_line_match(line_id=line.pk, variant_id=stocked["MUG-OCEAN"].pk, actor=None)

    with pytest.raises(ValidationError, match="already matched"):
        order_line_match(line_id=line.pk, variant_id=stocked["MUG-OCEAN"].pk, actor=None)


def test_choosing_the_method_clears_the_shipping_reason(shopify_channel, stocked, pickup_store):
    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(22, shipping_code="Courier"), "orders/create"),
    )
    assert built.order.fulfillment_method == Order.Method.UNKNOWN
    assert built.order.review_reasons

    with pytest.raises(ValidationError):
        order_fulfillment_method_set(
            order_id=built.order.pk, method="store_pickup", pickup_location_id=None, actor=None
        )
    order = order_fulfillment_method_set(
        order_id=built.order.pk,
        method="store_pickup",
        pickup_location_id=pickup_store.pk,
        actor=None,
    )

    assert order.fulfillment_method == Order.Method.STORE_PICKUP
    assert order.review_reasons == []


def test_a_mapped_pickup_code_sets_the_pickup_location(shopify_channel, stocked, pickup_store):
    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(23, shipping_code="Pickup"), "orders/create"),
    )
    assert built.order.fulfillment_method == Order.Method.STORE_PICKUP
    assert built.order.pickup_location == pickup_store


def test_placed_at_and_store_time_are_kept(shopify_channel, stocked):
    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(24, updated_at=later(2)), "orders/create"),
    )
    assert built.order.placed_at == T0
    assert built.order.source_updated_at == T0 + timedelta(minutes=2)
    assert Location.objects.count() == 1
