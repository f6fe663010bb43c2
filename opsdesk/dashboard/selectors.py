"""Reads for the owner's dashboard and daily summary.

Processes are read through opsdesk.processes' selectors. The notification deliveries are
read through the app registry, so the dashboard still renders without that app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, prefetch_related_objects
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone

from opsdesk.core.models import SweepRun
from opsdesk.core.roles import Role
from opsdesk.dashboard.models import DailySummarySchedule
from opsdesk.processes.models import Process, WorkItem
from opsdesk.processes.readiness import readiness_run
from opsdesk.processes.selectors import process_list_with_assignments

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

DAILY_SUMMARY_SWEEP = "daily-summary"
CHART_DAYS = 14
# Geometry of the server-rendered SVG bar chart (the CSP allows no inline styles, so bar
# sizes are SVG attributes, computed here rather than in the template).
CHART_BAR_WIDTH = 18
CHART_BAR_GAP = 6
CHART_PLOT_HEIGHT = 100
CHART_LABEL_HEIGHT = 16


def _store_tz() -> ZoneInfo:
    return timezone.get_default_timezone()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The aware start and end of a calendar day in the store's time zone."""
    tz = _store_tz()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


# --- the daily summary's schedule -------------------------------------------------------


def daily_summary_schedule_get() -> DailySummarySchedule:
    """The schedule row, or an unsaved one with the defaults when nobody has saved it yet."""
    schedule = DailySummarySchedule.objects.select_related("updated_by").first()
    return schedule or DailySummarySchedule()


def daily_summary_last_sent_at() -> datetime | None:
    """When the most recent daily summary was claimed for sending, if ever."""
    return (
        SweepRun.objects.filter(name=DAILY_SUMMARY_SWEEP)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def daily_summary_recipients() -> list[AbstractUser]:
    """Active users in the Owner group: the people the daily summary is for."""
    user_model = get_user_model()
    return list(
        user_model.objects.filter(is_active=True, groups__name=Role.OWNER).distinct().order_by("pk")
    )


# --- per process ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessRow:
    process: Process
    open_count: int
    late_count: int
    oldest_open_at: datetime | None
    on_duty: list[Any]

    @property
    def nobody_assigned(self) -> bool:
        p = self.process
        return p.primary_id is None and p.backup_id is None and not p.assignees.all()

    @property
    def missing_primary(self) -> bool:
        return self.process.primary_id is None

    @property
    def missing_backup(self) -> bool:
        return self.process.backup_id is None


def dashboard_process_rows() -> list[ProcessRow]:
    """Every process with its open and late work items, the oldest open one, and who is on
    duty now: a fixed number of queries, however many work items, people and shifts.

    The counts and the on-duty people come from the Processes page's selector, so both
    pages always agree.
    """
    processes = process_list_with_assignments()
    # A no-op when the processes selector prefetched them already.
    prefetch_related_objects(processes, "assignees")
    return [
        ProcessRow(
            process=p,
            open_count=p.open_count,
            late_count=p.late_count,
            oldest_open_at=p.oldest_open_at,
            on_duty=list(p.on_duty_now),
        )
        for p in processes
    ]


# --- work items opened per day ------------------------------------------------------------


@dataclass(frozen=True)
class ChartBar:
    day: date
    count: int
    x: int
    y: int
    height: int
    label_x: int


@dataclass(frozen=True)
class OpenedChart:
    bars: list[ChartBar]
    total: int
    peak: int
    width: int
    height: int
    plot_height: int
    bar_width: int


def work_items_opened_per_day(
    *, days: int = CHART_DAYS, now: datetime | None = None
) -> OpenedChart:
    """Work items opened on each of the last `days` local days (today included): one query."""
    today = timezone.localtime(now or timezone.now(), _store_tz()).date()
    first = today - timedelta(days=days - 1)
    start, _ = local_day_bounds(first)
    _, end = local_day_bounds(today)
    counts = {
        row["day"]: row["n"]
        for row in WorkItem.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=_store_tz()))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
    }
    peak = max(counts.values(), default=0)
    step = CHART_BAR_WIDTH + CHART_BAR_GAP
    bars = []
    for i in range(days):
        day = first + timedelta(days=i)
        n = counts.get(day, 0)
        # A day with items always shows at least a sliver; an empty day shows nothing.
        height = round(n / peak * CHART_PLOT_HEIGHT) if peak else 0
        if n and height < 2:
            height = 2
        x = i * step + CHART_BAR_GAP // 2
        bars.append(
            ChartBar(
                day=day,
                count=n,
                x=x,
                y=CHART_PLOT_HEIGHT - height,
                height=height,
                label_x=x + CHART_BAR_WIDTH // 2,
            )
        )
    return OpenedChart(
        bars=bars,
        total=sum(counts.values()),
        peak=peak,
        width=days * step,
        height=CHART_PLOT_HEIGHT + CHART_LABEL_HEIGHT,
        plot_height=CHART_PLOT_HEIGHT,
        bar_width=CHART_BAR_WIDTH,
    )


