from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q


class DailySummarySchedule(models.Model):
    """When the owner's daily summary is sent, in the store's time zone.

    There is at most one row (its pk is always 1); until someone saves the form on the
    dashboard, the defaults below apply (see selectors.daily_summary_schedule_get).
    """

    SINGLETON_ID = 1
    DEFAULT_SEND_AT = time(7, 30)

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    send_at = models.TimeField(
        default=DEFAULT_SEND_AT, help_text="Local time of day, in the store's time zone."
    )
    enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily summary schedule"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="dailysummaryschedule_singleton"),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"Daily summary at {self.send_at:%H:%M} ({state})"
