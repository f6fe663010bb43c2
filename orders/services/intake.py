"""Intake: webhook deliveries from the web stores, the channels they come through, and the
jobs that turn deliveries into orders.

Every delivery is stored first (WebhookDelivery: raw body, headers, signature result, dedup
key, outcome) and answered at once; a Celery task enqueued on commit builds the order from
the stored row. If the broker is down the row stays ACCEPTED and delivery_build_sweep builds
it. A bad signature is stored as REJECTED and never built; a body that is not an order is
REJECTED with the reason, and answered 400.

Duplicates are recognised by the unique (channel, dedup_key) of the log, so two copies that
arrive at the same moment cannot both be accepted: the second insert waits for the first to
commit and fails, and is answered as a duplicate (and recorded as one). Shopify's key is its
event id, else its webhook id; WooCommerce's is store, order id and modification time (its
delivery id changes per attempt); the generic format's is the Idempotency-Key (24 hours).
The order itself is unique per channel and store id, whatever the keys say.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis import Redis
from redis.exceptions import RedisError

from opsdesk.core.bulk import insert_one, update_many
from opsdesk.core.sweeps import sweep_claim, sweep_period
from orders.formats import (
    IncomingOrder,
    NotAnOrder,
    generic,
    parse_json,
    parser_for,
    shopify,
    woocommerce,
)
from orders.models import Channel, Order, ShippingMethodMapping, WebhookDelivery
from orders.services.build import (
    BuildOutcome,
    BuildResult,
    NewOrder,
    order_build,
    order_route_new,
    orders_create_many,
    orders_route_new_many,
    retry_on_conflict,
)
from orders.signatures import HEADERS, secret_generate, signature_valid

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Outcome = WebhookDelivery.Outcome
BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, RedisError, OSError)
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

IDEMPOTENCY_HOURS = 24
# A build that fails for a passing reason (the database restarting) is tried this many times
# in all, by the task and then the sweep; then the delivery is FAILED, for a person to replay.
MAX_ATTEMPTS = 5
# The sweep leaves younger rows to the on-commit task.
SWEEP_AFTER_SECONDS = 30
SWEEP_BATCH = 200
# Deliveries a build task claims at once (deliveries_build_batch), and how long one task
# goes on claiming batches before it hands over to a new one.
BUILD_BATCH = 100
BUILD_TIME_BUDGET_SECONDS = 20
SWEEP_TIME_BUDGET_SECONDS = 40
SWEEP_NAME = "orders.delivery_build_sweep"
# A new order not routed to review by then (its fraud check failed) is routed by the sweep.
ROUTE_AFTER_MINUTES = 5
# Headers not worth keeping, or not ours to keep.
DROPPED_HEADERS = ("cookie", "authorization", "proxy-authorization")
MAX_HEADER_CHARS = 1_000
MIN_SECRET_LENGTH = 16
BUILD_OUTCOMES = {
    BuildOutcome.CREATED: Outcome.BUILT,
    BuildOutcome.UPDATED: Outcome.BUILT,
    BuildOutcome.DUPLICATE: Outcome.DUPLICATE,
    BuildOutcome.OLDER: Outcome.IGNORED,
}
REPLAYABLE = (Outcome.FAILED, Outcome.ACCEPTED)


@dataclass(frozen=True)
class IntakeAnswer:
    """What the webhook endpoint answers: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]
    delivery_id: int | None = None


# Receiving -------------------------------------------------------------------------------


# Each web process keeps the channels deliveries came through for a few seconds, rather than
# read the same row for every delivery. A change made elsewhere (a rotated secret, a channel
# switched off) reaches every process within CHANNEL_KEEP_SECONDS; a change made in this
# process, at once (channels_forget, on save). A signature that fails on a kept row is
# checked again on a fresh one, so a store signing with a newly rotated secret is not
# refused. Only channels that exist are kept: unknown names cannot grow the dict.
CHANNEL_KEEP_SECONDS = 5.0
_kept_channels: dict[tuple[str, str], tuple[float, Channel]] = {}


def channel_for_delivery(*, slug: str, kind: str, fresh: bool = False) -> Channel | None:
    """The active channel of this name and kind, or None."""
    key = (slug, kind)
    now = time.monotonic()
    kept = _kept_channels.get(key)
    if kept is not None and not fresh and now - kept[0] < CHANNEL_KEEP_SECONDS:
        return kept[1]
    channel = Channel.objects.filter(slug=slug, kind=kind, active=True).first()
    if channel is None:
        _kept_channels.pop(key, None)
    else:
        _kept_channels[key] = (now, channel)
    return channel


