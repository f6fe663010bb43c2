"""Customer e-mails (shipping notice, pickup and delivery notices, vendor orders).

A notice is written as a CustomerNotice row in the transaction that caused it, rendered
there and then, and sent by Celery after commit: a rolled-back transaction leaves no row and
sends nothing. A sweep sends what the broker never carried, retries failed attempts with a
back-off, and recovers rows left in "sending" by a worker that died.

Templates: the NoticeTemplate row of the kind, when the admin has saved one; otherwise the
files `<template_name>.txt` and `<template_name>.html` (default "orders/notices/<kind>").
The first line of the text file may be `Subject: ...`; it becomes the subject and is not
part of the body. Context: store_name, site_url, order, shipment, lines (dicts of
title, sku, quantity), carrier, tracking_url, plus the caller's context.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from email.utils import formataddr
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template import engines
from django.template.loader import render_to_string
from django.utils import timezone

from opsdesk.core.sweeps import sweep_claim, sweep_period
from orders.models import CustomerNotice, NoticeTemplate, Order, OrderEvent, Shipment

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# While a notice is "sending", next_attempt_at holds the end of its lease: a row still sending
# after it was claimed by a worker that died. Longer than CELERY_TASK_TIME_LIMIT (90 s).
SENDING_LEASE = timedelta(minutes=10)
SWEEP_BATCH = 100
SWEEP_TIME_BUDGET_SECONDS = 40
SUBJECT_PREFIX = "Subject:"
NOTICE_PROCESS = "shipping_notice"
NOTICE_SWEEP = "orders.customer_notice_sweep"


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    return (OperationalError, RedisError, OSError)


# Rendering ---------------------------------------------------------------------------------


def tracking_url_for(shipment: Shipment | None) -> str:
    """The carrier's tracking page for the shipment, or "" without carrier or number."""
    if shipment is None or shipment.carrier_id is None or not shipment.tracking_number:
        return ""
    template = shipment.carrier.tracking_url_template
    if "{tracking}" not in template:
        return ""
    from urllib.parse import quote

    return template.replace("{tracking}", quote(shipment.tracking_number.strip(), safe=""))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _split_subject(text: str) -> tuple[str, str]:
    first, _, rest = text.lstrip("\n").partition("\n")
    if first.startswith(SUBJECT_PREFIX):
        return _one_line(first[len(SUBJECT_PREFIX) :]), rest.lstrip("\n")
    return "", text


def _context(
    *, order: Order | None, shipment: Shipment | None, context: dict[str, Any]
) -> dict[str, Any]:
    # Plain values, the same shape for a shipment's lines and an order's.
    lines: list[dict[str, Any]] = []
    if shipment is not None:
        lines = [
            {"title": ln.order_line.title, "sku": ln.variant.sku, "quantity": ln.quantity}
            for ln in shipment.lines.select_related("order_line", "variant").order_by("pk")
        ]
    elif order is not None:
        lines = [
            {"title": ln.title, "sku": ln.sku, "quantity": ln.quantity}
            for ln in order.lines.order_by("pk")
        ]
    base = {
        "store_name": settings.STORE_NAME,
        "site_url": settings.SITE_URL,
        "order": order,
        "shipment": shipment,
        "lines": lines,
        "carrier": shipment.carrier if shipment is not None else None,
        "tracking_url": tracking_url_for(shipment),
    }
    return base | context


def notice_render(
    *, kind: str, context: dict[str, Any], template_name: str | None = None
) -> tuple[str, str, str]:
    """Subject, text body and HTML body of a notice of `kind` (the admin's or the default)."""
    saved = NoticeTemplate.objects.filter(kind=kind).first()
    if saved is not None:
        django_engine = engines["django"]
        text = django_engine.from_string(
            "{% autoescape off %}" + saved.body_text + "{% endautoescape %}"
        ).render(context)
        subject = django_engine.from_string(
            "{% autoescape off %}" + saved.subject + "{% endautoescape %}"
        ).render(context)
        html = django_engine.from_string(saved.body_html).render(context) if saved.body_html else ""
        return _one_line(subject), text, html
    name = template_name or f"orders/notices/{kind}"
    subject, text = _split_subject(render_to_string(f"{name}.txt", context))
    html = render_to_string(f"{name}.html", context)
    if not subject:
        subject = str(context.get("subject") or "")
    if not subject:
        order = context.get("order")
        subject = f"Your order {order.number}" if order is not None else kind
    return subject, text, html


# Writing -----------------------------------------------------------------------------------


def _enqueue(notice_id: int) -> None:
    """Hand the notice to the broker; if it is unreachable, the sweep sends it."""
    from orders.tasks_fulfillment import customer_notice_send_task

    try:
        customer_notice_send_task.delay(notice_id)
    except _broker_errors() as exc:
        logger.warning(
            "broker unreachable, customer notice %s left for the sweep: %s", notice_id, exc
        )


