from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Process(models.Model):
    """One operational process of the business: owner, queue, target time, procedure."""

    class Key(models.TextChoices):
        ORDER_REVIEW = "order_review", "Order review"
        FRAUD_REVIEW = "fraud_review", "Fraud review"
        PICK_PACK_SHIP = "pick_pack_ship", "Pick, pack, ship"
        DROP_SHIP = "drop_ship", "Drop ship"
        STORE_PICKUP = "store_pickup", "Store pickup"
        LOCAL_DELIVERY = "local_delivery", "Local delivery"
        SHIPPING_NOTICE = "shipping_notice", "Shipping notice to customers"
        OUT_OF_STOCK = "out_of_stock", "Out-of-stock handling"
        RECEIVING = "receiving", "Receiving"
        POS_SYNC = "pos_sync", "POS stock sync"
        WEB_READY_DATA = "web_ready_data", "Web-ready data entry"
        RETURNS = "returns", "Returns"
        REFUNDS = "refunds", "Refunds"
        SITE_UPDATES = "site_updates", "Site updates"
        BOOKKEEPING = "bookkeeping", "Bookkeeping"

    key = models.SlugField(max_length=40, unique=True, choices=Key.choices)
    name = models.CharField(max_length=100)
    summary = models.CharField(max_length=255, blank=True)
    owner_role = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        related_name="owned_processes",
        help_text="The role that owns this process and works its queue.",
    )
    primary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_processes",
    )
    backup = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backup_processes",
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_processes",
        help_text="Staff who work this queue when they are on shift.",
    )
    target_minutes = models.PositiveIntegerField(
        help_text="How long an item may wait in the queue, in minutes."
    )
    review_every_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="For periodic processes: days between reviews."
    )
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    procedure = models.TextField(blank=True, help_text="The written procedure, in Markdown.")
    checklist = models.JSONField(default=list, blank=True, help_text="The steps, in order.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "processes"
        constraints = [
            models.CheckConstraint(
                condition=Q(target_minutes__gt=0), name="process_target_positive"
            ),
            models.CheckConstraint(
                condition=Q(primary__isnull=True) | ~Q(primary=F("backup")),
                name="process_backup_not_primary",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("processes:detail", kwargs={"key": self.key})

    @property
    def target(self) -> timedelta:
        return timedelta(minutes=self.target_minutes)

    @property
    def next_review_at(self):
        if not self.review_every_days:
            return None
        if self.last_reviewed_at is None:
            return None  # never reviewed: due now
        return self.last_reviewed_at + timedelta(days=self.review_every_days)


class ProcessEvent(models.Model):
    """Append-only history of a process: assignment, procedure and review changes."""

    class Type(models.TextChoices):
        ASSIGNMENT_CHANGED = "assignment_changed", "Assignment changed"
        PROCEDURE_CHANGED = "procedure_changed", "Procedure changed"
        REVIEWED = "reviewed", "Reviewed"

    process = models.ForeignKey(Process, related_name="events", on_delete=models.PROTECT)
    type = models.CharField(max_length=50, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.process}: {self.get_type_display()}"


class WatchedHours(models.Model):
    """A window, in the store's time zone, in which a process's queue must be watched."""

    process = models.ForeignKey(Process, related_name="watched_hours", on_delete=models.CASCADE)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["process", "weekday", "start"]
        verbose_name_plural = "watched hours"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="watched_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Shift(models.Model):
    """A weekly rostered shift, in the store's time zone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="shifts", on_delete=models.CASCADE
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start", "user_id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="shift_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class ShiftChange(models.Model):
    """A one-off change to the roster on one date: time off, or cover (an extra shift)."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", "Time off"
        COVER = "cover", "Cover"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="shift_changes", on_delete=models.CASCADE
    )
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    start = models.TimeField(null=True, blank=True, help_text="Empty with end: the whole day.")
    end = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True))
                | (Q(start__isnull=False) & Q(end__isnull=False) & Q(end__gt=F("start"))),
                name="shiftchange_times_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind="cover") | Q(start__isnull=False),
                name="shiftchange_cover_has_times",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user} on {self.date}"


class WorkItem(models.Model):
    """One item waiting in a process's queue, with its due time and escalation state.

    Domain apps open items for their records (an order to review, a backorder line ...)
    through opsdesk.processes.services; the target-time sweep escalates late ones.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Escalation(models.IntegerChoices):
        NONE = 0, "Not late"
        ON_DUTY = 1, "Late: on-duty staff notified"
        BACKUP = 2, "Late: backup notified"

    process = models.ForeignKey(Process, related_name="work_items", on_delete=models.PROTECT)
    title = models.CharField(max_length=255)
    link = models.CharField(max_length=500, blank=True)
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_work_items",
    )
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    escalation = models.PositiveSmallIntegerField(
        choices=Escalation.choices, default=Escalation.NONE
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "source_type", "source_id"],
                condition=Q(status="open"),
                name="workitem_one_open_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="open"), name="workitem_open_due"),
            models.Index(fields=["process", "status", "due_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_late(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()
