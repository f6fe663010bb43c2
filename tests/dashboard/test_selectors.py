from datetime import date, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.dashboard import selectors
from opsdesk.dashboard.selectors import (
    daily_summary_build,
    daily_summary_schedule_get,
    dashboard_get,
    dashboard_process_rows,
    delivery_counts,
    work_items_opened_per_day,
)
from opsdesk.notifications.models import EmailDelivery
from opsdesk.processes.models import Shift, WorkItem
from tests.dashboard.factories import (
    EmailDeliveryFactory,
    UserFactory,
    WorkItemFactory,
    aware,
    process,
)

pytestmark = pytest.mark.django_db


def _row(rows, key):
    return next(row for row in rows if row.process.key == key)


def _staff_process(key: str, role: Role, *, on_shift_now: bool) -> None:
    """Give a process a primary, a backup and an assignee, the primary on shift now."""
    primary, backup, extra = (UserFactory(roles=[role]) for _ in range(3))
    p = process(key)
    p.primary, p.backup = primary, backup
    p.save()
    p.assignees.set([primary, extra])
    if on_shift_now:
        local = timezone.localtime()
        Shift.objects.create(user=primary, weekday=local.weekday(), start=time(0), end=time(23, 59))


def test_process_rows_count_open_late_and_oldest_per_process():
    now = timezone.now()
    review = process("order_review")
    oldest = WorkItemFactory(
        process=review, created_at=now - timedelta(hours=5), due_at=now - timedelta(hours=1)
    )
    WorkItemFactory(
        process=review, created_at=now - timedelta(hours=1), due_at=now + timedelta(hours=1)
    )
    WorkItemFactory(
        process=review,
        created_at=now - timedelta(days=3),
        due_at=now - timedelta(days=2),
        status=WorkItem.Status.DONE,
        closed_at=now - timedelta(days=2),
    )

    rows = dashboard_process_rows()

    assert len(rows) == 15
    row = _row(rows, "order_review")
    assert (row.open_count, row.late_count) == (2, 1)
    assert row.oldest_open_at == oldest.created_at
    empty = _row(rows, "returns")
    assert (empty.open_count, empty.late_count, empty.oldest_open_at) == (0, 0, None)


def test_process_rows_flag_processes_with_nobody_assigned():
    _staff_process("order_review", Role.ORDER_REVIEWER, on_shift_now=True)
    half = process("returns")
    half.primary = UserFactory(roles=[Role.CUSTOMER_SERVICE])
    half.save()

    rows = dashboard_process_rows()

    staffed = _row(rows, "order_review")
    assert not staffed.nobody_assigned
    assert staffed.on_duty == [staffed.process.primary]
    only_primary = _row(rows, "returns")
    assert not only_primary.nobody_assigned
    assert only_primary.missing_backup and not only_primary.missing_primary
    assert _row(rows, "bookkeeping").nobody_assigned


def test_process_rows_take_a_fixed_number_of_queries(django_assert_num_queries):
    _staff_process("order_review", Role.ORDER_REVIEWER, on_shift_now=True)
    WorkItemFactory(process=process("order_review"))
    with CaptureQueriesContext(connection) as baseline:
        dashboard_process_rows()

    for key, role in (("returns", Role.CUSTOMER_SERVICE), ("receiving", Role.INVENTORY)):
        _staff_process(key, role, on_shift_now=True)
        WorkItemFactory.create_batch(3, process=process(key))
        WorkItemFactory(process=process(key), due_at=timezone.now() - timedelta(minutes=5))

    with django_assert_num_queries(len(baseline)):
        rows = dashboard_process_rows()
        # Reading what the template reads must not query either.
        for row in rows:
            _ = (row.nobody_assigned, [u.get_full_name() for u in row.on_duty])
            _ = (row.process.primary, row.process.backup)


@time_machine.travel(aware(2026, 3, 10, 15, 0), tick=False)  # 11:00 in New York (EDT)
def test_opened_per_day_counts_by_local_day_over_fourteen_days():
    # 02:00 UTC on the 10th is 22:00 on the 9th in New York.
    WorkItemFactory(created_at=aware(2026, 3, 10, 2, 0))
    WorkItemFactory(created_at=aware(2026, 3, 10, 14, 0))
    WorkItemFactory(created_at=aware(2026, 3, 10, 14, 30))
    # 00:30 EST on Feb 25: the first day shown. The day before is not shown.
    WorkItemFactory(created_at=aware(2026, 2, 25, 5, 30))
    WorkItemFactory(created_at=aware(2026, 2, 25, 4, 30))

    chart = work_items_opened_per_day()

    assert len(chart.bars) == 14
    assert chart.bars[0].day == date(2026, 2, 25)
    assert chart.bars[-1].day == date(2026, 3, 10)
    counts = {bar.day: bar.count for bar in chart.bars if bar.count}
    assert counts == {date(2026, 2, 25): 1, date(2026, 3, 9): 1, date(2026, 3, 10): 2}
    assert (chart.total, chart.peak) == (4, 2)
    today = chart.bars[-1]
    assert today.height == chart.plot_height and today.y == 0
    assert chart.bars[-2].height == chart.plot_height // 2
    assert chart.bars[1].height == 0


