"""Reads about processes, people and shifts: who is on duty, coverage, queues."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from opsdesk.core.cached import cached
from opsdesk.core.roles import Role
from opsdesk.processes.models import Process, Shift, ShiftChange, WatchedHours, Weekday, WorkItem

User = get_user_model()


TARGETS_KEY = "opsdesk:processes:target-minutes"


def process_target(key: str) -> timedelta | None:
    """How long a process's work may wait before it is late (None: no such process). Every
    queue asks on every page, so the targets are kept in the cache (opsdesk.core.cached)."""
    targets = cached(TARGETS_KEY, _target_minutes)
    minutes = targets.get(key)
    return timedelta(minutes=minutes) if minutes else None


def _target_minutes() -> dict[str, int]:
    return dict(Process.objects.values_list("key", "target_minutes"))


def store_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def store_now(at: datetime | None = None) -> datetime:
    """`at` (or now) in the store's time zone."""
    return (at or timezone.now()).astimezone(store_tz())


@dataclass
class Roster:
    """Who works at one moment, in the store's time zone: shifts, cover and time off."""

    at: datetime
    working: set[int] = field(default_factory=set)
    off: set[int] = field(default_factory=set)

    @classmethod
    def at_moment(cls, at: datetime | None = None) -> "Roster":
        local = store_now(at)
        now_t, today = local.time(), local.date()
        roster = cls(at=local)
        roster.working = set(
            Shift.objects.filter(
                weekday=local.weekday(), start__lte=now_t, end__gt=now_t
            ).values_list("user_id", flat=True)
        )
        for change in ShiftChange.objects.filter(date=today):
            whole_day = change.start is None
            covers_now = whole_day or change.start <= now_t < change.end
            if not covers_now:
                continue
            if change.kind == ShiftChange.Kind.TIME_OFF:
                roster.off.add(change.user_id)
            else:
                roster.working.add(change.user_id)
        roster.working -= roster.off
        return roster

    def on_shift(self, user) -> bool:
        return user is not None and user.is_active and user.pk in self.working

    def available(self, user) -> bool:
        """Reachable as a fall-back: active and not on time off right now."""
        return user is not None and user.is_active and user.pk not in self.off


def _owners() -> list:
    return list(
        User.objects.filter(is_active=True, groups__name=Role.OWNER).order_by("id").distinct()
    )


def _on_duty(process: Process, roster: Roster, owners: list) -> list:
    candidates = [process.primary, process.backup, *process.assignees.all()]
    seen: set[int] = set()
    on_duty = []
    for user in candidates:
        if user is not None and user.pk not in seen and roster.on_shift(user):
            seen.add(user.pk)
            on_duty.append(user)
    if on_duty:
        return on_duty
    for fallback in (process.primary, process.backup):
        if roster.available(fallback):
            return [fallback]
    return [owner for owner in owners if roster.available(owner)] or owners


def _processes_with_people() -> QuerySet[Process]:
    return Process.objects.select_related("primary", "backup", "owner_role").prefetch_related(
        Prefetch("assignees", queryset=User.objects.order_by("first_name", "username"))
    )


def process_on_duty_users(*, process: Process, at: datetime | None = None) -> list:
    """Who is on duty for `process` at `at`: on-shift assignees, else primary, backup, owners."""
    process = _processes_with_people().get(pk=process.pk)
    return _on_duty(process, Roster.at_moment(at), _owners())


def process_on_duty_map(*, at: datetime | None = None) -> dict[int, list]:
    """On-duty users for every process, in a fixed number of queries."""
    roster = Roster.at_moment(at)
    owners = _owners()
    return {p.pk: _on_duty(p, roster, owners) for p in _processes_with_people()}


def process_list_with_assignments() -> list[Process]:
    """The catalogue for the Processes page: people, open and late counts, on duty now."""
    now = timezone.now()
    processes = list(_processes_with_people())
    # One grouped pass over the open items (a partial index), not a join per process.
    counts = {
        row["process_id"]: row
        for row in WorkItem.objects.filter(status=WorkItem.Status.OPEN)
        .values("process_id")
        .annotate(
            open_count=Count("id"),
            late_count=Count("id", filter=Q(due_at__lt=now)),
            oldest_open_at=Min("created_at"),
        )
        .order_by()
    }
    roster = Roster.at_moment(now)
    owners = _owners()
    for process in processes:
        row = counts.get(process.pk, {})
        process.open_count = row.get("open_count", 0)
        process.late_count = row.get("late_count", 0)
        process.oldest_open_at = row.get("oldest_open_at")
        process.on_duty_now = _on_duty(process, roster, owners)
        process.unassigned = process.primary_id is None or process.backup_id is None
    return processes


def process_get_for_detail(*, key: str) -> Process:
    return _processes_with_people().prefetch_related("watched_hours").get(key=key)


