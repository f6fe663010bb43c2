"""The webhook endpoints end to end (request → intake log → build → order): the stored Shopify
and WooCommerce payloads, bad bodies, the WooCommerce ping, duplicates (R3), unknown SKUs
and shipping lines, drop ship, backorders, cancellation, and a broker that is down."""

import json
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError

from inventory.models import Backorder, Reservation
from orders.models import Customer, Order, OrderEvent, OrderLine, WebhookDelivery
from orders.services import intake
from orders.services.build import order_line_match
from orders.services.intake import delivery_build, delivery_build_sweep
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import (
    build_all,
    dumps,
    later,
    load_fixture,
    post,
    shopify_headers,
    shopify_order,
    woo_headers,
    woo_order,
)

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


def deliver(client, kind, slug, body, headers, broker, capture, content_type="application/json"):
    """POST one delivery, let its transaction commit, and build what the broker got."""
    before = len(broker)
    with capture(execute=True):
        response = post(client, kind, slug, body, headers, content_type=content_type)
    build_all(broker[before:])
    return response


def reservations_of(order: Order):
    return Reservation.objects.filter(
        source_type=ContentType.objects.get_for_model(Order), source_id=order.pk
    )


# The stored payloads ------------------------------------------------------------------------


def test_stored_shopify_orders_create_becomes_the_right_order(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = load_fixture("shopify_orders_create.json")
    response = deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body, webhook_id="wh-1042"),
        broker,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    order = Order.objects.get()
    assert (order.channel, order.external_id, order.number) == (
        shopify_channel,
        "5873214698521",
        "#1042",
    )
    assert order.email == "maya.ortiz@example.com"
    assert order.customer.email == "maya.ortiz@example.com"
    assert (order.customer.first_name, order.customer.last_name) == ("Maya", "Ortiz")
    assert (order.subtotal, order.discount_total, order.shipping_total) == (
        Decimal("85.00"),
        Decimal("8.50"),
        Decimal("13.00"),
    )
    assert (order.tax_total, order.total, order.currency) == (
        Decimal("6.12"),
        Decimal("95.62"),
        "USD",
    )
    assert order.billing_address["address1"] == "418 Larkspur Avenue"
    assert order.billing_address["country"] == "US"
    assert order.billing_address["region"] == "NY"
    assert order.shipping_address["postcode"] == "11215"
    assert order.payment_status == Order.PaymentStatus.PAID
    assert (order.avs_result, order.cvv_result) == ("Y", "M")
    assert order.card_fingerprint == "visa:424242:4242"
    assert order.client_ip == "203.0.113.42"
    assert order.fulfillment_method == Order.Method.SHIP
    assert order.shipping_line["code"] == "Standard"
    lines = list(order.lines.order_by("sku"))
    assert [(x.sku, x.quantity, x.unit_price, x.discount, x.tax) for x in lines] == [
        ("CANDLE-CEDAR", 1, Decimal("37.00"), Decimal("3.70"), Decimal("2.66")),
        ("MUG-OCEAN", 2, Decimal("24.00"), Decimal("4.80"), Decimal("3.46")),
    ]
    assert all(line.variant == stocked[line.sku] for line in lines)
    assert sorted((r.variant.sku, r.quantity) for r in reservations_of(order)) == [
        ("CANDLE-CEDAR", 1),
        ("MUG-OCEAN", 2),
    ]
    types = list(order.events.values_list("type", flat=True))
    assert types[:2] == [OrderEvent.Type.RECEIVED, OrderEvent.Type.STOCK_RESERVED]
    # The fraud check routed it on.
    assert order.status == Order.Status.AWAITING_REVIEW
    assert order.review_reasons == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.order, delivery.signature_ok) == (
        Outcome.BUILT,
        order,
        True,
    )
    assert bytes(delivery.body) == body
    assert delivery.headers["X-Shopify-Topic"] == "orders/create"