def test_opened_per_day_is_one_query(django_assert_num_queries):
    WorkItemFactory.create_batch(5)
    with django_assert_num_queries(1):
        work_items_opened_per_day()


def test_delivery_counts_pending_and_failed(django_assert_num_queries):
    EmailDeliveryFactory(status=EmailDelivery.Status.PENDING)
    EmailDeliveryFactory(status=EmailDelivery.Status.SENDING, claimed_at=timezone.now())
    EmailDeliveryFactory(status=EmailDelivery.Status.FAILED)
    EmailDeliveryFactory(status=EmailDelivery.Status.SENT, sent_at=timezone.now())

    with django_assert_num_queries(1):
        counts = delivery_counts()

    assert (counts.pending, counts.failed) == (2, 1)


def test_delivery_counts_are_none_without_the_notifications_model(monkeypatch):
    monkeypatch.setattr(selectors, "DELIVERY_MODEL", ("notifications", "NoSuchModel"))
    assert delivery_counts() is None


def test_schedule_defaults_to_half_past_seven_without_a_row():
    schedule = daily_summary_schedule_get()
    assert schedule.pk == 1 and schedule._state.adding
    assert (schedule.send_at, schedule.enabled) == (time(7, 30), True)


def test_dashboard_takes_a_fixed_number_of_queries(django_assert_num_queries):
    _staff_process("order_review", Role.ORDER_REVIEWER, on_shift_now=True)
    WorkItemFactory()
    EmailDeliveryFactory()
    with CaptureQueriesContext(connection) as baseline:
        dashboard_get()

    _staff_process("returns", Role.CUSTOMER_SERVICE, on_shift_now=True)
    WorkItemFactory.create_batch(5, process=process("returns"))
    EmailDeliveryFactory.create_batch(3, status=EmailDelivery.Status.FAILED)

    with django_assert_num_queries(len(baseline)):
        dashboard = dashboard_get()
    assert dashboard.readiness.total >= 1
    assert dashboard.deliveries.failed == 3


def test_dashboard_readiness_counts_passing_checks():
    readiness = dashboard_get().readiness
    assert readiness.passed + len(readiness.failing) == readiness.total
    assert not readiness.ready  # nobody is assigned in an empty store
    assert "Every process has a primary and a backup" in [c.name for c in readiness.failing]


def test_daily_summary_counts_a_local_day_opened_closed_and_late():
    # Monday March 9, 2026 in New York (EDT): 04:00 UTC on the 9th to 04:00 UTC on the 10th.
    review = process("order_review")

    def item(created, due, closed=None):
        return WorkItemFactory(
            process=review,
            created_at=created,
            due_at=due,
            closed_at=closed,
            status=WorkItem.Status.DONE if closed else WorkItem.Status.OPEN,
        )

    item(aware(2026, 3, 9, 14), aware(2026, 3, 10, 14))  # opened, due after the day
    item(aware(2026, 3, 10, 2), aware(2026, 3, 10, 2, 30), aware(2026, 3, 10, 3))  # all three
    item(aware(2026, 3, 8), aware(2026, 3, 9, 10), aware(2026, 3, 9, 9))  # closed in time
    item(aware(2026, 3, 7), aware(2026, 3, 8))  # late all day, still open
    item(aware(2026, 3, 7), aware(2026, 3, 8), aware(2026, 3, 9, 5))  # late, closed that day
    item(aware(2026, 3, 7), aware(2026, 3, 8), aware(2026, 3, 9, 3))  # closed the day before
    item(aware(2026, 3, 10, 5), aware(2026, 3, 10, 6))  # the next local day

    summary = daily_summary_build(day=date(2026, 3, 9))

    line = next(line for line in summary.lines if line.process.key == "order_review")
    assert (line.opened, line.closed, line.late) == (2, 3, 3)
    assert (summary.opened, summary.closed, summary.late) == (2, 3, 3)
    assert len(summary.lines) == 15
