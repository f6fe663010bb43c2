from django.conf import settings
from django.db import models
from django.utils import timezone


class SweepRun(models.Model):
    """One row per scheduled sweep and period: the claim that makes each sweep run once."""

    name = models.CharField(max_length=100)
    period = models.CharField(max_length=40)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "period"], name="sweeprun_once_per_period")
        ]
        indexes = [models.Index(fields=["name", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.name} @ {self.period}"


class SecurityEvent(models.Model):
    """Append-only record of lockouts, unlocks and other security-relevant events."""

    class Type(models.TextChoices):
        LOGIN_FAILED = "login_failed", "Login failed"
        LOCKED_OUT = "locked_out", "Locked out"
        UNLOCKED = "unlocked", "Unlocked"

    type = models.CharField(max_length=30, choices=Type.choices)
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.username} from {self.ip_address}"
