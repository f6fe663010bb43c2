"""Building deliveries in batches: the build task's path under load.

A batch must give every order what building it alone gives (the same order, lines, stock,
risk, route and timeline), build an update or a cancellation after the order it belongs
to, tell whoever is on duty once per batch, and never make an order twice when two
builders run at once. The fraud check's batch reads must answer as the per-order ones do.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from opsdesk.notifications.models import Notification
from opsdesk.processes.models import Process, WorkItem
from orders.models import Order, OrderEvent, RiskAssessment, WebhookDelivery
from orders.services import intake
from orders.services.fraud import BatchReads, FraudContext, risk_assess_many
from tests.orders.factories import CustomerFactory, OrderFactory, address, order_with_lines
from tests.orders.intake_support import *  # noqa: F403  (fixtures)
from tests.orders.intake_support import (
    STOCK,
    dumps,
    later,
    post,
    shopify_headers,
    shopify_order,
)
from tests.processes.factories import UserFactory

Outcome = WebhookDelivery.Outcome


def receive(client, payloads: list[dict], **headers) -> None:
    for payload in payloads:
        body = dumps(payload)
        response = post(client, "shopify", "web", body, shopify_headers(body, **headers))
        assert response.status_code in (200, 202), response.content


def timeline(order: Order) -> list[str]:
    return list(order.events.order_by("created_at", "pk").values_list("type", flat=True))


def summary(order: Order) -> dict:
    """What building gave the order, without what differs between two orders anyway."""
    risk = RiskAssessment.objects.filter(order=order).first()
    return {
        "status": order.status,
        "method": order.fulfillment_method,
        "reasons": [r.split(":")[0] for r in order.review_reasons],
        "lines": sorted((line.sku, line.quantity) for line in order.lines.all()),
        "reserved": sorted(
            Reservation.objects.filter(reference=order.number).values_list("quantity", flat=True)
        ),
        "risk": (risk.score, risk.level, [i["code"] for i in risk.indicators]) if risk else None,
        "timeline": timeline(order),
    }


# The same orders, one by one and in a batch ------------------------------------------------


def variety(base: int, email: str, ip: str, street: str) -> list[dict]:
    """New orders of every kind the batch builds together, and one it leaves to the
    one-by-one path (the store cancelled it before it arrived). Buyer, IP and street are
    the set's own, so the fraud check's counts of one set don't see the other."""
    two_lines = [("MUG-OCEAN", 2, "24.00"), ("TOWEL-SAGE", 1, "10.00")]
    orders = [
        shopify_order(base + 1, email=email),
        shopify_order(base + 2, email=email, lines=two_lines),
        shopify_order(base + 3, email=f"other-{email}", shipping_code="Pickup"),
        shopify_order(base + 4, email=email, shipping_code="Carrier pigeon"),
        shopify_order(base + 5, email=email, lines=[("NO-SUCH-SKU", 1, "9.00")]),
        shopify_order(base + 6, email=email, lines=[("CANDLE-CEDAR", STOCK + 1, "5.00")]),
        shopify_order(base + 7, email=email, cancelled=True),
    ]
    for order in orders:
        order["browser_ip"] = ip
        for kind in ("billing_address", "shipping_address"):
            order[kind] = {**order[kind], "address1": street}
    return orders


def test_a_batch_gives_each_order_what_building_it_alone_gives(
    client, shopify_channel, stocked, broker
):
    receive(client, variety(1000, "alone@example.com", "198.51.100.1", "1 Alone Rd"))
    waiting = WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).order_by("pk")
    for delivery_id in waiting.values_list("pk", flat=True):
        intake.delivery_build(delivery_id=delivery_id)
    alone = [summary(o) for o in Order.objects.filter(external_id__startswith="100")]

    receive(client, variety(2000, "batch@example.com", "198.51.100.2", "2 Batch Rd"))
    claimed = intake.deliveries_build_batch()

    assert claimed == 7
    assert not WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).exists()
    together = [summary(o) for o in Order.objects.filter(external_id__startswith="200")]
    assert together == alone
    # What the cases are, so the comparison means something.
    statuses = [s["status"] for s in together]
    # The buyer's fourth order in minutes is held: both routes are in the comparison.
    assert set(statuses) == {
        Order.Status.AWAITING_REVIEW,
        Order.Status.ON_HOLD,
        Order.Status.CANCELLED,
    }
    assert statuses[-1] == Order.Status.CANCELLED
    assert together[4]["reasons"] == ["Unknown SKU 'NO-SUCH-SKU'"]
    assert "backordered" in together[5]["timeline"]


