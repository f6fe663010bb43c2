"""R1: the signature matrix for Shopify and WooCommerce. Only a valid signature (or the
previous secret inside its grace period) gets a 2xx; every other case is a 401 that creates
no order, reservation or notification, and is stored as REJECTED, never built.

Also the channel each web process keeps for a few seconds, and the accepted row's insert."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Reservation
from opsdesk.notifications.models import Notification
from orders import signatures
from orders.models import Channel, Order, WebhookDelivery
from orders.services import intake
from orders.services.intake import channel_secret_rotate, delivery_build
from orders.signatures import signature_compute, signature_valid
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import (
    SHOPIFY_SECRET,
    WOO_SECRET,
    build_all,
    dumps,
    post,
    shopify_headers,
    shopify_order,
    woo_order,
)

pytestmark = pytest.mark.django_db

KINDS = {
    "shopify": ("web", "X-Shopify-Hmac-Sha256", SHOPIFY_SECRET),
    "woocommerce": ("woo", "X-WC-Webhook-Signature", WOO_SECRET),
}


def _body(kind: str) -> bytes:
    # Written with spaces and key order a re-serializer would not reproduce.
    data = shopify_order(9001) if kind == "shopify" else woo_order(9001)
    return json.dumps(data, indent=2, sort_keys=False).encode()


def _headers(kind: str, signature: str | None) -> dict[str, str]:
    if kind == "shopify":
        headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "wh-9001"}
    else:
        headers = {
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Source": "https://shop.example.org/",
            "X-WC-Webhook-Delivery-ID": "d-9001",
        }
    if signature is not None:
        headers[KINDS[kind][1]] = signature
    return headers


def _reserialized(body: bytes) -> bytes:
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def _case(kind: str, case: str, body: bytes) -> tuple[bytes, str | None]:
    """(the bytes sent, the signature header) for one case of the matrix."""
    secret = KINDS[kind][2]
    good = signature_compute(secret=secret, body=body)
    if case in ("valid", "previous_in_grace", "previous_after_grace"):
        return body, good
    if case == "wrong_secret":
        return body, signature_compute(secret="not-the-secret-at-all", body=body)
    if case == "missing_header":
        return body, None
    if case == "empty_header":
        return body, ""
    if case == "one_byte_changed":
        changed = bytearray(body)
        position = body.index(b"USD")
        changed[position] = ord("E")  # "ESD": still valid JSON, one byte different
        return bytes(changed), good
    if case == "reserialized_body":
        # Signed over the bytes the store sent, delivered re-serialized (what a proxy or a
        # framework that re-encodes JSON would do): the signature must not verify.
        return _reserialized(body), good
    if case == "signed_reserialized":
        # The converse: signed over a re-serialization, raw bytes sent.
        return body, signature_compute(secret=secret, body=_reserialized(body))
    if case == "hex_digest":
        return body, hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if case == "not_ascii":
        return body, "sïgnature"
    raise AssertionError(case)


ACCEPTED = ("valid", "previous_in_grace")
REFUSED = (
    "wrong_secret",
    "missing_header",
    "empty_header",
    "one_byte_changed",
    "reserialized_body",
    "signed_reserialized",
    "hex_digest",
    "not_ascii",
    "previous_after_grace",
)


@pytest.fixture
def channels(shopify_channel, woo_channel, stocked) -> dict[str, Channel]:
    return {"shopify": shopify_channel, "woocommerce": woo_channel}


def _rotate_for(case: str, channel: Channel) -> None:
    """For the previous-secret cases: rotate, so the body's secret becomes the previous one."""
    if case == "previous_in_grace":
        channel_secret_rotate(channel_id=channel.pk, actor=None, grace_hours=1)
    elif case == "previous_after_grace":
        channel_secret_rotate(channel_id=channel.pk, actor=None, grace_hours=0)
        Channel.objects.filter(pk=channel.pk).update(
            previous_secret_valid_until=timezone.now() - timedelta(seconds=1)
        )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("case", ACCEPTED + REFUSED)
def test_signature_matrix(client, channels, broker, django_capture_on_commit_callbacks, kind, case):
    slug = KINDS[kind][0]
    _rotate_for(case, channels[kind])
    sent, signature = _case(kind, case, _body(kind))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, kind, slug, sent, _headers(kind, signature))
    build_all(broker)

    delivery = WebhookDelivery.objects.get()
    if case in ACCEPTED:
        assert response.status_code == 202, response.content
        assert delivery.signature_ok is True
        assert Order.objects.count() == 1
        return
    assert response.status_code == 401, response.content
    assert "error" in response.json()
    assert (delivery.outcome, delivery.signature_ok) == (WebhookDelivery.Outcome.REJECTED, False)
    assert bytes(delivery.body) == sent
    assert broker == []
    # Even asked directly, a rejected delivery is never built.
    assert delivery_build(delivery_id=delivery.pk) is None
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert not Notification.objects.exists()


