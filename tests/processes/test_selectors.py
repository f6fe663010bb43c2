from datetime import UTC, date, datetime, time

import pytest

from opsdesk.core.roles import Role
from opsdesk.processes.models import Process, ShiftChange, WatchedHours, WorkItem
from opsdesk.processes.selectors import (
    process_list_with_assignments,
    process_on_duty_users,
    user_on_duty_processes,
    watched_hours_gaps,
    work_item_queue,
)
from tests.processes.factories import (
    ShiftChangeFactory,
    ShiftFactory,
    UserFactory,
    WorkItemFactory,
    process,
)

pytestmark = pytest.mark.django_db

# Monday 5 January 2026; the store is in America/New_York (UTC-5 in winter).
MONDAY = date(2026, 1, 5)


def utc(hour: int, minute: int = 0, second: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def people():
    primary = UserFactory(username="pat", roles=[Role.ORDER_REVIEWER])
    backup = UserFactory(username="bo", roles=[Role.ORDER_REVIEWER])
    worker = UserFactory(username="wren", roles=[Role.ORDER_REVIEWER])
    owner = UserFactory(username="olive", roles=[Role.OWNER])
    review = process("order_review")
    review.primary, review.backup = primary, backup
    review.save()
    review.assignees.set([worker])
    return {
        "primary": primary,
        "backup": backup,
        "worker": worker,
        "owner": owner,
        "process": review,
    }


def test_on_duty_is_the_assignee_on_shift(people):
    ShiftFactory(user=people["worker"], weekday=0, start=time(9), end=time(17))
    assert process_on_duty_users(process=people["process"], at=utc(15)) == [people["worker"]]


def test_on_duty_lists_everyone_on_shift_primary_first(people):
    ShiftFactory(user=people["worker"], weekday=0)
    ShiftFactory(user=people["primary"], weekday=0)
    on_duty = process_on_duty_users(process=people["process"], at=utc(15))
    assert on_duty == [people["primary"], people["worker"]]


def test_falls_back_to_primary_when_nobody_is_on_shift(people):
    ShiftFactory(user=people["worker"], weekday=1)  # Tuesday only
    assert process_on_duty_users(process=people["process"], at=utc(15)) == [people["primary"]]


def test_falls_back_to_backup_when_primary_is_off(people):
    ShiftChangeFactory(user=people["primary"], date=MONDAY, kind=ShiftChange.Kind.TIME_OFF)
    assert process_on_duty_users(process=people["process"], at=utc(15)) == [people["backup"]]


def test_falls_back_to_owners_when_nobody_is_assigned(people):
    review = people["process"]
    review.primary = review.backup = None
    review.save()
    review.assignees.clear()
    assert process_on_duty_users(process=review, at=utc(15)) == [people["owner"]]


def test_inactive_assignee_is_never_on_duty(people):
    ShiftFactory(user=people["worker"], weekday=0)
    people["worker"].is_active = False
    people["worker"].save()
    assert process_on_duty_users(process=people["process"], at=utc(15)) == [people["primary"]]


@pytest.mark.parametrize(
    ("moment", "on_shift"),
    [
        (utc(13, 59, 59), False),  # 08:59:59 in New York
        (utc(14, 0, 0), True),  # 09:00 opens the shift
        (utc(21, 59, 59), True),  # 16:59:59
        (utc(22, 0, 0), False),  # 17:00 closes it
    ],
)
def test_shift_edges_are_read_in_the_store_time_zone(people, moment, on_shift):
    ShiftFactory(user=people["worker"], weekday=0, start=time(9), end=time(17))
    on_duty = process_on_duty_users(process=people["process"], at=moment)
    assert (people["worker"] in on_duty) is on_shift


def test_weekday_is_the_local_one_across_utc_midnight(people):
    # Monday 23:30 in New York is already Tuesday 04:30 in UTC.
    ShiftFactory(user=people["worker"], weekday=0, start=time(22), end=time(23, 59))
    assert process_on_duty_users(
        process=people["process"], at=utc(4, 30, day=date(2026, 1, 6))
    ) == [people["worker"]]


def test_summer_time_moves_the_shift_in_utc(people):
    # Monday 6 July 2026: New York is UTC-4, so 09:00 local is 13:00 UTC.
    ShiftFactory(user=people["worker"], weekday=0, start=time(9), end=time(17))
    july = date(2026, 7, 6)
    assert people["worker"] in process_on_duty_users(
        process=people["process"], at=utc(13, day=july)
    )
    assert people["worker"] not in process_on_duty_users(
        process=people["process"], at=utc(12, 59, day=july)
    )


def test_time_off_for_some_hours_only_removes_those_hours(people):
    ShiftFactory(user=people["worker"], weekday=0, start=time(9), end=time(17))
    ShiftChangeFactory(
        user=people["worker"],
        date=MONDAY,
        kind=ShiftChange.Kind.TIME_OFF,
        start=time(12),
        end=time(14),
    )
    assert people["worker"] in process_on_duty_users(process=people["process"], at=utc(16))
    assert people["worker"] not in process_on_duty_users(process=people["process"], at=utc(17))


def test_cover_puts_someone_on_duty_for_that_date_only(people):
    ShiftChangeFactory(
        user=people["backup"], date=MONDAY, kind=ShiftChange.Kind.COVER, start=time(9), end=time(12)
    )
    assert process_on_duty_users(process=people["process"], at=utc(15)) == [people["backup"]]
    next_monday = date(2026, 1, 12)
    assert process_on_duty_users(process=people["process"], at=utc(15, day=next_monday)) == [
        people["primary"]
    ]


def test_my_work_lists_the_processes_a_user_is_on_duty_for(people):
    ShiftFactory(user=people["worker"], weekday=0)
    processes = user_on_duty_processes(user=people["worker"], at=utc(15))
    assert [p.key for p in processes] == ["order_review"]


def test_watched_hours_gaps_name_the_uncovered_part(people):
    review = people["process"]
    review.watched_hours.all().delete()
    WatchedHours.objects.create(process=review, weekday=0, start=time(9), end=time(17))
    ShiftFactory(user=people["worker"], weekday=0, start=time(9), end=time(12))
    ShiftFactory(user=people["primary"], weekday=0, start=time(13), end=time(16))
    gaps = watched_hours_gaps()
    assert gaps[review] == ["Monday 12:00–13:00", "Monday 16:00–17:00"]


def test_watched_hours_fully_covered_by_overlapping_shifts_have_no_gap(people):
    review = people["process"]
    review.watched_hours.all().delete()
    WatchedHours.objects.create(process=review, weekday=0, start=time(9), end=time(17))
    ShiftFactory(user=people["worker"], weekday=0, start=time(8), end=time(13))
    ShiftFactory(user=people["backup"], weekday=0, start=time(12), end=time(18))
    assert review not in watched_hours_gaps()


def test_shifts_of_people_not_on_the_process_do_not_cover_it(people):
    review = people["process"]
    review.watched_hours.all().delete()
    WatchedHours.objects.create(process=review, weekday=0, start=time(9), end=time(17))
    stranger = UserFactory(username="stranger", roles=[Role.BOOKKEEPER])
    ShiftFactory(user=stranger, weekday=0, start=time(9), end=time(17))
    assert watched_hours_gaps()[review] == ["Monday 09:00–17:00"]


def test_process_list_runs_a_fixed_number_of_queries(people, django_assert_max_num_queries):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            rows = process_list_with_assignments()
            [p.on_duty_now for p in rows]
        return len(ctx.captured_queries)

    few = count_queries()
    for key in Process.Key.values:
        extra = UserFactory(roles=[Role.MANAGER])
        p = process(key)
        p.assignees.add(extra)
        ShiftFactory(user=extra, weekday=0)
        WorkItemFactory.create_batch(3, process=p)
    assert count_queries() == few


def test_process_list_counts_open_and_late_items(people):
    review = people["process"]
    WorkItemFactory(process=review, due_at=utc(1, day=date(2020, 1, 1)))
    WorkItemFactory(process=review)
    WorkItemFactory(process=review, status=WorkItem.Status.DONE)
    row = next(p for p in process_list_with_assignments() if p.pk == review.pk)
    assert (row.open_count, row.late_count) == (2, 1)
    assert not row.unassigned
    other = next(p for p in process_list_with_assignments() if p.key == "bookkeeping")
    assert other.unassigned


def test_work_item_queue_is_oldest_due_first_and_open_only(people):
    review = people["process"]
    later = WorkItemFactory(process=review, due_at=utc(12, day=date(2030, 1, 2)))
    sooner = WorkItemFactory(process=review, due_at=utc(12, day=date(2030, 1, 1)))
    WorkItemFactory(process=review, status=WorkItem.Status.DONE)
    assert work_item_queue(processes=[review])[review.pk] == [sooner, later]


@pytest.mark.parametrize("compound_limits", [True, False], ids=["postgresql", "sqlite"])
def test_work_item_queue_limits_each_process(people, monkeypatch, compound_limits):
    from django.db import connection

    # SQLite, the embedded default, can't limit the parts of a UNION; the queue reads the
    # same items there, one query per process.
    monkeypatch.setattr(
        connection.features, "supports_slicing_ordering_in_compound", compound_limits
    )
    review = people["process"]
    other = Process.objects.get(key="bookkeeping")
    mine = [WorkItemFactory(process=review, due_at=utc(9, day=date(2030, 1, d))) for d in (3, 1, 2)]
    theirs = WorkItemFactory(process=other)

    queues = work_item_queue(processes=[review, other], limit=2)

    assert queues[review.pk] == [mine[1], mine[2]]
    assert queues[other.pk] == [theirs]
