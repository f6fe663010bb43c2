"""The inbox and e-mail settings: mark read, save preferences."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opsdesk.notifications.models import Notification, NotificationPreference
from opsdesk.processes.models import Process

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def notification_mark_read(*, notification_id: int, actor: User) -> Notification:
    """Mark one of `actor`'s notifications read (Notification.DoesNotExist if not theirs)."""
    notification = Notification.objects.get(pk=notification_id, recipient=actor)
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


@transaction.atomic
def notification_mark_all_read(*, actor: User) -> int:
    """Mark all of `actor`'s unread notifications read; returns how many there were."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_preferences_save(
    *, user: User, modes: Mapping[int, str], actor: User | None
) -> list[NotificationPreference]:
    """Set how `user` is e-mailed about each process ({process id: mode})."""
    valid = set(NotificationPreference.Mode.values)
    bad = {mode for mode in modes.values() if mode not in valid}
    if bad:
        raise ValidationError(f"Unknown notification setting: {', '.join(sorted(bad))}.")
    known = set(Process.objects.filter(pk__in=list(modes)).values_list("pk", flat=True))
    unknown = set(modes) - known
    if unknown:
        raise ValidationError("One of the processes no longer exists; reload the page.")
    preferences = NotificationPreference.objects.bulk_create(
        [
            NotificationPreference(user=user, process_id=process_id, mode=mode)
            for process_id, mode in modes.items()
        ],
        update_conflicts=True,
        unique_fields=["user", "process"],
        update_fields=["mode", "updated_at"],
    )
    logger.info("notification settings of %s saved by %s", user, actor)
    return preferences