def _recipient(to: str | None, order: Order | None) -> str:
    address = (to or (order.email if order is not None else "") or "").strip()
    if not address:
        number = order.number if order is not None else "?"
        raise ValidationError(f"Order {number} has no e-mail address to send the notice to.")
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(f"{address!r} is not a valid e-mail address.") from None
    return address


@transaction.atomic
def customer_notice_queue(
    *,
    kind: str,
    order: Order | None,
    shipment: Shipment | None = None,
    to: str | None = None,
    context: dict[str, Any] | None = None,
    actor: User | None = None,
    template_name: str | None = None,
) -> CustomerNotice:
    """Write a customer e-mail for sending after commit, and put it on the order's timeline."""
    recipient = _recipient(to, order)
    ctx = _context(order=order, shipment=shipment, context=dict(context or {}))
    subject, text, html = notice_render(kind=kind, context=ctx, template_name=template_name)
    notice = CustomerNotice.objects.create(
        order=order,
        shipment=shipment,
        kind=kind,
        to=recipient,
        subject=subject[:255],
        body_text=text,
        body_html=html,
        requested_by=actor,
    )
    if order is not None:
        OrderEvent.objects.create(
            order=order,
            type=OrderEvent.Type.NOTICE,
            actor=actor,
            data={
                "kind": kind,
                "to": recipient,
                "notice": notice.pk,
                "status": notice.status,
                "shipment": shipment.number if shipment is not None else "",
            },
        )
    transaction.on_commit(partial(_enqueue, notice.pk))
    return notice


@transaction.atomic
def customer_notice_resend(*, notice_id: int, actor: User | None) -> CustomerNotice:
    """Send a notice again: a new row with the same message (the first stays as it was)."""
    try:
        original = CustomerNotice.objects.select_for_update().get(pk=notice_id)
    except CustomerNotice.DoesNotExist:
        raise ValidationError(f"There is no customer e-mail with id {notice_id}.") from None
    if original.status in (CustomerNotice.Status.PENDING, CustomerNotice.Status.SENDING):
        raise ValidationError(
            f"The {original.kind} e-mail to {original.to} is still being sent; "
            "wait for it before sending it again."
        )
    _failed_work_close(original, actor=actor)
    notice = CustomerNotice.objects.create(
        order_id=original.order_id,
        shipment_id=original.shipment_id,
        kind=original.kind,
        to=original.to,
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        requested_by=actor,
    )
    if original.order_id is not None:
        OrderEvent.objects.create(
            order_id=original.order_id,
            type=OrderEvent.Type.NOTICE,
            actor=actor,
            data={
                "kind": notice.kind,
                "to": notice.to,
                "notice": notice.pk,
                "status": notice.status,
                "resend_of": original.pk,
            },
        )
    transaction.on_commit(partial(_enqueue, notice.pk))
    return notice


# Sending -----------------------------------------------------------------------------------


def notice_message_id(notice_id: int) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "opsdesk"
    return f"<opsdesk-notice-{notice_id}@{host}>"


def notice_message(notice: CustomerNotice) -> EmailMultiAlternatives:
    """The e-mail of a notice: from the store, replies to the store's address."""
    sender = settings.DEFAULT_FROM_EMAIL
    if "<" not in sender:
        # The customer sees the store's name, not a bare address.
        sender = formataddr((_one_line(settings.STORE_NAME), sender))
    message = EmailMultiAlternatives(
        subject=_one_line(notice.subject),
        body=notice.body_text,
        from_email=sender,
        to=[notice.to],
        reply_to=[settings.STORE_REPLY_TO],
        headers={
            "Message-ID": notice_message_id(notice.pk),
            "X-Opsdesk-Notice": str(notice.pk),
        },
    )
    if notice.body_html:
        message.attach_alternative(notice.body_html, "text/html")
    return message


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _still_ours(notice: CustomerNotice):
    return CustomerNotice.objects.filter(
        pk=notice.pk, status=CustomerNotice.Status.SENDING, next_attempt_at=notice.next_attempt_at
    )


