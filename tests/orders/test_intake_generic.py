"""The generic JSON format and R6: one Idempotency-Key sent 20 times at once has one effect and
one answer; the same key with another body is refused (422); keys are kept 24 hours."""

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders.formats import generic, parse_json
from orders.models import Order, WebhookDelivery
from orders.services.intake import delivery_receive, idempotency_keys_expire
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import (
    build_all,
    dumps,
    generic_headers,
    generic_order,
    later,
    post,
)

Outcome = WebhookDelivery.Outcome


@pytest.mark.django_db(transaction=True)
def test_one_key_sent_twenty_times_at_once_has_one_effect_and_one_answer(
    generic_channel, stocked, broker
):
    body = dumps(generic_order("G-20"))
    headers = generic_headers(body, key="order-G-20-v1")
    barrier = threading.Barrier(20)
    answers = []
    lock = threading.Lock()

    def sender():
        try:
            barrier.wait(30)
            response = Client().post(
                f"/webhooks/generic/{generic_channel.slug}/",
                data=body,
                content_type="application/json",
                headers=headers,
            )
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    build_all(broker)

    assert len(answers) == 20
    assert len({(status, tuple(sorted(body.items()))) for status, body in answers}) == 1
    status, answer = answers[0]
    assert status == 202
    assert answer["status"] == "accepted"
    assert len(broker) == 1
    assert Order.objects.count() == 1
    assert Counter(WebhookDelivery.objects.values_list("outcome", flat=True)) == {
        Outcome.BUILT: 1,
        Outcome.DUPLICATE: 19,
    }
    assert answer["delivery"] == WebhookDelivery.objects.get(outcome=Outcome.BUILT).pk


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_with_422(client, generic_channel, broker):
    first = dumps(generic_order("G-1"))
    other = dumps(generic_order("G-1", updated_at=later(5)))

    ok = post(client, "generic", "partner", first, generic_headers(first, key="k-1"))
    refused = post(client, "generic", "partner", other, generic_headers(other, key="k-1"))
    again = post(client, "generic", "partner", first, generic_headers(first, key="k-1"))

    assert ok.status_code == 202
    assert refused.status_code == 422
    assert "different body" in refused.json()["error"]
    assert (again.status_code, again.json()) == (202, ok.json())
    assert WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).count() == 1


@pytest.mark.django_db
def test_a_key_is_kept_24_hours_then_free_again(generic_channel, broker):
    body = dumps(generic_order("G-2"))
    headers = generic_headers(body, key="k-2")
    now = timezone.now()
    send = lambda at: delivery_receive(  # noqa: E731
        kind="generic", channel_slug="partner", headers=headers, body=body, now=at
    )

    first = send(now)
    WebhookDelivery.objects.filter(pk=first.delivery_id).update(received_at=now)
    within = send(now + timedelta(hours=23, minutes=59))
    after = send(now + timedelta(hours=24, seconds=1))

    assert first.status == within.status == 202
    assert within.body == first.body
    assert after.status == 202
    assert after.body["delivery"] != first.body["delivery"]
    assert WebhookDelivery.objects.filter(outcome=Outcome.ACCEPTED).count() == 2
    # The first row stays in the log, without its key.
    assert WebhookDelivery.objects.get(pk=first.delivery_id).dedup_key == ""


@pytest.mark.django_db
def test_expired_keys_are_freed_by_the_sweep_job(generic_channel, broker):
    body = dumps(generic_order("G-3"))
    answer = delivery_receive(
        kind="generic",
        channel_slug="partner",
        headers=generic_headers(body, key="k-3"),
        body=body,
    )
    WebhookDelivery.objects.filter(pk=answer.delivery_id).update(
        received_at=timezone.now() - timedelta(hours=25)
    )

    assert idempotency_keys_expire() == 1
    assert WebhookDelivery.objects.get(pk=answer.delivery_id).dedup_key == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "Idempotency-Key"), ({"Idempotency-Key": "x" * 201}, "longer than 200")],
)
def test_a_missing_or_overlong_key_is_a_400(client, generic_channel, headers, reason):
    body = dumps(generic_order("G-4"))
    signed = generic_headers(body, key="unused")
    signed.pop("Idempotency-Key")
    response = post(client, "generic", "partner", body, {**signed, **headers})
    assert response.status_code == 400
    assert reason in response.json()["error"]


@pytest.mark.django_db
def test_a_refused_body_does_not_use_up_its_key(client, generic_channel, broker):
    bad = b'{"id": "G-5"}'
    good = dumps(generic_order("G-5"))

    assert post(client, "generic", "partner", bad, generic_headers(bad, key="k-5")).status_code == (
        400
    )
    assert (
        post(client, "generic", "partner", good, generic_headers(good, key="k-5")).status_code
        == 202
    )


def test_the_documented_example_parses():
    """The example in the README, where senders read the format, is a valid order."""
    doc = (Path(settings.BASE_DIR) / "README.md").read_text()
    doc = doc[doc.index("### The body") :]
    start = doc.index("    {\n")
    end = doc.index("\n    }\n", start) + len("\n    }\n")
    incoming = generic.parse(parse_json(doc[start:end].encode()))

    assert incoming.external_id == "A-1001"
    assert incoming.total == (
        incoming.subtotal - incoming.discount_total + incoming.shipping_total + incoming.tax_total
    )
    assert incoming.lines[0].sku == "MUG-BLUE"
    assert incoming.shipping_keys == ["flat_rate"]
    assert incoming.payment_status == "paid"
    assert incoming.client_ip == "203.0.113.7"
    assert incoming.shipping_address["postcode"] == "62701"
