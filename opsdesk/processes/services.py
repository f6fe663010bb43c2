"""Writes for processes: assignments, procedures, shifts, and the work items in each queue."""

import logging
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.processes.models import (
    Process,
    ProcessEvent,
    Shift,
    ShiftChange,
    WorkItem,
)

User = get_user_model()
logger = logging.getLogger(__name__)

ESCALATION_BATCH = 200


def _user_label(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _active_staff(user_ids: list[int]) -> dict[int, object]:
    users = User.objects.filter(pk__in=user_ids, is_active=True)
    return {u.pk: u for u in users}


@transaction.atomic
def process_assign(
    *,
    process_id: int,
    primary_id: int | None,
    backup_id: int | None,
    assignee_ids: list[int],
    actor,
) -> Process:
    """Set who handles a process: primary, backup and the staff who work its queue."""
    process = Process.objects.select_for_update().get(pk=process_id)
    if primary_id is not None and primary_id == backup_id:
        raise ValidationError({"backup": "The backup must be someone other than the primary."})
    wanted = [i for i in (primary_id, backup_id, *assignee_ids) if i is not None]
    found = _active_staff(wanted)
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ValidationError(f"No active staff member with id {missing[0]}.")
    before = {
        "primary": _user_label(process.primary),
        "backup": _user_label(process.backup),
        "assignees": sorted(_user_label(u) for u in process.assignees.all()),
    }
    process.primary = found.get(primary_id) if primary_id else None
    process.backup = found.get(backup_id) if backup_id else None
    process.save(update_fields=["primary", "backup", "updated_at"])
    process.assignees.set([found[i] for i in assignee_ids])
    after = {
        "primary": _user_label(process.primary),
        "backup": _user_label(process.backup),
        "assignees": sorted(_user_label(found[i]) for i in assignee_ids),
    }
    ProcessEvent.objects.create(
        process=process,
        type=ProcessEvent.Type.ASSIGNMENT_CHANGED,
        actor=actor,
        data={"before": before, "after": after},
    )
    return process


@transaction.atomic
def process_update_procedure(
    *,
    process_id: int,
    procedure: str,
    checklist: list[str],
    target_minutes: int,
    review_every_days: int | None,
    actor,
) -> Process:
    """Change a process's written procedure, checklist, target time and review cadence."""
    if target_minutes <= 0:
        raise ValidationError({"target_minutes": "The target time must be at least a minute."})
    if review_every_days is not None and review_every_days <= 0:
        raise ValidationError({"review_every_days": "Leave empty, or give at least one day."})
    process = Process.objects.select_for_update().get(pk=process_id)
    changed = [
        name
        for name, value in (
            ("procedure", procedure),
            ("checklist", checklist),
            ("target_minutes", target_minutes),
            ("review_every_days", review_every_days),
        )
        if getattr(process, name) != value
    ]
    process.procedure = procedure
    process.checklist = [step.strip() for step in checklist if step.strip()]
    process.target_minutes = target_minutes
    process.review_every_days = review_every_days
    process.save()
    if changed:
        ProcessEvent.objects.create(
            process=process,
            type=ProcessEvent.Type.PROCEDURE_CHANGED,
            actor=actor,
            data={"changed": changed},
        )
    return process


@transaction.atomic
def process_mark_reviewed(*, process_id: int, actor) -> Process:
    """Record a periodic review of a process, and close its open review item."""
    process = Process.objects.select_for_update().get(pk=process_id)
    process.last_reviewed_at = timezone.now()
    process.save(update_fields=["last_reviewed_at", "updated_at"])
    ProcessEvent.objects.create(process=process, type=ProcessEvent.Type.REVIEWED, actor=actor)
    ct = ContentType.objects.get_for_model(Process)
    for item in WorkItem.objects.select_for_update().filter(
        process=process, source_type=ct, source_id=process.pk, status=WorkItem.Status.OPEN
    ):
        _work_item_finish(item, status=WorkItem.Status.DONE)
    return process


# Shifts ---------------------------------------------------------------------------------


def _check_span(start: time | None, end: time | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationError(
            {"end": "The end must be after the start (split a night shift at midnight)."}
        )


@transaction.atomic
def shift_add(*, user_id: int, weekday: int, start: time, end: time, actor) -> Shift:
    """Add a weekly rostered shift for a person."""
    _check_span(start, end)
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": "Choose a day of the week."})
    overlapping = Shift.objects.filter(
        user_id=user_id, weekday=weekday, start__lt=end, end__gt=start
    ).exists()
    if overlapping:
        raise ValidationError("That person already has a shift overlapping these hours.")
    return Shift.objects.create(user_id=user_id, weekday=weekday, start=start, end=end)


@transaction.atomic
def shift_remove(*, shift_id: int, actor) -> None:
    """Remove a weekly shift from the roster."""
    Shift.objects.filter(pk=shift_id).delete()


@transaction.atomic
def shift_change_add(
    *,
    user_id: int,
    on: date,
    kind: str,
    start: time | None,
    end: time | None,
    note: str = "",
    actor,
) -> ShiftChange:
    """Record a one-off change on one date: time off (whole day or hours) or cover."""
    if kind not in ShiftChange.Kind.values:
        raise ValidationError({"kind": "Choose time off or cover."})
    if (start is None) != (end is None):
        raise ValidationError("Give both a start and an end, or neither for the whole day.")
    if kind == ShiftChange.Kind.COVER and start is None:
        raise ValidationError({"start": "Cover needs its hours."})
    _check_span(start, end)
    return ShiftChange.objects.create(
        user_id=user_id, date=on, kind=kind, start=start, end=end, note=note, created_by=actor
    )


@transaction.atomic
def shift_change_remove(*, change_id: int, actor) -> None:
    """Withdraw a one-off change."""
    ShiftChange.objects.filter(pk=change_id).delete()


# Work items -----------------------------------------------------------------------------


def _notify(**kwargs) -> None:
    # Notifications observe processes; imported here so processes never needs it at import.
    from opsdesk.notifications.services import notify

    notify(**kwargs)


@transaction.atomic
def work_item_open(
    *,
    process: Process | str,
    title: str,
    link: str = "",
    source: models.Model | None = None,
    due_at: datetime | None = None,
    notify_on_duty: bool = True,
) -> WorkItem:
    """Put an item in a process's queue, due within its target time; one open item per source.

    Opening the same source again returns the item already open.
    """
    if isinstance(process, str):
        process = Process.objects.get(key=process)
    source_type = ContentType.objects.get_for_model(source) if source is not None else None
    source_id = source.pk if source is not None else None
    if source is not None:
        existing = WorkItem.objects.filter(
            process=process,
            source_type=source_type,
            source_id=source_id,
            status=WorkItem.Status.OPEN,
        ).first()
        if existing is not None:
            return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            item = WorkItem.objects.create(
                process=process,
                title=title[:255],
                link=link,
                source_type=source_type,
                source_id=source_id,
                created_at=now,
                due_at=due_at or now + process.target,
            )
    except IntegrityError:
        # Another transaction opened it first.
        return WorkItem.objects.get(
            process=process,
            source_type=source_type,
            source_id=source_id,
            status=WorkItem.Status.OPEN,
        )
    if notify_on_duty:
        _notify_new(process, [(item.title, item.link)], due_at=item.due_at)
    return item


def _notify_new(process: Process, items: list[tuple[str, str]], *, due_at: datetime) -> None:
    """Tell whoever is on duty what came into the queue: (title, link) of each new item."""
    if len(items) == 1:
        subject = f"New in {process.name}: {items[0][0]}"
        link = items[0][1]
    else:
        subject = f"{len(items)} new in {process.name}"
        link = ""
    titles = "\n".join(title for title, _ in items)
    _notify(
        process=process,
        subject=subject,
        body=f"{titles}\n\nDue by {timezone.localtime(due_at):%a %d %b %H:%M}.",
        link=link or process.get_absolute_url(),
    )


@transaction.atomic
def work_items_open_many(
    *, process: Process | str, items: list[tuple[str, str, models.Model]]
) -> None:
    """Put many sources in a process's queue at once, each as work_item_open would, and tell
    whoever is on duty once, with every title in one notice (an intake batch: "12 new").

    `items` are (title, link, source). A source with an item already open keeps it.
    """
    if isinstance(process, str):
        process = Process.objects.get(key=process)
    if not items:
        return
    source_type = ContentType.objects.get_for_model(items[0][2])
    now = timezone.now()
    WorkItem.objects.bulk_create(
        [
            WorkItem(
                process=process,
                title=title[:255],
                link=link,
                source_type=source_type,
                source_id=source.pk,
                created_at=now,
                due_at=now + process.target,
            )
            for title, link, source in items
        ],
        # An item already open for a source stays the one (the unique open-item index).
        ignore_conflicts=True,
    )
    _notify_new(
        process, [(title[:255], link) for title, link, _ in items], due_at=now + process.target
    )


def _work_item_finish(item: WorkItem, *, status: str) -> WorkItem:
    item.status = status
    item.closed_at = timezone.now()
    item.save(update_fields=["status", "closed_at"])
    return item


@transaction.atomic
def work_item_close(*, item_id: int, actor, status: str = WorkItem.Status.DONE) -> WorkItem:
    """Take an item out of its queue as done (or cancelled)."""
    item = WorkItem.objects.select_for_update().get(pk=item_id)
    if item.status != WorkItem.Status.OPEN:
        raise ValidationError("This item is already closed.")
    if status not in (WorkItem.Status.DONE, WorkItem.Status.CANCELLED):
        raise ValidationError("An item closes as done or cancelled.")
    return _work_item_finish(item, status=status)


@transaction.atomic
def work_item_claim(*, item_id: int, actor) -> WorkItem:
    """Claim an open item so colleagues see who is on it."""
    item = WorkItem.objects.select_for_update().get(pk=item_id)
    if item.status != WorkItem.Status.OPEN:
        raise ValidationError("This item is already closed.")
    if item.claimed_by_id not in (None, actor.pk):
        raise ValidationError(f"{_user_label(item.claimed_by)} has already claimed this item.")
    item.claimed_by = actor
    item.save(update_fields=["claimed_by"])
    return item


def work_item_escalate_late(*, now: datetime | None = None) -> int:
    """Escalate late items: first to whoever is on duty, then, a target time later, the backup.

    Each item is handled in its own transaction under a row lock (skip_locked), and its
    escalation level only moves forward, so a second run, or two at once, notify once.
    """
    from opsdesk.processes.selectors import process_on_duty_users

    now = now or timezone.now()
    candidates = list(
        WorkItem.objects.filter(
            status=WorkItem.Status.OPEN,
            due_at__lt=now,
            escalation__lt=WorkItem.Escalation.BACKUP,
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:ESCALATION_BATCH]
    )
    escalated = 0
    for item_id in candidates:
        with transaction.atomic():
            item = (
                WorkItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("process", "process__backup")
                .filter(pk=item_id, status=WorkItem.Status.OPEN)
                .first()
            )
            if item is None:
                continue
            process = item.process
            late_by = now - item.due_at
            if item.escalation == WorkItem.Escalation.NONE:
                users = process_on_duty_users(process=process, at=now)
                item.escalation = WorkItem.Escalation.ON_DUTY
                level = "late"
            elif late_by >= process.target:
                backup = process.backup
                users = (
                    [backup]
                    if backup is not None and backup.is_active
                    else list(
                        User.objects.filter(is_active=True, groups__name=Role.OWNER).distinct()
                    )
                )
                item.escalation = WorkItem.Escalation.BACKUP
                level = "still late"
            else:
                continue
            item.save(update_fields=["escalation"])
            _notify(
                process=process,
                users=users,
                subject=f"{level.capitalize()} in {process.name}: {item.title}",
                body=(
                    f"{item.title} was due {timezone.localtime(item.due_at):%a %d %b %H:%M} "
                    f"and is {_duration(late_by)} late (target {_duration(process.target)})."
                ),
                link=item.link or process.get_absolute_url(),
            )
            escalated += 1
    return escalated


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def process_review_due(*, now: datetime | None = None) -> int:
    """Open a review item for each periodic process whose review is due. Safe to run twice."""
    now = now or timezone.now()
    opened = 0
    periodic = Process.objects.filter(review_every_days__isnull=False)
    due = periodic.filter(
        Q(last_reviewed_at__isnull=True) | Q(last_reviewed_at__lt=now - timedelta(days=1))
    )
    for process in due:
        if process.next_review_at is not None and process.next_review_at > now:
            continue
        ct = ContentType.objects.get_for_model(Process)
        already = WorkItem.objects.filter(
            process=process, source_type=ct, source_id=process.pk, status=WorkItem.Status.OPEN
        ).exists()
        if already:
            continue
        work_item_open(
            process=process,
            title=f"Periodic review: {process.name}",
            link=process.get_absolute_url(),
            source=process,
        )
        opened += 1
    return opened