def customer_notice_send(*, notice_id: int, now: datetime | None = None) -> CustomerNotice | None:
    """Send one pending, due notice; None if there is nothing to do.

    The claim (pending -> sending) is one conditional UPDATE committed before the mail goes
    out, so a repeated task, the sweep or a second worker find nothing to claim: a notice is
    sent once. A transient failure returns it to pending with a back-off; after MAX_ATTEMPTS,
    or on any other error, it is failed.
    """
    now = now or timezone.now()
    lease_end = timezone.now() + SENDING_LEASE
    claimed = CustomerNotice.objects.filter(
        pk=notice_id, status=CustomerNotice.Status.PENDING, next_attempt_at__lte=now
    ).update(status=CustomerNotice.Status.SENDING, next_attempt_at=lease_end)
    if not claimed:
        return None
    notice = CustomerNotice.objects.get(pk=notice_id)
    try:
        notice_message(notice).send()
    except SoftTimeLimitExceeded:
        raise  # left sending: the sweep recovers it when the lease ends
    except OSError as exc:  # SMTP and socket errors
        return _attempt_failed(notice, error=exc, transient=True)
    except Exception as exc:
        logger.exception("customer notice %s cannot be sent", notice_id)
        return _attempt_failed(notice, error=exc, transient=False)
    updated = _still_ours(notice).update(
        status=CustomerNotice.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
    )
    if not updated:
        logger.error("customer notice %s was sent after its lease ran out", notice_id)
    notice.refresh_from_db()
    return notice


def _attempt_failed(
    notice: CustomerNotice, *, error: BaseException, transient: bool
) -> CustomerNotice:
    attempts = notice.attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    if transient and attempts < MAX_ATTEMPTS:
        changes: dict[str, Any] = {
            "status": CustomerNotice.Status.PENDING,
            "next_attempt_at": timezone.now() + _backoff(attempts),
        }
        logger.warning("customer notice %s failed (attempt %d): %s", notice.pk, attempts, error)
    else:
        changes = {"status": CustomerNotice.Status.FAILED}
        logger.error("customer notice %s failed for good after %d attempts", notice.pk, attempts)
    with transaction.atomic():
        updated = _still_ours(notice).update(attempts=attempts, last_error=text, **changes)
        if updated and changes["status"] == CustomerNotice.Status.FAILED:
            _failed_work_open(notice)
    notice.refresh_from_db()
    return notice


def _notice_link(notice: CustomerNotice) -> str:
    from django.urls import reverse

    if notice.shipment_id:
        return reverse("orders:shipment_detail", kwargs={"pk": notice.shipment_id})
    if notice.order_id:
        return reverse("orders:detail", kwargs={"pk": notice.order_id})
    return ""


def _failed_work_open(notice: CustomerNotice) -> None:
    """A notice that could not be sent is work in the shipping-notice queue: someone checks
    the address and resends it (resending closes the item)."""
    from opsdesk.processes.models import Process
    from opsdesk.processes.services import work_item_open

    try:
        work_item_open(
            process=NOTICE_PROCESS,
            title=f"E-mail to {notice.to} not sent: {notice.subject}"[:255],
            link=_notice_link(notice),
            source=notice,
        )
    except Process.DoesNotExist:
        logger.error("no %s process: failed notice %s is not queued", NOTICE_PROCESS, notice.pk)


def _failed_work_close(notice: CustomerNotice, *, actor: User | None) -> None:
    from django.contrib.contenttypes.models import ContentType

    from opsdesk.processes.models import WorkItem
    from opsdesk.processes.services import work_item_close

    for item_id in WorkItem.objects.filter(
        source_type=ContentType.objects.get_for_model(CustomerNotice),
        source_id=notice.pk,
        status=WorkItem.Status.OPEN,
    ).values_list("pk", flat=True):
        work_item_close(item_id=item_id, actor=actor)


def customer_notices_release_stale(*, now: datetime | None = None) -> int:
    """Return notices left in "sending" past their lease to pending (or failed, at the limit)."""
    now = now or timezone.now()
    stale = CustomerNotice.objects.filter(
        status=CustomerNotice.Status.SENDING, next_attempt_at__lt=now
    )
    error = f"Not confirmed within {SENDING_LEASE}: the sending worker stopped."
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
        status=CustomerNotice.Status.FAILED, attempts=F("attempts") + 1, last_error=error
    )
    released = stale.update(
        status=CustomerNotice.Status.PENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now,
        last_error=error,
    )
    return released + failed


def customer_notice_sweep(*, now: datetime | None = None) -> int:
    """Send the pending, due notices (the broker never carried them, or a retry is due).

    Returns how many were sent. Runs once per beat period (its claim is a row), and each
    notice is claimed on its own, so the sweep can race the on-commit tasks or another sweep
    without sending anything twice.
    """
    now = now or timezone.now()
    period = sweep_period(every_seconds=settings.SWEEP_INTERVAL, now=now)
    if not sweep_claim(name=NOTICE_SWEEP, period=period):
        return 0  # this period's run has happened (a second beat, or a repeated message)
    customer_notices_release_stale(now=now)
    sent = 0
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    while time.monotonic() < deadline:
        batch = list(
            CustomerNotice.objects.filter(
                status=CustomerNotice.Status.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not batch:
            break
        for notice_id in batch:
            notice = customer_notice_send(notice_id=notice_id, now=now)
            if notice is not None and notice.status == CustomerNotice.Status.SENT:
                sent += 1
            if time.monotonic() >= deadline:
                break
    return sent