def test_the_compare_is_constant_time(monkeypatch, shopify_channel):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    body = dumps(shopify_order(1))
    good = signature_compute(secret=SHOPIFY_SECRET, body=body)

    assert signature_valid(channel=shopify_channel, body=body, header_value=good)
    assert not signature_valid(channel=shopify_channel, body=body, header_value="x" + good[1:])
    assert len(calls) == 2


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body():
    digest = hmac.new(b"key", b"The quick brown fox", hashlib.sha256).digest()
    assert (
        signature_compute(secret="key", body=b"The quick brown fox")
        == base64.b64encode(digest).decode()
    )


def test_the_previous_secret_stops_at_the_end_of_its_grace_period(shopify_channel):
    body = dumps(shopify_order(2))
    old = signature_compute(secret=SHOPIFY_SECRET, body=body)
    channel = channel_secret_rotate(channel_id=shopify_channel.pk, actor=None, grace_hours=24)
    until = channel.previous_secret_valid_until
    new = signature_compute(secret=channel.secret, body=body)

    assert signature_valid(channel=channel, body=body, header_value=new)
    assert signature_valid(
        channel=channel, body=body, header_value=old, now=until - timedelta(seconds=1)
    )
    assert not signature_valid(channel=channel, body=body, header_value=old, now=until)


def test_a_channel_without_a_secret_accepts_nothing(shopify_channel):
    Channel.objects.filter(pk=shopify_channel.pk).update(secret="")
    shopify_channel.refresh_from_db()
    body = dumps(shopify_order(3))
    assert not signature_valid(
        channel=shopify_channel,
        body=body,
        header_value=signature_compute(secret="", body=body),
    )


# The channel each web process keeps --------------------------------------------------------


def _channel_reads(ctx) -> int:
    return sum('FROM "orders_channel"' in q["sql"] for q in ctx.captured_queries)


def _deliver_one(client, n: int, *, secret: str = SHOPIFY_SECRET):
    body = dumps(shopify_order(9000 + n))
    return post(client, "shopify", "web", body, shopify_headers(body, secret=secret))


def test_a_kept_channel_is_not_read_again_and_a_saved_one_is(client, shopify_channel, broker):
    with CaptureQueriesContext(connection) as first:
        assert _deliver_one(client, 1).status_code == 202
    with CaptureQueriesContext(connection) as second:
        assert _deliver_one(client, 2).status_code == 202
    assert (_channel_reads(first), _channel_reads(second)) == (1, 0)
    shopify_channel.name = "Web shop"
    shopify_channel.save()
    with CaptureQueriesContext(connection) as after_save:
        assert _deliver_one(client, 3).status_code == 202
    assert _channel_reads(after_save) == 1


def test_a_secret_rotated_by_another_process_is_accepted_at_once(client, shopify_channel, broker):
    assert _deliver_one(client, 1).status_code == 202  # the channel is now kept
    # Another process rotates the secret: this one hears nothing of it.
    Channel.objects.filter(pk=shopify_channel.pk).update(secret="n" * 40)
    assert _deliver_one(client, 2, secret="n" * 40).status_code == 202
    refused = _deliver_one(client, 3, secret=SHOPIFY_SECRET)
    assert refused.status_code == 401


def test_a_channel_switched_off_elsewhere_stops_within_the_keep_time(
    client, shopify_channel, broker, monkeypatch
):
    assert _deliver_one(client, 1).status_code == 202
    Channel.objects.filter(pk=shopify_channel.pk).update(active=False)
    assert _deliver_one(client, 2).status_code == 202  # still kept here, for a few seconds
    clock = intake.time.monotonic() + intake.CHANNEL_KEEP_SECONDS + 1
    monkeypatch.setattr(intake.time, "monotonic", lambda: clock)
    assert _deliver_one(client, 3).status_code == 404


def test_an_unknown_channel_is_not_kept(client, db, broker):
    for n in range(3):
        body = dumps(shopify_order(n))
        assert post(client, "shopify", f"nope-{n}", body, shopify_headers(body)).status_code == 404
    assert intake._kept_channels == {}


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_delivery_is_one_insert(client, shopify_channel, broker):
    assert _deliver_one(client, 1).status_code == 202
    with CaptureQueriesContext(connection) as ctx:
        assert _deliver_one(client, 2).status_code == 202
    statements = [q["sql"].split()[0].upper() for q in ctx.captured_queries]
    assert statements == ["INSERT"], statements
    # Committed, and the build was asked for, at once.
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 2
    assert len(broker) == 2
    # The same key again: refused by the unique key, answered as a duplicate, recorded once.
    body = dumps(shopify_order(9002))
    again = post(client, "shopify", "web", body, shopify_headers(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(outcome="duplicate").count() == 1
