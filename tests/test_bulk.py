"""Writing many rows at once (opsdesk/core/bulk.py): what lands in the table is what the
instances or rows say, by COPY and by a VALUES list alike."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from opsdesk.core import bulk
from orders.models import Channel, Order, OrderEvent, WebhookDelivery
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_objects_insert_writes_each_instance_as_it_is(django_assert_num_queries):
    order = OrderFactory()
    actor = User.objects.create_user("reviewer")
    when = timezone.now() - timedelta(hours=2)
    events = [
        OrderEvent(order=order, type=OrderEvent.Type.COMMENTED, actor=actor, data={"text": "a\tb"}),
        OrderEvent(
            order=order,
            type=OrderEvent.Type.HELD,
            from_status=Order.Status.AWAITING_REVIEW,
            to_status=Order.Status.ON_HOLD,
            data={"reason": "Line one\nline two \\ done", "score": 71},
            created_at=when,
        ),
    ]
    bulk.objects_insert(events)

    comment, held = OrderEvent.objects.filter(order=order).order_by("id")
    assert (comment.type, comment.actor, comment.data) == ("commented", actor, {"text": "a\tb"})
    assert comment.created_at == events[0].created_at
    assert (held.type, held.actor, held.from_status, held.to_status) == (
        "held",
        None,
        "awaiting_review",
        "on_hold",
    )
    assert held.data == {"reason": "Line one\nline two \\ done", "score": 71}
    assert held.created_at == when
    with django_assert_num_queries(0):
        bulk.objects_insert([])


@pytest.mark.parametrize("values_rows", [1000, 0], ids=["values-list", "copy"])
def test_update_many_sets_each_row_its_values_and_every_row_the_same(monkeypatch, values_rows):
    monkeypatch.setattr(bulk, "VALUES_ROWS", values_rows)
    first, second, untouched = OrderFactory.create_batch(3, risk_score=0, risk_level="")
    now = timezone.now()

    bulk.update_many(
        Order,
        ["risk_score", "risk_level"],
        [(first.pk, 15, "low"), (second.pk, 90, "high")],
        same={"updated_at": now},
    )

    rows = {o.pk: o for o in Order.objects.all()}
    assert (rows[first.pk].risk_score, rows[first.pk].risk_level) == (15, "low")
    assert (rows[second.pk].risk_score, rows[second.pk].risk_level) == (90, "high")
    assert rows[first.pk].updated_at == rows[second.pk].updated_at == now
    assert (rows[untouched.pk].risk_score, rows[untouched.pk].risk_level) == (0, "")
    assert rows[untouched.pk].updated_at != now


def test_insert_one_writes_the_instance_and_gives_it_its_id(django_assert_num_queries):
    channel = Channel.objects.create(name="web", slug="web", kind="shopify", secret="s" * 32)
    delivery = WebhookDelivery(
        channel=channel,
        headers={"X-Shopify-Topic": "orders/create"},
        body=b'{"id": 1}\n',
        body_sha256="a" * 64,
        dedup_key="shopify:order:1",
        outcome=WebhookDelivery.Outcome.ACCEPTED,
    )
    with django_assert_num_queries(1):
        assert bulk.insert_one(delivery) is delivery

    stored = WebhookDelivery.objects.get()
    assert delivery.pk == stored.pk and not delivery._state.adding
    assert stored.headers == {"X-Shopify-Topic": "orders/create"}
    assert bytes(stored.body) == b'{"id": 1}\n'
    assert (stored.dedup_key, stored.outcome, stored.attempts) == ("shopify:order:1", "accepted", 0)
    assert stored.received_at == delivery.received_at  # the field's default, as save() gives it
    assert stored.order is None and stored.processed_at is None


def test_insert_one_is_refused_by_a_unique_constraint_as_save_would_be():
    channel = Channel.objects.create(name="web", slug="web", kind="shopify", secret="s" * 32)

    def delivery():
        return WebhookDelivery(
            channel=channel, body=b"{}", body_sha256="a" * 64, dedup_key="k", outcome="accepted"
        )

    first = bulk.insert_one(delivery())
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_one(delivery())
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [first.pk]
