from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsdesk.processes.models import Process


class Notification(models.Model):
    """One in-app message to one person, filed under the process it is about."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="notifications", on_delete=models.CASCADE
    )
    process = models.ForeignKey(Process, related_name="notifications", on_delete=models.PROTECT)
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def href(self) -> str:
        """The link, if it is a path on this site or a web address (never `javascript:`)."""
        if self.link.startswith(("/", "https://", "http://")) and not self.link.startswith("//"):
            return self.link
        return ""


class NotificationPreference(models.Model):
    """How one person wants e-mail about one process; no row means immediately."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "E-mail immediately"
        DIGEST = "digest", "Hourly digest"
        NONE = "none", "No e-mail (inbox only)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        related_name="notification_preferences",
        on_delete=models.CASCADE,
    )
    process = models.ForeignKey(
        Process, related_name="notification_preferences", on_delete=models.CASCADE
    )
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "process_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "process"], name="notificationpreference_one_per_process"
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["immediate", "digest", "none"]),
                name="notificationpreference_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.process} → {self.get_mode_display()}"


class EmailDelivery(models.Model):
    """The durable record of one notification's e-mail; the broker only carries its id.

    A row is sent by whoever claims it first (pending and due → sending, one conditional
    UPDATE): the on-commit task, the sweep, or the hourly digest for digest rows.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "Hourly digest"

    notification = models.OneToOneField(
        Notification, related_name="email_delivery", on_delete=models.CASCADE
    )
    to = models.EmailField(help_text="The address at the time the notification was made.")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IMMEDIATE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "e-mail deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed"]),
                name="emaildelivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="emaildelivery_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="emaildelivery_sending_is_claimed",
            ),
        ]
        indexes = [
            models.Index(
                fields=["mode", "next_attempt_at"],
                condition=Q(status="pending"),
                name="emaildelivery_pending_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="emaildelivery_sending",
            ),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"E-mail #{self.pk} to {self.to} ({self.get_status_display()})"


class MailTest(models.Model):
    """One press of "Send a test message": proof that outgoing mail works (or why not)."""

    to = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"Test message to {self.to}: {'sent' if self.ok else 'failed'}"
