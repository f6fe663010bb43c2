"""The hourly digest: one e-mail per person listing their digest-mode deliveries."""

from __future__ import annotations

import logging
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from opsdesk.core.sweeps import sweep_claim, sweep_period
from opsdesk.notifications.emails import digest_message, digest_message_id
from opsdesk.notifications.models import EmailDelivery
from opsdesk.notifications.services.delivery import MAX_ATTEMPTS, error_text

logger = logging.getLogger(__name__)


DIGEST_SWEEP = "notifications.digest_send_due"
DIGEST_PERIOD_SECONDS = 3600
DIGEST_MAX_ITEMS = 200


def digest_send_due(*, now: datetime | None = None) -> int:
    """Once an hour, send each person one e-mail listing their pending digest deliveries.

    Beat starts it every sweep interval; the first run in an hour claims the hour, the rest
    return at once. Returns how many digests were sent.
    """
    now = now or timezone.now()
    period = sweep_period(every_seconds=DIGEST_PERIOD_SECONDS, now=now)
    if not sweep_claim(name=DIGEST_SWEEP, period=period):
        return 0
    user_ids = list(
        EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING,
            mode=EmailDelivery.Mode.DIGEST,
            next_attempt_at__lte=now,
        )
        .order_by("notification__recipient_id")
        .values_list("notification__recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in user_ids:
        if digest_send(user_id=user_id, now=now):
            sent += 1
    return sent


def digest_send(*, user_id: int, now: datetime | None = None) -> list[EmailDelivery]:
    """Send one person's pending digest deliveries as one e-mail; returns the rows it sent.

    The rows are claimed (pending → sending) under row locks that skip rows another run
    holds, then sent outside the transaction, like delivery_send.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            EmailDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=EmailDelivery.Status.PENDING,
                mode=EmailDelivery.Mode.DIGEST,
                next_attempt_at__lte=now,
                notification__recipient_id=user_id,
            )
            .select_related("notification__process", "notification__recipient")
            .order_by("notification__created_at", "id")[:DIGEST_MAX_ITEMS]
        )
        if not rows:
            return []
        claimed_at = timezone.now()
        ids = [row.pk for row in rows]
        EmailDelivery.objects.filter(pk__in=ids).update(
            status=EmailDelivery.Status.SENDING, claimed_at=claimed_at
        )
    claimed = EmailDelivery.objects.filter(
        pk__in=ids, status=EmailDelivery.Status.SENDING, claimed_at=claimed_at
    )
    recipient = rows[-1].notification.recipient
    try:
        digest_message(to=rows[-1].to, recipient=recipient, deliveries=rows).send()
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        transient = isinstance(exc, OSError)
        if not transient:
            logger.exception("digest for user %s cannot be sent", user_id)
        error = error_text(exc)
        retry = claimed.filter(attempts__lt=MAX_ATTEMPTS - 1) if transient else claimed.none()
        # The hour's digest is over: a row returned to pending goes with the next one.
        retry.update(
            status=EmailDelivery.Status.PENDING,
            attempts=F("attempts") + 1,
            claimed_at=None,
            last_error=error,
        )
        claimed.update(
            status=EmailDelivery.Status.FAILED, attempts=F("attempts") + 1, last_error=error
        )
        logger.warning("digest for user %s failed: %s", user_id, exc)
        return []
    claimed.update(
        status=EmailDelivery.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        message_id=digest_message_id(user_id=user_id, delivery_ids=ids),
        last_error="",
    )
    return list(EmailDelivery.objects.filter(pk__in=ids, status=EmailDelivery.Status.SENT))
