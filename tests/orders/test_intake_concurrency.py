"""R2, the suite's version: 50 signed deliveries from parallel senders (a test Client each, on
its own database connection), 10 of them repeats (5 as simultaneous pairs), then built by
parallel workers: exactly 40 orders,
no duplicate order, reservation or e-mail, every delivery answered 2xx. And two copies of one
order accepted under different webhook ids, built at the same moment, make one order."""

import importlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client

from inventory.models import Reservation
from opsdesk.notifications.models import EmailDelivery, Notification
from opsdesk.processes.models import Process
from orders.models import Order, WebhookDelivery
from orders.services.intake import delivery_build
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import dumps, shopify_headers, shopify_order
from tests.processes.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

UNIQUE = 40
PAIRS = 5
LATER_REPEATS = 5
WORKERS = 8


def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    try:
        response = Client().post(url, data=body, content_type="application/json", headers=headers)
    finally:
        connection.close()
    return response.status_code, time.monotonic() - started


def build_in_parallel(ids: list[int]) -> None:
    def work(delivery_id: int) -> None:
        try:
            delivery_build(delivery_id=delivery_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(work, ids))


@pytest.fixture
def on_duty_reviewer(db):
    """Someone on duty for order review, so every new order makes one e-mail."""
    reviewer = UserFactory(username="reviewer", email="reviewer@example.com")
    Process.objects.filter(key="order_review").update(primary=reviewer)
    return reviewer


@pytest.fixture
def no_mail_broker(monkeypatch):
    # The e-mail rows are what is counted; nothing needs to reach Redis.
    notify_module = importlib.import_module("opsdesk.notifications.services.notify")
    monkeypatch.setattr(notify_module, "deliveries_enqueue", lambda *, delivery_ids: None)


def test_fifty_parallel_deliveries_with_repeats_make_exactly_forty_orders(
    shopify_channel, stocked, broker, on_duty_reviewer, no_mail_broker
):
    url = f"/webhooks/shopify/{shopify_channel.slug}/"
    originals = []
    for n in range(UNIQUE):
        body = dumps(shopify_order(700_000 + n, email=f"buyer{n}@example.com"))
        originals.append((body, shopify_headers(body, webhook_id=f"wh-{n}")))
    first_round = originals + originals[:PAIRS]  # 5 copies race their originals
    later = originals[PAIRS : PAIRS + LATER_REPEATS]
    barrier = threading.Barrier(len(first_round))
    answers: list[tuple[int, float]] = []
    lock = threading.Lock()

    def sender(delivery):
        barrier.wait(30)
        answer = send(url, *delivery)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=sender, args=(d,)) for d in first_round]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    answers += [send(url, *delivery) for delivery in later]
    build_in_parallel(list(broker))

    statuses = Counter(status for status, _ in answers)
    assert len(answers) == 50
    assert statuses == {202: UNIQUE, 200: PAIRS + LATER_REPEATS}
    assert max(seconds for _, seconds in answers) < 5
    assert Order.objects.count() == UNIQUE
    assert Order.objects.values("external_id").distinct().count() == UNIQUE
    outcomes = Counter(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == {"built": UNIQUE, "duplicate": PAIRS + LATER_REPEATS}
    order_type = ContentType.objects.get_for_model(Order)
    held = Counter(
        Reservation.objects.filter(source_type=order_type).values_list("source_id", flat=True)
    )
    assert len(held) == UNIQUE
    assert set(held.values()) == {1}
    mails = Counter(
        EmailDelivery.objects.filter(to="reviewer@example.com").values_list(
            "notification__link", flat=True
        )
    )
    assert len(mails) == UNIQUE
    assert set(mails.values()) == {1}
    assert Notification.objects.filter(recipient=on_duty_reviewer).count() == UNIQUE


def test_one_order_accepted_twice_and_built_at_once_is_one_order(
    client, shopify_channel, stocked, broker
):
    body = dumps(shopify_order(800_001))
    for webhook_id in ("wh-left", "wh-right"):
        response = client.post(
            f"/webhooks/shopify/{shopify_channel.slug}/",
            data=body,
            content_type="application/json",
            headers=shopify_headers(body, webhook_id=webhook_id),
        )
        assert response.status_code == 202
    assert len(broker) == 2

    barrier = threading.Barrier(2)

    def work(delivery_id: int) -> None:
        try:
            barrier.wait(10)
            delivery_build(delivery_id=delivery_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(work, broker))

    assert Order.objects.count() == 1
    assert Reservation.objects.count() == 1
    assert sorted(WebhookDelivery.objects.values_list("outcome", flat=True)) == [
        "built",
        "duplicate",
    ]