def channels_forget() -> None:
    """Drop the kept channels of this process (a channel was saved or deleted)."""
    _kept_channels.clear()


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: str(value)[:MAX_HEADER_CHARS]
        for name, value in headers.items()
        if name.lower() not in DROPPED_HEADERS
    }


def _record(
    channel: Channel,
    *,
    outcome: str,
    headers: dict[str, str],
    body: bytes,
    digest: str,
    topic: str = "",
    signature_ok: bool = False,
    delivery_id: str = "",
    dedup_key: str = "",
    error: str = "",
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        channel=channel,
        topic=topic[:60],
        headers=headers,
        body=body,
        body_sha256=digest,
        signature_ok=signature_ok,
        delivery_id=delivery_id[:200],
        dedup_key=dedup_key[:255],
        outcome=outcome,
        error=error,
    )
    return insert_one(delivery)  # every delivery comes through here: compiled once


@dataclass
class _Envelope:
    """What the headers of one delivery say, per store."""

    topic: str
    delivery_id: str
    handled: bool
    dedup_key: str = ""
    idempotency_key: str = ""
    refusal: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _envelope(kind: str, headers: Mapping[str, str]) -> _Envelope:
    if kind == Channel.Kind.SHOPIFY:
        topic = headers.get("X-Shopify-Topic", "").strip()
        webhook_id = headers.get("X-Shopify-Webhook-Id", "").strip()
        return _Envelope(
            topic=topic,
            delivery_id=webhook_id,
            handled=topic in shopify.TOPICS,
            dedup_key=shopify.dedup_key(
                topic=topic,
                webhook_id=webhook_id,
                event_id=headers.get("X-Shopify-Event-Id", "").strip(),
            ),
        )
    if kind == Channel.Kind.WOOCOMMERCE:
        topic = headers.get("X-WC-Webhook-Topic", "").strip()
        return _Envelope(
            topic=topic,
            delivery_id=headers.get("X-WC-Webhook-Delivery-ID", "").strip(),
            handled=topic in woocommerce.TOPICS,
            extra={"source": headers.get("X-WC-Webhook-Source", "").strip()},
        )
    key = headers.get("Idempotency-Key", "").strip()
    refusal = ""
    if not key:
        refusal = "Send an Idempotency-Key header."
    elif len(key) > generic.MAX_KEY_LENGTH:
        refusal = f"The Idempotency-Key is longer than {generic.MAX_KEY_LENGTH} characters."
    return _Envelope(
        topic="order",
        delivery_id=key[: generic.MAX_KEY_LENGTH],
        handled=True,
        dedup_key=generic.dedup_key(idempotency_key=key) if not refusal else "",
        idempotency_key=key if not refusal else "",
        refusal=refusal,
    )


