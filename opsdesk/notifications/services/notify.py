"""notify(): file in-app notifications and their e-mail deliveries, enqueue on commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError

from opsdesk.notifications.models import (
    EmailDelivery,
    Notification,
    NotificationPreference,
)
from opsdesk.processes.models import Process

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


# What enqueueing raises while the broker is unreachable (kombu wraps most as its own).
BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, RedisError, OSError)


def notify(
    *,
    process: Process | str,
    subject: str,
    body: str,
    link: str = "",
    users: Iterable[User] | None = None,
    actor: User | None = None,
) -> list[Notification]:
    """Notify the people on duty for `process` (or `users`): inbox, and e-mail per preference.

    Runs inside the caller's transaction: nothing is sent if it rolls back. Immediate e-mail
    is enqueued on commit; if the broker is down then, the rows wait for the sweep. People
    who are inactive or appear twice are skipped; people without an address get no e-mail.
    """
    if isinstance(process, str):
        process = Process.objects.get(key=process)
    if users is None:
        # Imported here: processes calls notify(), so notifications must not need it at import.
        from opsdesk.processes.selectors import process_on_duty_users

        users = process_on_duty_users(process=process)
    recipients = _unique_active(users)
    if not recipients:
        logger.warning("notify: nobody to notify for %s: %s", process.key, subject)
        return []

    now = timezone.now()
    with transaction.atomic():
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    recipient=user,
                    process=process,
                    subject=subject[:255],
                    body=body,
                    link=link,
                    actor=actor,
                    created_at=now,
                )
                for user in recipients
            ]
        )
        modes = dict(
            NotificationPreference.objects.filter(
                process=process, user__in=[user.pk for user in recipients]
            ).values_list("user_id", "mode")
        )
        deliveries = []
        for notification in notifications:
            mode = modes.get(notification.recipient_id, NotificationPreference.Mode.IMMEDIATE)
            address = notification.recipient.email
            if mode == NotificationPreference.Mode.NONE or not address:
                continue
            deliveries.append(
                EmailDelivery(
                    notification=notification,
                    to=address,
                    mode=(
                        EmailDelivery.Mode.DIGEST
                        if mode == NotificationPreference.Mode.DIGEST
                        else EmailDelivery.Mode.IMMEDIATE
                    ),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        EmailDelivery.objects.bulk_create(deliveries)
        immediate = [d.pk for d in deliveries if d.mode == EmailDelivery.Mode.IMMEDIATE]
        if immediate:
            transaction.on_commit(partial(deliveries_enqueue, delivery_ids=immediate))
    return notifications


def _unique_active(users: Iterable[User | None]) -> list[User]:
    seen: set[int] = set()
    unique = []
    for user in users:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        unique.append(user)
    return unique


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Hand delivery ids to the broker; if it is unreachable, leave them to the sweep."""
    from opsdesk.notifications.tasks import delivery_send_task

    for position, delivery_id in enumerate(delivery_ids):
        try:
            delivery_send_task.delay(delivery_id)
        except BROKER_ERRORS as exc:
            # The rows are committed and pending: the sweep sends them. Stop here rather
            # than wait on the broker once per remaining id.
            logger.warning(
                "broker unreachable, %d e-mail deliveries left for the sweep: %s",
                len(delivery_ids) - position,
                exc,
            )
            return