def process_visible_to(*, process: Process, user) -> bool:
    """Its staff read a process's procedure: its role, its people, and the oversight roles."""
    from opsdesk.core.roles import OVERSIGHT_ROLES, user_roles

    roles = user_roles(user)
    if roles & set(OVERSIGHT_ROLES) or process.owner_role.name in roles:
        return True
    people = {process.primary_id, process.backup_id}
    return user.pk in people or process.assignees.filter(pk=user.pk).exists()


def user_on_duty_processes(*, user, at: datetime | None = None) -> list[Process]:
    """The processes `user` is on duty for now (what "My work" shows)."""
    duty = process_on_duty_map(at=at)
    ids = [pid for pid, people in duty.items() if any(u.pk == user.pk for u in people)]
    return list(Process.objects.filter(pk__in=ids).order_by("id"))


def work_item_queue(*, processes: Iterable[Process], limit: int = 25) -> dict[int, list[WorkItem]]:
    """The first `limit` open items of each process, oldest due first, in two queries.

    One UNION ALL of per-process LIMIT queries picks the ids (each walks the
    (process, status, due_at) index, however long the queue), then one query loads them.
    SQLite (the embedded default) can't limit the parts of a UNION: there each process's
    ids are picked by a query of their own.
    """
    ids = [p.pk for p in processes]
    items: dict[int, list[WorkItem]] = defaultdict(list)
    if not ids:
        return items
    open_items = WorkItem.objects.filter(status=WorkItem.Status.OPEN).order_by("due_at", "id")
    # A compound query orders by selected columns only, hence due_at beside the id.
    parts = [open_items.filter(process_id=pid).values_list("pk", "due_at")[:limit] for pid in ids]
    if len(parts) == 1:
        picked = list(parts[0])
    elif connection.features.supports_slicing_ordering_in_compound:
        picked = list(parts[0].union(*parts[1:], all=True))
    else:
        picked = [row for part in parts for row in part]
    rows = (
        WorkItem.objects.filter(pk__in=[pk for pk, _due in picked])
        .select_related("claimed_by")
        .order_by("due_at", "id")
    )
    for item in rows:
        items[item.process_id].append(item)
    return items


# Shifts and coverage -------------------------------------------------------------------


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shift_week_grid(*, week_of: date | None = None) -> dict:
    """The Shifts page: for each person, each day of the week, their shifts and changes."""
    monday = _week_start(week_of or store_now().date())
    days = [monday + timedelta(days=i) for i in range(7)]
    people = list(
        User.objects.filter(is_active=True)
        .filter(Q(shifts__isnull=False) | Q(groups__isnull=False))
        .distinct()
        .prefetch_related("groups")
        .order_by("first_name", "username")
    )
    shifts = defaultdict(list)
    for shift in Shift.objects.all():
        shifts[(shift.user_id, shift.weekday)].append(shift)
    changes = defaultdict(list)
    for change in ShiftChange.objects.filter(date__range=(days[0], days[-1])).order_by(
        "date", "start"
    ):
        changes[(change.user_id, change.date)].append(change)
    rows = []
    for person in people:
        cells = []
        for day in days:
            cells.append(
                {
                    "date": day,
                    "shifts": shifts.get((person.pk, day.weekday()), []),
                    "changes": changes.get((person.pk, day), []),
                }
            )
        rows.append({"person": person, "cells": cells})
    return {"monday": monday, "days": days, "rows": rows}


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _uncovered(start: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [start, end) that the sorted `spans` leave uncovered."""
    gaps, cursor = [], start
    for span_start, span_end in spans:
        if span_end <= cursor:
            continue
        if span_start >= end:
            break
        if span_start > cursor:
            gaps.append((cursor, span_start))
        cursor = max(cursor, span_end)
        if cursor >= end:
            return gaps
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def watched_hours_gaps() -> dict[Process, list[str]]:
    """For each process, the parts of its watched hours no rostered shift of its people covers."""
    processes = list(_processes_with_people().prefetch_related("watched_hours"))
    shifts_by_user: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for shift in Shift.objects.filter(user__is_active=True):
        shifts_by_user[(shift.user_id, shift.weekday)].append(
            (_minutes(shift.start), _minutes(shift.end))
        )
    gaps: dict[Process, list[str]] = {}
    for process in processes:
        people = {u.pk for u in (process.primary, process.backup) if u is not None}
        people |= {u.pk for u in process.assignees.all()}
        missing = []
        for window in process.watched_hours.all():
            covered = sorted(
                span for uid in people for span in shifts_by_user.get((uid, window.weekday), [])
            )
            day = Weekday(window.weekday).label
            for start, stop in _uncovered(_minutes(window.start), _minutes(window.end), covered):
                missing.append(f"{day} {_fmt(start)}–{_fmt(stop)}")
        if missing:
            gaps[process] = missing
    return gaps


def watched_hours_for(process: Process) -> list[WatchedHours]:
    return list(process.watched_hours.all())
