"""Sending immediate e-mail deliveries: claim, send, back off, sweep, retry."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from opsdesk.core.sweeps import sweep_claim, sweep_period
from opsdesk.notifications.emails import delivery_message_id, notification_message
from opsdesk.notifications.models import EmailDelivery
from opsdesk.notifications.services.notify import deliveries_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


# A delivery is tried at most this many times; then it is failed and shown in the admin.
MAX_ATTEMPTS = 5
# Back-off after a failed attempt n (1-based): BACKOFF_BASE * 2 ** (n - 1), at most BACKOFF_MAX.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# A row left in `sending` longer than this was claimed by a worker that died. It must be
# longer than CELERY_TASK_TIME_LIMIT (90 s), which ends any live sender before it expires.
SENDING_LEASE = timedelta(minutes=10)
# The sweep sends in batches, and stops starting new ones after this many seconds, well
# inside CELERY_TASK_SOFT_TIME_LIMIT (60 s); the next period's sweep goes on.
SWEEP_BATCH = 100
SWEEP_TIME_BUDGET_SECONDS = 40

DELIVERY_SWEEP = "notifications.delivery_sweep"


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> EmailDelivery | None:
    """Send one immediate e-mail delivery if it is pending and due; None if there is nothing to do.

    The claim (pending and due → sending) is one conditional UPDATE committed before the
    mail goes out, so a repeated task, the sweep or a second worker find nothing to claim:
    a delivery is sent once. No transaction is held open while talking to the mail server.
    A transient failure (SMTP or socket error) returns the row to pending with a back-off;
    after MAX_ATTEMPTS it is failed. Any other error fails it at once.
    """
    now = now or timezone.now()
    claimed = EmailDelivery.objects.filter(
        pk=delivery_id,
        status=EmailDelivery.Status.PENDING,
        mode=EmailDelivery.Mode.IMMEDIATE,
        next_attempt_at__lte=now,
    ).update(status=EmailDelivery.Status.SENDING, claimed_at=timezone.now())
    if not claimed:
        return None
    delivery = EmailDelivery.objects.select_related(
        "notification__recipient", "notification__process"
    ).get(pk=delivery_id)
    try:
        notification_message(delivery=delivery).send()
    except SoftTimeLimitExceeded:
        # Left in `sending`: the sweep returns it to pending when the lease runs out.
        raise
    except OSError as exc:  # smtplib.SMTPException and socket errors are OSErrors
        return _delivery_attempt_failed(delivery, error=exc, transient=True)
    except Exception as exc:
        logger.exception("e-mail delivery %s cannot be sent", delivery_id)
        return _delivery_attempt_failed(delivery, error=exc, transient=False)
    return _delivery_mark_sent(delivery, message_id=delivery_message_id(delivery.pk))


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _still_ours(delivery: EmailDelivery):
    return EmailDelivery.objects.filter(
        pk=delivery.pk, status=EmailDelivery.Status.SENDING, claimed_at=delivery.claimed_at
    )


def _delivery_mark_sent(delivery: EmailDelivery, *, message_id: str) -> EmailDelivery:
    now = timezone.now()
    updated = _still_ours(delivery).update(
        status=EmailDelivery.Status.SENT,
        sent_at=now,
        attempts=F("attempts") + 1,
        message_id=message_id,
        last_error="",
    )
    if not updated:
        logger.error("e-mail delivery %s was sent after its lease ran out", delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _delivery_attempt_failed(
    delivery: EmailDelivery, *, error: BaseException, transient: bool
) -> EmailDelivery:
    now = timezone.now()
    attempts = delivery.attempts + 1
    if transient and attempts < MAX_ATTEMPTS:
        changes = {
            "status": EmailDelivery.Status.PENDING,
            "next_attempt_at": now + _backoff(attempts),
            "claimed_at": None,
        }
        logger.warning(
            "e-mail delivery %s failed (attempt %d of %d), retrying at %s: %s",
            delivery.pk,
            attempts,
            MAX_ATTEMPTS,
            changes["next_attempt_at"],
            error,
        )
    else:
        changes = {"status": EmailDelivery.Status.FAILED}
        logger.error("e-mail delivery %s failed for good after %d attempts", delivery.pk, attempts)
    _still_ours(delivery).update(attempts=attempts, last_error=error_text(error), **changes)
    delivery.refresh_from_db()
    return delivery


def deliveries_release_stale(*, now: datetime | None = None) -> int:
    """Return deliveries stuck in `sending` past the lease (their worker died) to pending.

    The lost attempt counts, so a message that kills its worker every time ends as failed.
    """
    now = now or timezone.now()
    stale = EmailDelivery.objects.filter(
        status=EmailDelivery.Status.SENDING, claimed_at__lt=now - SENDING_LEASE
    )
    error = f"Not confirmed within {SENDING_LEASE}: the sending worker stopped."
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
        status=EmailDelivery.Status.FAILED, attempts=F("attempts") + 1, last_error=error
    )
    released = stale.update(
        status=EmailDelivery.Status.PENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now,
        claimed_at=None,
        last_error=error,
    )
    if failed or released:
        logger.warning("stale e-mail deliveries: %d back to pending, %d failed", released, failed)
    return released + failed


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Send the pending, due immediate deliveries the broker never carried; once per period.

    Returns how many were sent. Each delivery is claimed on its own (delivery_send), so the
    sweep can race the on-commit tasks, or another sweep, without sending anything twice.
    """
    now = now or timezone.now()
    period = sweep_period(every_seconds=settings.SWEEP_INTERVAL, now=now)
    if not sweep_claim(name=DELIVERY_SWEEP, period=period):
        return 0
    deliveries_release_stale(now=now)
    sent = 0
    deadline = time.monotonic() + SWEEP_TIME_BUDGET_SECONDS
    while time.monotonic() < deadline:
        # Each batch makes progress: a row it touches is sent, failed, or due later than now.
        batch = list(
            EmailDelivery.objects.filter(
                status=EmailDelivery.Status.PENDING,
                mode=EmailDelivery.Mode.IMMEDIATE,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not batch:
            break
        for delivery_id in batch:
            delivery = delivery_send(delivery_id=delivery_id, now=now)
            if delivery is not None and delivery.status == EmailDelivery.Status.SENT:
                sent += 1
            if time.monotonic() >= deadline:
                break
    return sent


@transaction.atomic
def delivery_retry(*, delivery_id: int, actor: User | None) -> EmailDelivery:
    """Send a failed delivery again now, as an immediate e-mail, with a fresh set of attempts."""
    updated = EmailDelivery.objects.filter(
        pk=delivery_id, status=EmailDelivery.Status.FAILED
    ).update(
        status=EmailDelivery.Status.PENDING,
        mode=EmailDelivery.Mode.IMMEDIATE,
        attempts=0,
        next_attempt_at=timezone.now(),
        claimed_at=None,
    )
    if not updated:
        raise ValidationError("Only a failed delivery can be retried.")
    logger.info("e-mail delivery %s retried by %s", delivery_id, actor)
    transaction.on_commit(partial(deliveries_enqueue, delivery_ids=[delivery_id]))
    return EmailDelivery.objects.get(pk=delivery_id)