def delivery_receive(
    *,
    kind: str,
    channel_slug: str,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str = "",
    now: datetime | None = None,
) -> IntakeAnswer:
    """Verify, log and accept one webhook delivery; the order is built after commit.

    Always stores the delivery (except for an unknown channel) before answering. Answers:
    202 accepted; 200 duplicate, ping or a topic opsdesk does not handle; 400 not an order;
    401 bad signature; 404 unknown channel; 422 an Idempotency-Key reused with another body.
    """
    now = now or timezone.now()
    channel = channel_for_delivery(slug=channel_slug, kind=kind)
    if channel is None:
        return IntakeAnswer(404, {"error": "No active channel of this kind has that name."})
    digest = hashlib.sha256(body).hexdigest()
    kept = _kept_headers(headers)
    record = partial(_record, channel, headers=kept, body=body, digest=digest)

    if kind == Channel.Kind.WOOCOMMERCE and woocommerce.is_ping(body, content_type):
        delivery = record(outcome=Outcome.IGNORED, topic="ping", error="WooCommerce ping.")
        return IntakeAnswer(200, {"status": "ping received"}, delivery.pk)

    envelope = _envelope(kind, headers)
    header_name = HEADERS[kind]
    signature = headers.get(header_name)
    valid = signature_valid(channel=channel, body=body, header_value=signature, now=now)
    if not valid and signature:
        # Perhaps signed with a secret rotated since this process kept the channel.
        channel = channel_for_delivery(slug=channel_slug, kind=kind, fresh=True)
        if channel is None:
            return IntakeAnswer(404, {"error": "No active channel of this kind has that name."})
        record = partial(_record, channel, headers=kept, body=body, digest=digest)
        valid = signature_valid(channel=channel, body=body, header_value=signature, now=now)
    if not valid:
        why = f"Missing {header_name} header." if not signature else "Signature does not match."
        delivery = record(
            outcome=Outcome.REJECTED,
            topic=envelope.topic,
            delivery_id=envelope.delivery_id,
            error=why,
        )
        return IntakeAnswer(401, {"error": why}, delivery.pk)

    signed = partial(record, topic=envelope.topic, delivery_id=envelope.delivery_id)
    if not envelope.handled:
        delivery = signed(
            outcome=Outcome.IGNORED,
            signature_ok=True,
            error=f"Topic {envelope.topic or '(none)'!r} is not one opsdesk builds orders from.",
        )
        return IntakeAnswer(200, {"status": "ignored", "delivery": delivery.pk}, delivery.pk)
    if envelope.refusal:
        delivery = signed(outcome=Outcome.REJECTED, signature_ok=True, error=envelope.refusal)
        return IntakeAnswer(400, {"error": envelope.refusal}, delivery.pk)

    try:
        data = parse_json(body)
        parser_for(kind)(data, topic=envelope.topic)
    except NotAnOrder as exc:
        # Not remembered under its key: the sender may fix the body and send it again.
        delivery = signed(outcome=Outcome.REJECTED, signature_ok=True, error=str(exc))
        return IntakeAnswer(400, {"error": str(exc)}, delivery.pk)
    dedup_key = envelope.dedup_key
    if kind == Channel.Kind.WOOCOMMERCE:
        dedup_key = woocommerce.dedup_key(source=envelope.extra["source"], data=data)
    return _accept(channel, signed=signed, dedup_key=dedup_key, digest=digest, now=now)


def _accept(
    channel: Channel, *, signed: partial, dedup_key: str, digest: str, now: datetime
) -> IntakeAnswer:
    if dedup_key.startswith("idem:"):
        # Keys are kept 24 hours; an older row gives its key up and stays in the log.
        WebhookDelivery.objects.filter(
            channel=channel,
            dedup_key=dedup_key,
            received_at__lt=now - timedelta(hours=IDEMPOTENCY_HOURS),
        ).update(dedup_key="")
    try:
        delivery = _insert_once(
            partial(signed, outcome=Outcome.ACCEPTED, signature_ok=True, dedup_key=dedup_key)
        )
        transaction.on_commit(partial(_enqueue_one, delivery.pk))
    except IntegrityError:
        original = (
            WebhookDelivery.objects.filter(channel=channel, dedup_key=dedup_key)
            .only("pk", "body_sha256")
            .first()
        )
        if not dedup_key or original is None:
            raise
        if dedup_key.startswith("idem:"):
            if original.body_sha256 != digest:
                error = "This Idempotency-Key was already used with a different body."
                delivery = signed(outcome=Outcome.REJECTED, signature_ok=True, error=error)
                return IntakeAnswer(422, {"error": error}, delivery.pk)
            signed(
                outcome=Outcome.DUPLICATE,
                signature_ok=True,
                error=f"Same Idempotency-Key and body as delivery {original.pk}.",
            )
            return IntakeAnswer(202, {"status": "accepted", "delivery": original.pk}, original.pk)
        delivery = signed(
            outcome=Outcome.DUPLICATE,
            signature_ok=True,
            error=f"Duplicate of delivery {original.pk}.",
        )
        return IntakeAnswer(200, {"status": "duplicate", "delivery": original.pk}, delivery.pk)
    return IntakeAnswer(202, {"status": "accepted", "delivery": delivery.pk}, delivery.pk)


def _insert_once(insert: Callable[[], WebhookDelivery]) -> WebhookDelivery:
    """Run an insert that a unique key may refuse. In a web request it is one autocommitted
    statement (a transaction would add BEGIN and COMMIT, two round trips, to every delivery);
    inside a caller's transaction, a savepoint keeps a refusal from spoiling the caller's."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return insert()
    return insert()


def _enqueue_one(delivery_id: int) -> None:
    # Looked up at call time, so tests can replace deliveries_enqueue.
    deliveries_enqueue(delivery_ids=[delivery_id])


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Wake a build task for these deliveries, unless one is already on its way (it will find
    them); if the broker is unreachable, leave them to the intake sweep."""
    if delivery_ids:
        _builder_wake()