def test_an_update_in_the_same_batch_is_applied_after_its_order(
    client, shopify_channel, stocked, broker
):
    receive(client, [shopify_order(3001, lines=[("MUG-OCEAN", 1, "24.00")])])
    receive(
        client,
        [shopify_order(3001, updated_at=later(5), lines=[("MUG-OCEAN", 3, "24.00")])],
        topic="orders/updated",
    )

    assert intake.deliveries_build_batch() == 2

    order = Order.objects.get(external_id="3001")
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("MUG-OCEAN", 3)]
    assert order.source_updated_at == later(5)
    assert list(WebhookDelivery.objects.order_by("pk").values_list("outcome", flat=True)) == [
        Outcome.BUILT,
        Outcome.BUILT,
    ]
    level = StockLevel.objects.get(variant=stocked["MUG-OCEAN"])
    assert level.reserved == 3


def test_a_batch_tells_whoever_is_on_duty_once(client, shopify_channel, stocked, broker):
    reviewer = UserFactory(username="on-duty", email="on-duty@example.com")
    Process.objects.filter(key="order_review").update(primary=reviewer)
    receive(client, [shopify_order(4000 + n, email=f"b{n}@example.com") for n in range(5)])

    intake.deliveries_build_batch()

    notice = Notification.objects.get(recipient=reviewer)
    assert notice.subject == "5 new in Order review"
    for number in ("#4000", "#4004"):
        assert f"Order {number}" in notice.body
    assert WorkItem.objects.filter(process__key="order_review", status="open").count() == 5


def test_high_risk_orders_of_a_batch_are_held_for_fraud_review(
    client, shopify_channel, stocked, broker
):
    CustomerFactory(email="flagged@example.com", fraud_flag=True)
    receive(
        client,
        [
            shopify_order(5001, email="flagged@example.com"),
            shopify_order(5002, email="fine@example.com"),
        ],
    )

    intake.deliveries_build_batch()

    held = Order.objects.get(external_id="5001")
    assert held.status == Order.Status.ON_HOLD
    assert held.risk_level == "high"
    assert held.hold_reason == "high fraud risk"
    assert timeline(held)[-1] == OrderEvent.Type.HELD
    assert WorkItem.objects.filter(process__key="fraud_review", source_id=held.pk).exists()
    assert Order.objects.get(external_id="5002").status == Order.Status.AWAITING_REVIEW