# --- notification deliveries --------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryCounts:
    pending: int
    failed: int


DELIVERY_MODEL = ("notifications", "EmailDelivery")
# Waiting to go out: not yet claimed, or claimed by a sender that has not finished.
DELIVERY_PENDING = ("pending", "sending")
DELIVERY_FAILED = ("failed",)


def delivery_counts() -> DeliveryCounts | None:
    """E-mail deliveries of notifications waiting to go out and failed (one query).

    None when the notifications app (or its model) is not installed.
    """
    try:
        delivery_model = apps.get_model(*DELIVERY_MODEL)
    except LookupError:
        return None
    agg = delivery_model.objects.aggregate(
        pending=Count("pk", filter=Q(status__in=DELIVERY_PENDING)),
        failed=Count("pk", filter=Q(status__in=DELIVERY_FAILED)),
    )
    return DeliveryCounts(pending=agg["pending"], failed=agg["failed"])


# --- launch readiness -----------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessSummary:
    passed: int
    total: int
    failing: list[Any] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.total > 0 and self.passed == self.total


def readiness_summary() -> ReadinessSummary:
    """How many launch-readiness checks pass, and the failing ones."""
    results = list(readiness_run())
    failing = [r for r in results if not r.ok]
    return ReadinessSummary(passed=len(results) - len(failing), total=len(results), failing=failing)


# --- the whole page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    readiness: ReadinessSummary
    processes: list[ProcessRow]
    chart: OpenedChart
    deliveries: DeliveryCounts | None
    schedule: DailySummarySchedule
    summary_last_sent_at: datetime | None

    @property
    def unassigned(self) -> list[ProcessRow]:
        return [row for row in self.processes if row.nobody_assigned]

    @property
    def open_total(self) -> int:
        return sum(row.open_count for row in self.processes)

    @property
    def late_total(self) -> int:
        return sum(row.late_count for row in self.processes)


def dashboard_get(*, now: datetime | None = None) -> Dashboard:
    """Everything the owner's dashboard shows, computed in a bounded number of queries."""
    now = now or timezone.now()
    return Dashboard(
        now=now,
        readiness=readiness_summary(),
        processes=dashboard_process_rows(),
        chart=work_items_opened_per_day(now=now),
        deliveries=delivery_counts(),
        schedule=daily_summary_schedule_get(),
        summary_last_sent_at=daily_summary_last_sent_at(),
    )


# --- the daily summary's content ---------------------------------------------------------


@dataclass(frozen=True)
class SummaryProcessLine:
    process: Process
    opened: int
    closed: int
    late: int


@dataclass(frozen=True)
class DailySummary:
    day: date
    lines: list[SummaryProcessLine]
    readiness: ReadinessSummary
    deliveries: DeliveryCounts | None

    @property
    def opened(self) -> int:
        return sum(line.opened for line in self.lines)

    @property
    def closed(self) -> int:
        return sum(line.closed for line in self.lines)

    @property
    def late(self) -> int:
        return sum(line.late for line in self.lines)


def daily_summary_build(*, day: date) -> DailySummary:
    """The summary of one local day: per process, work items opened, closed and late.

    "Late" counts the items that were past their due time at some moment of that day:
    due before the day ended, and not closed before the later of their due time and the
    day's start.
    """
    start, end = local_day_bounds(day)
    late_q = Q(due_at__lt=end) & (
        Q(closed_at__isnull=True) | Q(closed_at__gt=Greatest("due_at", start))
    )
    stats = {
        row["process_id"]: row
        for row in WorkItem.objects.filter(created_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .order_by()
        .values("process_id")
        .annotate(
            opened=Count("id", filter=Q(created_at__gte=start)),
            closed=Count("id", filter=Q(closed_at__gte=start, closed_at__lt=end)),
            late=Count("id", filter=late_q),
        )
    }
    lines = [
        SummaryProcessLine(
            process=p,
            opened=stats.get(p.pk, {}).get("opened", 0),
            closed=stats.get(p.pk, {}).get("closed", 0),
            late=stats.get(p.pk, {}).get("late", 0),
        )
        for p in Process.objects.order_by("id").only("id", "key", "name")
    ]
    return DailySummary(
        day=day, lines=lines, readiness=readiness_summary(), deliveries=delivery_counts()
    )