def _builder_wake() -> None:
    from orders.tasks import deliveries_build_task

    if not _build_due_mark():
        return
    try:
        deliveries_build_task.delay()
    except BROKER_ERRORS as exc:
        _build_due_clear()
        logger.warning("broker unreachable, deliveries left for the intake sweep: %s", exc)


# One build task on its way is enough, however many deliveries arrive meanwhile: the first
# delivery marks a build as due in Redis and enqueues the task; later ones see the mark and
# enqueue nothing. The task clears the mark before each batch it claims, so a delivery
# committed after that claim marks and enqueues again. Hence: while the mark is set, a task
# is on its way that has not claimed yet. The mark expires, in case its task is lost; the
# sweep builds whatever waits longer. Without Redis (the embedded default's file broker),
# every delivery enqueues a task.
BUILD_DUE_KEY = "opsdesk:orders:build-due"
BUILD_DUE_SECONDS = 60


@cache
def _redis() -> Redis | None:
    if not settings.REDIS_URL:
        return None
    return Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def _build_due_mark() -> bool:
    """Mark a build as due; False when one already was (its task will build these too)."""
    client = _redis()
    if client is None:
        return True
    try:
        return bool(client.set(BUILD_DUE_KEY, 1, nx=True, ex=BUILD_DUE_SECONDS))
    except RedisError:
        return True  # enqueue anyway; the broker will say whether it is there


def _build_due_clear() -> None:
    client = _redis()
    if client is None:
        return
    with suppress(RedisError):  # else the mark expires by itself
        client.delete(BUILD_DUE_KEY)


def deliveries_build_pending(*, budget_seconds: float = BUILD_TIME_BUDGET_SECONDS) -> int:
    """The build task: batch after batch until no delivery waits. After `budget_seconds` it
    hands over to a new task, so one run never holds a worker for long. Returns how many
    deliveries it claimed."""
    deadline = time.monotonic() + budget_seconds
    claimed = 0
    while True:
        _build_due_clear()
        batch = deliveries_build_batch()
        claimed += batch
        if not batch:
            return claimed
        if time.monotonic() >= deadline:
            _builder_wake()  # more may wait: hand over to the next task
            return claimed


# Building --------------------------------------------------------------------------------


def _incoming(delivery: WebhookDelivery) -> IncomingOrder:
    data = parse_json(bytes(delivery.body))
    return parser_for(delivery.channel.kind)(data, topic=delivery.topic)


def _build_once(
    delivery_id: int, actor: User | None
) -> tuple[WebhookDelivery | None, BuildResult | None]:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("channel")
            .filter(pk=delivery_id, outcome=Outcome.ACCEPTED, signature_ok=True)
            .first()
        )
        if delivery is None:
            return None, None  # done already, never to be built, or being built right now
        delivery.attempts += 1
        delivery.processed_at = timezone.now()
        fields = ["outcome", "error", "order", "attempts", "processed_at"]
        try:
            incoming = _incoming(delivery)
        except NotAnOrder as exc:
            delivery.outcome, delivery.error = Outcome.REJECTED, str(exc)
            delivery.save(update_fields=fields)
            return delivery, None
        result = order_build(
            channel=delivery.channel,
            incoming=incoming,
            source=Order.Source.WEBHOOK,
            actor=actor,
            via={"delivery": delivery.pk, "topic": delivery.topic},
        )
        delivery.outcome = BUILD_OUTCOMES[result.outcome]
        delivery.error = result.detail
        delivery.order = result.order
        delivery.save(update_fields=fields)
        return delivery, result


def _build_failed(delivery_id: int, exc: BaseException, *, transient: bool) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery_id, outcome=Outcome.ACCEPTED)
            .first()
        )
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.error = error
        delivery.processed_at = timezone.now()
        if not transient or delivery.attempts >= MAX_ATTEMPTS:
            delivery.outcome = Outcome.FAILED
        delivery.save(update_fields=["attempts", "error", "processed_at", "outcome"])