def test_stored_woocommerce_order_becomes_the_right_order(
    client, woo_channel, stocked, pickup_store, broker, django_capture_on_commit_callbacks
):
    body = load_fixture("woocommerce_order_created.json")
    response = deliver(
        client,
        "woocommerce",
        "woo",
        body,
        woo_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 202
    order = Order.objects.get()
    assert (order.external_id, order.number, order.email) == (
        "7315",
        "7315",
        "tomas.brennan@example.org",
    )
    assert (order.subtotal, order.shipping_total, order.tax_total, order.total) == (
        Decimal("40.00"),
        Decimal("0.00"),
        Decimal("3.20"),
        Decimal("43.20"),
    )
    assert order.fulfillment_method == Order.Method.STORE_PICKUP
    assert order.pickup_location == pickup_store
    assert order.billing_address["city"] == "Portland"
    assert order.billing_address["region"] == "OR"
    assert order.billing_address["first_name"] == "Tomás"
    assert order.payment_status == Order.PaymentStatus.PAID
    assert order.client_ip == "198.51.100.23"
    assert (order.avs_result, order.cvv_result, order.card_fingerprint) == (
        "Y",
        "M",
        "mastercard:4444",
    )
    assert order.source_updated_at.isoformat() == "2026-03-04T19:02:33+00:00"
    lines = list(order.lines.order_by("sku"))
    assert [(x.sku, x.quantity, x.unit_price, x.tax) for x in lines] == [
        ("CARDS-SET6", 1, Decimal("10.00"), Decimal("0.80")),
        ("TOWEL-SAGE", 3, Decimal("10.00"), Decimal("2.40")),
    ]
    assert reservations_of(order).count() == 2
    assert order.status == Order.Status.AWAITING_REVIEW


def test_money_is_exact_however_the_json_writes_it(
    client, generic_channel, stocked, broker, django_capture_on_commit_callbacks
):
    # 0.1 + 0.2 is not 0.3 in floating point; read as Decimal it is.
    body = (
        b'{"id": "F-1", "created_at": "2026-03-02T10:00:00Z", "currency": "USD",'
        b' "lines": [{"sku": "MUG-OCEAN", "quantity": 3, "unit_price": 0.1}],'
        b' "subtotal": 0.3, "shipping_total": 0.2, "total": 0.50,'
        b' "shipping": {"method": "standard"}}'
    )
    from tests.orders.intake_support import generic_headers

    deliver(
        client,
        "generic",
        "partner",
        body,
        generic_headers(body, key="k-1"),
        broker,
        django_capture_on_commit_callbacks,
    )
    order = Order.objects.get()
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("0.30"),
        Decimal("0.20"),
        Decimal("0.50"),
    )
    assert order.lines.get().unit_price == Decimal("0.10")


# Bodies that are not orders -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (b'{"email": "a@example.com"}', "Missing field id"),
        (dumps({**shopify_order(1), "line_items": []}), "no line_items"),
        (dumps({**shopify_order(1), "total_price": "-5.00"}), "total_price is negative"),
        (dumps({**shopify_order(1), "currency": "dollars"}), "currency"),
        (dumps({**shopify_order(1), "created_at": "yesterday"}), "created_at"),
        ('{"id": 1}'.encode("utf-16"), "not UTF-8"),
    ],
)
def test_a_body_that_is_not_an_order_is_a_400_with_the_reason(
    client, shopify_channel, broker, django_capture_on_commit_callbacks, body, reason
):
    response = deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 400
    assert reason in response.json()["error"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.signature_ok) == (Outcome.REJECTED, True)
    assert reason in delivery.error
    assert broker == []
    assert not Order.objects.exists()


def test_woocommerce_ping_is_answered_200_and_ignored(
    client, woo_channel, broker, django_capture_on_commit_callbacks
):
    response = deliver(
        client,
        "woocommerce",
        "woo",
        b"webhook_id=12",
        {},
        broker,
        django_capture_on_commit_callbacks,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.topic) == (Outcome.IGNORED, "ping")
    assert broker == []
    assert not Order.objects.exists()


def test_a_topic_opsdesk_does_not_build_from_is_acknowledged_and_ignored(
    client, shopify_channel, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(7))
    response = deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body, topic="orders/paid"),
        broker,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 200
    assert WebhookDelivery.objects.get().outcome == Outcome.IGNORED
    assert not Order.objects.exists()


def test_an_unknown_channel_is_a_404(client, db):
    body = dumps(shopify_order(7))
    response = post(client, "shopify", "nope", body, shopify_headers(body))
    assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_get_is_not_allowed(client, shopify_channel):
    assert client.get("/webhooks/shopify/web/").status_code == 405


def test_webhooks_skip_the_browser_middleware_and_keep_the_security_headers(
    client, shopify_channel, broker
):
    body = dumps(shopify_order(8))
    response = post(client, "shopify", "web", body, shopify_headers(body))
    page = client.get("/accounts/login/")

    assert response.status_code == 202
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert "Content-Security-Policy" in page and "X-Frame-Options" in page
    assert "Content-Security-Policy" not in response and "X-Frame-Options" not in response
    assert not response.cookies
    assert WebhookDelivery.objects.get().outcome == Outcome.ACCEPTED


