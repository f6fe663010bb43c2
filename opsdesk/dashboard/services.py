from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone

from opsdesk.core.sweeps import sweep_claim
from opsdesk.dashboard.models import DailySummarySchedule
from opsdesk.dashboard.selectors import (
    DAILY_SUMMARY_SWEEP,
    DailySummary,
    daily_summary_build,
    daily_summary_recipients,
    daily_summary_schedule_get,
)
from opsdesk.notifications.services import notify

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# notify() files every notification under a process. The summary spans all of them; it is
# filed under bookkeeping, the process about the business's numbers.
DAILY_SUMMARY_PROCESS_KEY = "bookkeeping"


@transaction.atomic
def daily_summary_schedule_update(
    *, send_at: time, enabled: bool, actor: AbstractBaseUser | None
) -> DailySummarySchedule:
    """Set the local time of the owner's daily summary, and whether it is sent at all."""
    schedule, _ = DailySummarySchedule.objects.update_or_create(
        pk=DailySummarySchedule.SINGLETON_ID,
        defaults={
            # The sweep runs once a minute: seconds would only suggest a precision it lacks.
            "send_at": send_at.replace(second=0, microsecond=0, tzinfo=None),
            "enabled": enabled,
            "updated_by": actor,
        },
    )
    return schedule


def daily_summary_send(*, now: datetime | None = None) -> DailySummary | None:
    """Send the owner's daily summary of yesterday, once per local day, at its set time.

    Run every minute by dashboard.daily_summary_send_task. Nothing happens while the
    schedule is off, before its time of day in the store's time zone, or when the Owner
    group is empty. Otherwise the local date is claimed (sweep_claim("daily-summary",
    date)) in the same transaction that hands the summary to notify(): running twice, or
    in two workers at once, sends once, and a failure before the commit leaves the day
    unclaimed, so the next minute's run tries again. A run that starts late (beat was
    down at the set time) still sends that day's summary.

    Delivery is notify(users=owners): the notifications app gives each active member of
    the Owner group an in-app notification and an e-mail as their preferences say, with
    its durable delivery records and retries; `users=` bypasses on-duty routing, so the
    summary reaches the owners and nobody else. Returns the summary sent, or None.
    """
    schedule = daily_summary_schedule_get()
    if not schedule.enabled:
        return None
    local_now = timezone.localtime(now or timezone.now(), timezone.get_default_timezone())
    if local_now.time() < schedule.send_at:
        return None
    owners = daily_summary_recipients()
    if not owners:
        logger.warning("daily summary: nobody is in the Owner group; nothing sent")
        return None
    today = local_now.date()
    with transaction.atomic():
        if not sweep_claim(name=DAILY_SUMMARY_SWEEP, period=today.isoformat()):
            return None
        summary = daily_summary_build(day=today - timedelta(days=1))
        link = reverse("dashboard:index")
        body = render_to_string(
            "dashboard/email/daily_summary.txt",
            {
                "summary": summary,
                "store_name": settings.STORE_NAME,
                "dashboard_url": settings.SITE_URL + link,
            },
        )
        notify(
            process=DAILY_SUMMARY_PROCESS_KEY,
            subject=f"Daily summary for {formats.date_format(summary.day, 'l, F j')}",
            body=body,
            link=link,
            users=owners,
            actor=None,
        )
    logger.info("daily summary for %s sent to %d owner(s)", summary.day, len(owners))
    return summary