def delivery_build(*, delivery_id: int, actor: User | None = None) -> WebhookDelivery | None:
    """Build or update the order from one accepted delivery, then route a new order on.

    Safe to run twice and alongside the sweep: the delivery row is claimed with a lock
    (others skip it), and only an ACCEPTED one is built. Returns the delivery, or None
    when there was nothing to do.
    """
    try:
        delivery, result = retry_on_conflict(lambda: _build_once(delivery_id, actor))
    except TRANSIENT_DB_ERRORS as exc:
        logger.warning("delivery %s: build failed, will be tried again: %s", delivery_id, exc)
        _build_failed(delivery_id, exc, transient=True)
        return None
    except Exception as exc:
        # A bug or a row the services refuse: kept as FAILED with the error, for the
        # deliveries page, where a person can replay it once it is fixed.
        logger.exception("delivery %s: build failed", delivery_id)
        _build_failed(delivery_id, exc, transient=False)
        return WebhookDelivery.objects.filter(pk=delivery_id).first()
    if result is not None and result.to_route:
        order_route_new(order_id=result.order.pk)
    return delivery


def deliveries_build_batch(*, limit: int = BUILD_BATCH) -> int:
    """Build up to `limit` accepted deliveries, oldest first; the build task's loop.

    The new orders among them (a first version, not cancelled, not known yet) are built
    together in one transaction (orders_create_many) and then routed together
    (risk_assess_many), so a busy store costs a few queries per order rather than sixty.
    The rest (updates, cancellations, a second version of an order in the same batch, a body
    that no longer parses) are built one by one by delivery_build after that commits, so
    their rules live in one place. Rows another builder holds are skipped. Returns how many
    deliveries were claimed; 0 means none was waiting.
    """
    new, rest = [], []
    with transaction.atomic():
        deliveries = list(
            WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("channel")
            .filter(outcome=Outcome.ACCEPTED, signature_ok=True)
            .order_by("pk")[:limit]
        )
        if not deliveries:
            return 0
        new, rest = _first_versions(deliveries)
        if new:
            try:
                with transaction.atomic():
                    orders_create_many(new=[n for _, n in new])
                    _deliveries_built(new)
            except IntegrityError:
                # A parallel build made one of these orders first: one by one, below.
                logger.info("intake batch: an order was built elsewhere; building one by one")
                new, rest = [], deliveries
            except Exception:
                # One bad delivery must not hold up the others: one by one, each failing
                # on its own (delivery_build keeps it FAILED with the error, for a replay).
                logger.exception("intake batch failed; building its deliveries one by one")
                new, rest = [], deliveries
    if new:
        orders_route_new_many(order_ids=[n.order.pk for _, n in new], built=[n for _, n in new])
    for delivery in rest:
        delivery_build(delivery_id=delivery.pk)
    return len(deliveries)


def _first_versions(
    deliveries: list[WebhookDelivery],
) -> tuple[list[tuple[WebhookDelivery, NewOrder]], list[WebhookDelivery]]:
    """Split a batch: the new orders, built together; the rest, built one by one."""
    parsed = []
    for delivery in deliveries:
        try:
            parsed.append((delivery, _incoming(delivery)))
        except NotAnOrder:
            parsed.append((delivery, None))
    wanted = {(d.channel_id, i.external_id) for d, i in parsed if i is not None}
    known = set(
        Order.objects.filter(
            channel_id__in={channel_id for channel_id, _ in wanted},
            external_id__in={external_id for _, external_id in wanted},
        ).values_list("channel_id", "external_id")
    )
    new, rest = [], []
    for delivery, incoming in parsed:
        key = (delivery.channel_id, incoming.external_id) if incoming is not None else None
        if incoming is None or not incoming.external_id or incoming.cancelled or key in known:
            rest.append(delivery)
            continue
        known.add(key)  # a second version in this batch is an update, built after
        via = {"delivery": delivery.pk, "topic": delivery.topic}
        new.append((delivery, NewOrder(channel=delivery.channel, incoming=incoming, via=via)))
    return new, rest


def _deliveries_built(new: list[tuple[WebhookDelivery, NewOrder]]) -> None:
    update_many(
        WebhookDelivery,
        ["order", "attempts"],
        [(delivery.pk, built.order.pk, delivery.attempts + 1) for delivery, built in new],
        same={"outcome": Outcome.BUILT, "error": "", "processed_at": timezone.now()},
    )


