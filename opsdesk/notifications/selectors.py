"""Reads of opsdesk.notifications: the inbox, the unread count, preferences, mail tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from opsdesk.notifications.models import (
    EmailDelivery,
    MailTest,
    Notification,
    NotificationPreference,
)
from opsdesk.processes.models import Process

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def notification_list_for_inbox(*, user: User) -> QuerySet[Notification]:
    """`user`'s notifications, newest first, with their process (one query per page)."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("process")
        .order_by("-created_at", "-id")
    )


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_preference_modes(*, user: User) -> list[Process]:
    """Every process, each with `user`'s e-mail setting for it as `.notification_mode`."""
    mode = NotificationPreference.objects.filter(user=user, process=OuterRef("pk")).values("mode")
    return list(
        Process.objects.annotate(
            notification_mode=Coalesce(
                Subquery(mode[:1]), Value(NotificationPreference.Mode.IMMEDIATE)
            )
        ).order_by("name")
    )


def mail_test_list_recent(*, limit: int = 10) -> list[MailTest]:
    return list(MailTest.objects.select_related("actor").order_by("-sent_at", "-id")[:limit])


def delivery_counts_by_status() -> dict[str, int]:
    """How many e-mail deliveries are in each status (for health pages and the admin)."""
    counts = dict.fromkeys(EmailDelivery.Status.values, 0)
    rows = EmailDelivery.objects.order_by().values("status").annotate(count=Count("id"))
    for row in rows:
        counts[row["status"]] = row["count"]
    return counts