def test_a_path_under_webhooks_that_is_no_endpoint_is_a_404(client, db):
    assert (
        client.post("/webhooks/shopify/", data=b"{}", content_type="application/json").status_code
        == 404
    )
    assert (
        client.post(
            "/webhooks/paypal/web/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )


def test_a_webhook_while_the_database_is_unreachable_is_a_503_the_store_retries(
    client, shopify_channel, monkeypatch
):
    def unreachable(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(intake, "delivery_receive", unreachable)
    body = dumps(shopify_order(9))
    response = post(client, "shopify", "web", body, shopify_headers(body))

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "The database is unavailable" in response.content.decode()


# Duplicates (R3) ----------------------------------------------------------------------------


def test_a_shopify_retry_with_the_same_webhook_id_is_recorded_once(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(101))
    headers = shopify_headers(body, webhook_id="wh-101")
    first = deliver(
        client, "shopify", "web", body, headers, broker, django_capture_on_commit_callbacks
    )
    second = deliver(
        client, "shopify", "web", body, headers, broker, django_capture_on_commit_callbacks
    )

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert Order.objects.count() == 1
    assert sorted(WebhookDelivery.objects.values_list("outcome", flat=True)) == [
        Outcome.BUILT,
        Outcome.DUPLICATE,
    ]
    assert OrderEvent.objects.filter(type=OrderEvent.Type.RECEIVED).count() == 1
    assert Reservation.objects.count() == 1


def test_one_shopify_event_through_two_subscriptions_is_recorded_once(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(102))
    for webhook_id in ("wh-a", "wh-b"):
        deliver(
            client,
            "shopify",
            "web",
            body,
            shopify_headers(body, webhook_id=webhook_id, event_id="ev-102"),
            broker,
            django_capture_on_commit_callbacks,
        )

    assert Order.objects.count() == 1
    assert WebhookDelivery.objects.filter(outcome=Outcome.DUPLICATE).count() == 1


def test_the_same_shopify_order_under_new_webhook_ids_builds_one_order(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(103))
    for webhook_id in ("wh-x", "wh-y"):
        deliver(
            client,
            "shopify",
            "web",
            body,
            shopify_headers(body, webhook_id=webhook_id),
            broker,
            django_capture_on_commit_callbacks,
        )

    assert Order.objects.count() == 1
    outcomes = sorted(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == [Outcome.BUILT, Outcome.DUPLICATE]
    assert Reservation.objects.count() == 1


def test_woocommerce_updates_sharing_a_delivery_id_are_both_applied_and_a_repeat_once(
    client, woo_channel, stocked, broker, django_capture_on_commit_callbacks
):
    send = lambda body, topic: deliver(  # noqa: E731
        client,
        "woocommerce",
        "woo",
        body,
        woo_headers(body, topic=topic, delivery_id="same-delivery-id"),
        broker,
        django_capture_on_commit_callbacks,
    )
    created = dumps(woo_order(501, status="pending"))
    first_update = dumps(woo_order(501, modified=later(5), status="processing"))
    second_update = dumps(woo_order(501, modified=later(9), status="completed", note="x"))

    assert send(created, "order.created").status_code == 202
    assert send(first_update, "order.updated").status_code == 202
    order = Order.objects.get()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert send(second_update, "order.updated").status_code == 202
    repeat = send(second_update, "order.updated")

    assert repeat.status_code == 200
    assert repeat.json()["status"] == "duplicate"
    order.refresh_from_db()
    assert order.source_updated_at == later(9)
    assert order.events.filter(type=OrderEvent.Type.UPDATED).count() == 2
    outcomes = list(WebhookDelivery.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [Outcome.BUILT, Outcome.BUILT, Outcome.BUILT, Outcome.DUPLICATE]


# What the order needs a person for ----------------------------------------------------------


def test_an_unknown_sku_keeps_the_line_and_sends_the_order_to_review(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(201, lines=[("MUG-OCEAN", 1, "24.00"), ("NOPE-9", 2, "5.00")]))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    order = Order.objects.get()
    unknown = order.lines.get(sku="NOPE-9")
    assert (unknown.variant, unknown.title, unknown.quantity) == (None, "Item NOPE-9", 2)
    assert order.status == Order.Status.AWAITING_REVIEW
    assert any("Unknown SKU 'NOPE-9'" in reason for reason in order.review_reasons)
    assert reservations_of(order).count() == 1  # the known line is held

    matched = order_line_match(line_id=unknown.pk, variant_id=stocked["CARDS-SET6"].pk, actor=None)

    order.refresh_from_db()
    assert matched.variant == stocked["CARDS-SET6"]
    assert matched.sku == "NOPE-9"  # as the store sent it
    assert order.review_reasons == []
    assert reservations_of(order).count() == 2
    assert order.events.filter(type=OrderEvent.Type.LINE_MATCHED).exists()


def test_an_unmapped_shipping_line_is_unknown_with_the_reason_named(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(202, shipping_code="Express Overnight"))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    order = Order.objects.get()
    assert order.fulfillment_method == Order.Method.UNKNOWN
    assert any("Express Overnight" in reason for reason in order.review_reasons)
    assert order.status == Order.Status.AWAITING_REVIEW


def test_a_drop_ship_item_is_marked_and_not_reserved_from_our_stock(
    client, shopify_channel, drop_ship_variant, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(203, lines=[("DROP-LAMP", 1, "80.00")]))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    order = Order.objects.get()
    assert order.lines.get().drop_ship is True
    assert order.fulfillment_method == Order.Method.DROP_SHIP
    assert not Reservation.objects.exists()


def test_what_cannot_be_reserved_goes_to_the_out_of_stock_queue(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(204, lines=[("MUG-OCEAN", 5000, "24.00")]))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    order = Order.objects.get()
    backorder = Backorder.objects.get()
    assert (backorder.variant.sku, backorder.quantity, backorder.reference) == (
        "MUG-OCEAN",
        5000,
        order.number,
    )
    event = order.events.get(type=OrderEvent.Type.BACKORDERED)
    assert event.data["lines"] == [{"sku": "MUG-OCEAN", "quantity": 5000}]
    assert not Reservation.objects.exists()


def test_orders_cancelled_cancels_the_order_and_gives_its_stock_back(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    created = dumps(shopify_order(205))
    deliver(
        client,
        "shopify",
        "web",
        created,
        shopify_headers(created),
        broker,
        django_capture_on_commit_callbacks,
    )
    cancelled = dumps(
        shopify_order(205, updated_at=later(3), cancelled=True, financial_status="refunded")
    )
    deliver(
        client,
        "shopify",
        "web",
        cancelled,
        shopify_headers(cancelled, topic="orders/cancelled"),
        broker,
        django_capture_on_commit_callbacks,
    )

    order = Order.objects.get()
    assert order.status == Order.Status.CANCELLED
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert reservations_of(order).get().status == Reservation.Status.RELEASED


def test_customers_are_matched_by_email_whatever_its_case(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    for order_id, email in ((301, "Sam@Example.com"), (302, "sam@example.COM")):
        body = dumps(shopify_order(order_id, email=email))
        deliver(
            client,
            "shopify",
            "web",
            body,
            shopify_headers(body),
            broker,
            django_capture_on_commit_callbacks,
        )

    customer = Customer.objects.get()
    assert customer.email == "sam@example.com"
    assert customer.orders.count() == 2


# The broker, the task and the sweep --------------------------------------------------------


def test_with_the_broker_down_the_delivery_waits_and_the_sweep_builds_it(
    client, shopify_channel, stocked, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError as BrokerDown

    from orders.tasks import deliveries_build_task

    def refuse(*args, **kwargs):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(deliveries_build_task, "delay", refuse)
    body = dumps(shopify_order(401))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "shopify", "web", body, shopify_headers(body))

    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == Outcome.ACCEPTED
    assert not Order.objects.exists()

    done = delivery_build_sweep(now=delivery.received_at + intake_delay())

    delivery.refresh_from_db()
    assert done["built"] == 1
    assert delivery.outcome == Outcome.BUILT
    assert Order.objects.count() == 1


def intake_delay():
    from datetime import timedelta

    return timedelta(seconds=intake.SWEEP_AFTER_SECONDS + 1)


def test_the_build_is_safe_to_run_twice(
    client, shopify_channel, stocked, broker, django_capture_on_commit_callbacks
):
    body = dumps(shopify_order(402))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )

    again = delivery_build(delivery_id=broker[0])

    assert again is None
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1
    assert Reservation.objects.count() == 1


def test_a_failing_build_is_kept_as_failed_and_can_be_replayed(
    client, shopify_channel, stocked, broker, monkeypatch, django_capture_on_commit_callbacks
):
    from orders.services import build as build_module

    real = build_module._order_create

    def broken(**kwargs):
        raise RuntimeError("bug in the build")

    monkeypatch.setattr(build_module, "_order_create", broken)
    body = dumps(shopify_order(403))
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == Outcome.FAILED
    assert "bug in the build" in delivery.error

    monkeypatch.setattr(build_module, "_order_create", real)
    replayed = intake.delivery_replay(delivery_id=delivery.pk, actor=None)

    assert replayed.outcome == Outcome.BUILT
    assert Order.objects.count() == 1


def test_the_webhook_body_is_stored_exactly_as_received(
    client, shopify_channel, broker, django_capture_on_commit_callbacks
):
    body = json.dumps(shopify_order(404), indent=3, ensure_ascii=False).encode() + b"\n\n"
    deliver(
        client,
        "shopify",
        "web",
        body,
        shopify_headers(body),
        broker,
        django_capture_on_commit_callbacks,
    )
    assert bytes(WebhookDelivery.objects.get().body) == body