def delivery_replay(*, delivery_id: int, actor: User | None) -> WebhookDelivery:
    """Build a failed (or stuck) delivery again now, on a person's request."""
    updated = WebhookDelivery.objects.filter(
        pk=delivery_id, outcome__in=REPLAYABLE, signature_ok=True
    ).update(outcome=Outcome.ACCEPTED, error="", attempts=0)
    if not updated:
        raise ValidationError(
            "Only a failed delivery, or one still waiting to be built, can be replayed."
        )
    logger.info("delivery %s replayed by %s", delivery_id, actor)
    delivery_build(delivery_id=delivery_id, actor=actor)
    return WebhookDelivery.objects.select_related("channel", "order").get(pk=delivery_id)


def idempotency_keys_expire(*, now: datetime | None = None) -> int:
    """Free the generic format's Idempotency-Keys older than 24 hours (the rows stay)."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        dedup_key__startswith="idem:",
        received_at__lt=now - timedelta(hours=IDEMPOTENCY_HOURS),
    ).update(dedup_key="")


def delivery_build_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Once per beat period: build the deliveries the broker never carried, route new orders
    whose fraud check failed, and free expired Idempotency-Keys. Bounded in count and time."""
    now = now or timezone.now()
    period = sweep_period(every_seconds=settings.SWEEP_INTERVAL, now=now)
    if not sweep_claim(name=SWEEP_NAME, period=period):
        return {}
    done = {"built": 0, "routed": 0, "keys_freed": idempotency_keys_expire(now=now)}
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    waiting = list(
        WebhookDelivery.objects.filter(
            outcome=Outcome.ACCEPTED,
            signature_ok=True,
            received_at__lt=now - timedelta(seconds=SWEEP_AFTER_SECONDS),
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in waiting:
        if time.monotonic() >= deadline:
            break
        delivery = delivery_build(delivery_id=delivery_id)
        if delivery is not None and delivery.outcome != Outcome.ACCEPTED:
            done["built"] += 1
    unrouted = list(
        Order.objects.filter(
            status=Order.Status.RECEIVED,
            created_at__lt=now - timedelta(minutes=ROUTE_AFTER_MINUTES),
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for order_id in unrouted:
        if time.monotonic() >= deadline:
            break
        done["routed"] += order_route_new(order_id=order_id)
    if any(done.values()):
        logger.info("intake sweep: %s", done)
    return done


# Reconciliation --------------------------------------------------------------------------


@dataclass
class ReconcileResult:
    checked: int = 0
    built: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def orders_reconcile(
    *, channel: Channel, external_orders: list[dict[str, Any]], actor: User | None = None
) -> ReconcileResult:
    """Compare the store's own list of orders with opsdesk's, and build what is missing or
    newer there (deliveries that never arrived). Each order is built in its own
    transaction, through the same build as a delivery, so running it twice, or alongside
    late deliveries, makes no duplicate.

    `external_orders` are orders in the channel's format, decoded as orders.formats.parse_json
    decodes them (numbers as Decimal). In production they come from paging the store's API.
    """
    parse = parser_for(channel.kind)
    topic = {"shopify": "orders/updated", "woocommerce": "order.updated"}.get(channel.kind, "")
    result = ReconcileResult()
    ids = [str(o.get("id", "")) for o in external_orders if isinstance(o, dict)]
    known = dict(
        Order.objects.filter(channel=channel, external_id__in=ids).values_list(
            "external_id", "source_updated_at"
        )
    )
    for data in external_orders:
        result.checked += 1
        try:
            incoming = parse(data, topic=topic)
        except NotAnOrder as exc:
            result.refused.append(
                (str(data.get("id", "")) if isinstance(data, dict) else "", str(exc))
            )
            continue
        have = known.get(incoming.external_id)
        if incoming.external_id in known and have is not None and incoming.updated_at <= have:
            result.unchanged += 1
            continue
        built = retry_on_conflict(
            lambda incoming=incoming: order_build(
                channel=channel,
                incoming=incoming,
                source=Order.Source.WEBHOOK,
                actor=actor,
                via={"reconciliation": True},
            )
        )
        if built.created:
            result.built.append(incoming.external_id)
            if built.to_route:
                order_route_new(order_id=built.order.pk)
        elif built.outcome == BuildOutcome.UPDATED:
            result.updated.append(incoming.external_id)
        else:
            result.unchanged += 1
    logger.info(
        "reconciliation of %s: %d checked, %d built, %d updated, %d refused",
        channel.slug,
        result.checked,
        len(result.built),
        len(result.updated),
        len(result.refused),
    )
    return result


# Channels --------------------------------------------------------------------------------


def channel_webhook_url(channel: Channel) -> str:
    """The address to paste into the store's webhook settings."""
    path = reverse(f"orders:webhook_{channel.kind}", kwargs={"channel": channel.slug})
    return f"{settings.SITE_URL}{path}"


def _check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError({"secret": f"A secret has at least {MIN_SECRET_LENGTH} characters."})


@transaction.atomic
def channel_create(
    *, kind: str, name: str, secret: str = "", slug: str = "", actor: User | None = None
) -> Channel:
    """Add a web store; a secret is generated when none is given."""
    if kind not in Channel.Kind.values:
        raise ValidationError({"kind": f"Kind is one of {', '.join(Channel.Kind.values)}."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the channel a name."})
    secret = secret.strip() or secret_generate()
    _check_secret(secret)
    base = slugify(slug or name)[:50] or kind
    candidate, number = base, 2
    while Channel.objects.filter(slug=candidate).exists():
        candidate, number = f"{base}-{number}", number + 1
    channel = Channel.objects.create(name=name[:100], slug=candidate, kind=kind, secret=secret)
    logger.info("channel %s (%s) created by %s", channel.slug, kind, actor)
    return channel


@transaction.atomic
def channel_secret_rotate(
    *, channel_id: int, actor: User | None, new_secret: str = "", grace_hours: int = 24
) -> Channel:
    """Give a channel a new secret; the old one stays valid for `grace_hours`."""
    if not 0 <= grace_hours <= 24 * 30:
        raise ValidationError({"grace_hours": "Between 0 hours and 30 days."})
    channel = Channel.objects.select_for_update().get(pk=channel_id)
    secret = new_secret.strip() or secret_generate()
    _check_secret(secret)
    if secret == channel.secret:
        raise ValidationError({"new_secret": "That is the current secret."})
    channel.previous_secret = channel.secret
    channel.previous_secret_valid_until = timezone.now() + timedelta(hours=grace_hours)
    channel.secret = secret
    channel.save(update_fields=["secret", "previous_secret", "previous_secret_valid_until"])
    logger.warning(
        "channel %s: secret rotated by %s; the previous one is valid until %s",
        channel.slug,
        actor,
        channel.previous_secret_valid_until,
    )
    return channel


@transaction.atomic
def shipping_mapping_save(
    *,
    channel_id: int,
    match_value: str,
    method: str,
    pickup_location_id: int | None,
    actor: User | None,
) -> ShippingMethodMapping:
    """Map a channel's shipping line (method id, code or source) to a fulfillment method."""
    match_value = match_value.strip()
    if not match_value:
        raise ValidationError({"match_value": "Give the method id, code or source to match."})
    if method not in ShippingMethodMapping.Method.values:
        raise ValidationError({"method": "Choose a fulfillment method."})
    if method == ShippingMethodMapping.Method.STORE_PICKUP and pickup_location_id is None:
        raise ValidationError({"pickup_location": "Choose where customers collect."})
    if method != ShippingMethodMapping.Method.STORE_PICKUP:
        pickup_location_id = None
    channel = Channel.objects.get(pk=channel_id)
    mapping = next(
        (
            m
            for m in channel.method_mappings.select_for_update()
            if m.match_value.strip().lower() == match_value.lower()
        ),
        None,
    )
    if mapping is None:
        mapping = ShippingMethodMapping(channel=channel, match_value=match_value[:120])
    mapping.method = method
    mapping.pickup_location_id = pickup_location_id
    mapping.save()
    logger.info("channel %s: %r maps to %s (%s)", channel.slug, match_value, method, actor)
    return mapping


@transaction.atomic
def shipping_mapping_delete(*, mapping_id: int, actor: User | None) -> None:
    """Remove one shipping-method mapping of a channel."""
    deleted, _ = ShippingMethodMapping.objects.filter(pk=mapping_id).delete()
    if not deleted:
        raise ValidationError("That mapping no longer exists.")
    logger.info("shipping mapping %s removed by %s", mapping_id, actor)