def test_a_failing_batch_is_built_one_by_one(client, shopify_channel, stocked, broker, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug in the batch path")

    monkeypatch.setattr(intake, "orders_create_many", broken)
    receive(client, [shopify_order(5101), shopify_order(5102, email="two@example.com")])

    assert intake.deliveries_build_batch() == 2

    assert Order.objects.count() == 2
    assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {Outcome.BUILT}


def test_nothing_waiting_claims_nothing(db):
    assert intake.deliveries_build_batch() == 0


# Waking the build task -----------------------------------------------------------------------


def test_one_task_is_woken_while_one_is_on_its_way(
    client, shopify_channel, stocked, monkeypatch, django_capture_on_commit_callbacks
):
    from orders.tasks import deliveries_build_task

    woken = []
    monkeypatch.setattr(deliveries_build_task, "delay", lambda: woken.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        receive(client, [shopify_order(6000 + n, email=f"w{n}@example.com") for n in range(4)])
    assert len(woken) == 1

    assert intake.deliveries_build_pending() == 4  # the task: it clears the mark first
    with django_capture_on_commit_callbacks(execute=True):
        receive(client, [shopify_order(6100)])
    assert len(woken) == 2
    assert Order.objects.count() == 4


def test_when_the_broker_refuses_the_next_delivery_tries_again(
    client, shopify_channel, stocked, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError as BrokerDown

    from orders.tasks import deliveries_build_task

    tries = []

    def refuse():
        tries.append(1)
        raise BrokerDown("connection refused")

    monkeypatch.setattr(deliveries_build_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        receive(client, [shopify_order(6201), shopify_order(6202)])

    assert len(tries) == 2
    assert WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).count() == 2


# Two builders at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_builders_at_once_build_each_order_once(client, shopify_channel, stocked, broker):
    orders = [
        shopify_order(7000 + n, email=f"p{n % 30}@example.com", lines=[("MUG-OCEAN", 1, "24.00")])
        for n in range(120)
    ]
    receive(client, orders)
    # Every fifth order again as an update, and every seventh delivered twice.
    receive(
        client,
        [
            shopify_order(7000 + n, updated_at=later(1), email=f"p{n % 30}@example.com")
            for n in range(0, 120, 5)
        ],
        topic="orders/updated",
    )
    for n, order in enumerate(orders[::7]):  # the same order again, as another delivery
        body = dumps(order)
        post(client, "shopify", "web", body, shopify_headers(body, webhook_id=f"again-{n}"))

    def builder(_: int) -> int:
        try:
            built = 0
            while claimed := intake.deliveries_build_batch(limit=25):
                built += claimed
            return built
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(builder, range(2)))

    assert Order.objects.count() == 120
    assert not WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).exists()
    level = StockLevel.objects.get(variant=stocked["MUG-OCEAN"])
    assert level.reserved == 120
    assert Reservation.objects.filter(status="active").count() == 120
    assert not Order.objects.filter(status=Order.Status.RECEIVED).exists()


# The fraud check's batch reads ---------------------------------------------------------------


def test_batch_reads_answer_as_the_per_order_reads(db):
    rng = random.Random(7)
    now = timezone.now()
    customers = [CustomerFactory() for _ in range(4)]
    streets = ["1 Main St", "1 MAIN ST", "9 Elm St"]
    orders = []
    for _ in range(80):
        customer = rng.choice([*customers, None])
        orders.append(
            OrderFactory(
                customer=customer,
                email=customer.email if customer else rng.choice(["", "loose@example.com"]),
                shipping_address=address(
                    address1=rng.choice(streets), postcode=rng.choice(["62701", "10001"])
                ),
                client_ip=rng.choice([None, "203.0.113.9", "198.51.100.4"]),
                card_fingerprint=rng.choice(["", "card-a", "card-b"]),
                status=rng.choice([Order.Status.APPROVED, Order.Status.RECEIVED]),
                total=Decimal(rng.randint(5, 500)),
                # Whole quarter hours, so that some orders share their time.
                created_at=now - timedelta(minutes=15 * rng.randint(0, 4 * 48)),
            )
        )
    batch = sorted(orders, key=lambda o: o.created_at)[-25:]
    reads = BatchReads(batch)
    answered_by_batch = 0
    for order in batch:
        alone, together = FraudContext(order), FraudContext(order, reads)
        assert together.history == alone.history
        assert together.velocity(24) == alone.velocity(24)
        assert together.velocity(1) == alone.velocity(1)
        for sample in (3, 30, 200):
            answered_by_batch += reads.store_average(order, sample) is not None
            (mean_together, n_together), (mean_alone, n_alone) = (
                together.store_average(sample),
                alone.store_average(sample),
            )
            assert n_together == n_alone
            # The database's average has fewer digits than Python's Decimal division.
            assert round(mean_together, 6) == round(mean_alone, 6)
    # Most answers came from the batch's rows (the rest from the database).
    assert answered_by_batch > 50


def test_assessing_a_batch_leaves_orders_already_routed_alone(db):
    routed = OrderFactory(status=Order.Status.APPROVED)
    new = OrderFactory()

    assert risk_assess_many(order_ids=[routed.pk, new.pk]) == 1

    routed.refresh_from_db()
    assert routed.risk_level == ""
    assert Order.objects.get(pk=new.pk).status == Order.Status.AWAITING_REVIEW


def test_a_batch_assesses_its_orders_as_built_unless_they_changed_since(db):
    """The orders the batch built are assessed as the batch holds them; one whose row changed
    in between (its updated_at moved) is read again."""
    as_built, changed = order_with_lines(), order_with_lines()
    built = {}
    for order in (as_built, changed):
        held = Order.objects.select_related("customer", "channel").get(pk=order.pk)
        lines = list(held.lines.all())
        lines[0].quantity = 40  # what only the held copy says: "many units" fires on it
        built[order.pk] = (held, lines)
    Order.objects.filter(pk=changed.pk).update(updated_at=timezone.now())

    assert risk_assess_many(order_ids=[as_built.pk, changed.pk], built=built) == 2

    def codes(order):
        return [i["code"] for i in RiskAssessment.objects.get(order=order).indicators]

    assert "many_units" in codes(as_built)
    assert "many_units" not in codes(changed)  # its two units, as the database has them
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.AWAITING_REVIEW}
