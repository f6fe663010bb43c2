"""R5: 5 % of 1,000 deliveries never arrive (800 orders created, 200 of them updated later).
A reconciliation run against the store's own list of orders builds every missing order and
applies every missing update, with no duplicate; a second run changes nothing."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from orders.formats import parse_json
from orders.models import Order, WebhookDelivery
from orders.services.intake import delivery_build, delivery_receive, orders_reconcile
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import dumps, later, shopify_headers, shopify_order

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 800
UPDATED = 200
LOST = 50
SENDERS = 4


def _versions(n: int) -> list[tuple[dict, str]]:
    order_id = 500_000 + n
    created = shopify_order(order_id, email=f"r5-{n}@example.com", financial_status="pending")
    versions = [(created, "orders/create")]
    if n < UPDATED:
        updated = shopify_order(
            order_id, email=f"r5-{n}@example.com", updated_at=later(30), financial_status="paid"
        )
        versions.append((updated, "orders/updated"))
    return versions


def _deliver(item: tuple[dict, str]) -> None:
    data, topic = item
    body = dumps(data)
    try:
        answer = delivery_receive(
            kind="shopify",
            channel_slug="web",
            headers=shopify_headers(body, topic=topic, webhook_id=f"{data['id']}-{topic}"),
            body=body,
        )
        assert answer.status == 202
        delivery_build(delivery_id=answer.delivery_id)
    finally:
        connection.close()


def test_a_reconciliation_run_builds_every_missing_order_once(shopify_channel, stocked, broker):
    # broker: nothing reaches Redis; each delivery is built right here, as a worker would.
    deliveries = [item for n in range(ORDERS) for item in _versions(n)]
    assert len(deliveries) == 1000
    rng = random.Random(20260302)
    lost = set(rng.sample(range(len(deliveries)), LOST))
    arriving = [d for i, d in enumerate(deliveries) if i not in lost]
    rng.shuffle(arriving)
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(_deliver, arriving))
    arrived = {str(data["id"]) for data, _ in arriving}
    never_seen = {str(data["id"]) for data, _ in deliveries} - arrived
    # Orders that exist but missed their update (a lost update after an arrived create).
    behind = {
        str(deliveries[i][0]["id"])
        for i in lost
        if deliveries[i][1] == "orders/updated" and i - 1 not in lost
    }
    assert Order.objects.count() == ORDERS - len(never_seen)

    # The store's list: every order as it stands now (its newest version).
    store = [parse_json(dumps(_versions(n)[-1][0])) for n in range(ORDERS)]
    first = orders_reconcile(channel=shopify_channel, external_orders=store)
    second = orders_reconcile(channel=shopify_channel, external_orders=store)

    assert set(first.built) == never_seen
    assert set(first.updated) == behind
    assert first.refused == []
    assert (second.built, second.updated, second.unchanged) == ([], [], ORDERS)
    assert Order.objects.count() == ORDERS
    assert Order.objects.values("external_id").distinct().count() == ORDERS
    newest = {str(data["id"]): data for data in store}
    stale = [
        external_id
        for external_id, updated_at, payment in Order.objects.values_list(
            "external_id", "source_updated_at", "payment_status"
        )
        if updated_at.isoformat() != newest[external_id]["updated_at"]
        or payment != newest[external_id]["financial_status"]
    ]
    assert stale == []
    # The intake log never saw the lost ones; every delivery that came was built once.
    assert WebhookDelivery.objects.count() == len(arriving)
