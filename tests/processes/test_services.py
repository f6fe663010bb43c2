from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.processes import services
from opsdesk.processes.models import Process, ProcessEvent, Shift, ShiftChange, WorkItem
from tests.processes.factories import ShiftFactory, UserFactory, WorkItemFactory, process

pytestmark = pytest.mark.django_db


def notifications_for(user):
    from opsdesk.notifications.models import Notification

    return list(Notification.objects.filter(recipient=user).order_by("id"))


@pytest.fixture
def admin():
    return UserFactory(username="ada", roles=[Role.ADMIN])


@pytest.fixture
def staff():
    return [UserFactory(username=f"rev{i}", roles=[Role.ORDER_REVIEWER]) for i in range(3)]


def test_assign_sets_people_and_records_the_change(admin, staff):
    review = process("order_review")
    services.process_assign(
        process_id=review.pk,
        primary_id=staff[0].pk,
        backup_id=staff[1].pk,
        assignee_ids=[staff[2].pk],
        actor=admin,
    )
    review.refresh_from_db()
    assert (review.primary, review.backup) == (staff[0], staff[1])
    assert list(review.assignees.all()) == [staff[2]]
    event = review.events.get()
    assert event.type == ProcessEvent.Type.ASSIGNMENT_CHANGED
    assert event.actor == admin
    assert event.data["before"]["primary"] == ""
    assert event.data["after"]["backup"] == staff[1].get_full_name()


def test_assign_refuses_the_same_person_as_primary_and_backup(admin, staff):
    review = process("order_review")
    with pytest.raises(ValidationError, match="someone other than the primary"):
        services.process_assign(
            process_id=review.pk,
            primary_id=staff[0].pk,
            backup_id=staff[0].pk,
            assignee_ids=[],
            actor=admin,
        )
    review.refresh_from_db()
    assert review.primary is None and not review.events.exists()


def test_assign_refuses_an_inactive_person(admin, staff):
    staff[1].is_active = False
    staff[1].save()
    review = process("order_review")
    with pytest.raises(ValidationError, match=f"id {staff[1].pk}"):
        services.process_assign(
            process_id=review.pk,
            primary_id=staff[0].pk,
            backup_id=staff[1].pk,
            assignee_ids=[],
            actor=admin,
        )
    review.refresh_from_db()
    assert review.primary is None


def test_update_procedure_records_what_changed(admin):
    review = process("order_review")
    services.process_update_procedure(
        process_id=review.pk,
        procedure="# New",
        checklist=[" one ", "", "two"],
        target_minutes=30,
        review_every_days=None,
        actor=admin,
    )
    review.refresh_from_db()
    assert review.checklist == ["one", "two"]
    assert review.target_minutes == 30
    event = review.events.get()
    assert set(event.data["changed"]) == {"procedure", "checklist", "target_minutes"}


@pytest.mark.parametrize(
    ("target", "cadence", "field"),
    [(0, None, "target_minutes"), (-5, None, "target_minutes"), (10, 0, "review_every_days")],
)
def test_update_procedure_refuses_bad_numbers(admin, target, cadence, field):
    review = process("order_review")
    with pytest.raises(ValidationError) as exc:
        services.process_update_procedure(
            process_id=review.pk,
            procedure="x",
            checklist=[],
            target_minutes=target,
            review_every_days=cadence,
            actor=admin,
        )
    assert field in exc.value.error_dict
    review.refresh_from_db()
    assert review.procedure != "x"


def test_shift_add_and_remove(admin, staff):
    shift = services.shift_add(
        user_id=staff[0].pk, weekday=2, start=time(9), end=time(13), actor=admin
    )
    assert Shift.objects.get() == shift
    services.shift_remove(shift_id=shift.pk, actor=admin)
    assert not Shift.objects.exists()


def test_shift_add_refuses_end_before_start_and_overlaps(admin, staff):
    with pytest.raises(ValidationError, match="end must be after the start"):
        services.shift_add(user_id=staff[0].pk, weekday=0, start=time(17), end=time(9), actor=admin)
    ShiftFactory(user=staff[0], weekday=0, start=time(9), end=time(13))
    with pytest.raises(ValidationError, match="overlapping"):
        services.shift_add(
            user_id=staff[0].pk, weekday=0, start=time(12), end=time(15), actor=admin
        )
    assert Shift.objects.count() == 1


def test_shift_change_rules(admin, staff):
    whole_day = services.shift_change_add(
        user_id=staff[0].pk,
        on=date(2026, 12, 24),
        kind=ShiftChange.Kind.TIME_OFF,
        start=None,
        end=None,
        actor=admin,
    )
    assert whole_day.created_by == admin
    with pytest.raises(ValidationError, match="Cover needs its hours"):
        services.shift_change_add(
            user_id=staff[0].pk,
            on=date(2026, 12, 24),
            kind=ShiftChange.Kind.COVER,
            start=None,
            end=None,
            actor=admin,
        )
    with pytest.raises(ValidationError, match="both a start and an end"):
        services.shift_change_add(
            user_id=staff[0].pk,
            on=date(2026, 12, 24),
            kind=ShiftChange.Kind.TIME_OFF,
            start=time(9),
            end=None,
            actor=admin,
        )
    assert ShiftChange.objects.count() == 1
    services.shift_change_remove(change_id=whole_day.pk, actor=admin)
    assert not ShiftChange.objects.exists()


def test_work_item_open_is_due_within_the_target_and_notifies_on_duty(
    staff, django_capture_on_commit_callbacks
):
    review = process("order_review")
    review.primary = staff[0]
    review.save()
    with django_capture_on_commit_callbacks(execute=False):
        item = services.work_item_open(process="order_review", title="Order #1001", link="/o/1")
    assert item.due_at - item.created_at == timedelta(minutes=review.target_minutes)
    [note] = notifications_for(staff[0])
    assert "Order #1001" in note.subject


def test_work_item_open_twice_for_one_source_returns_the_open_item(staff):
    review = process("order_review")
    first = services.work_item_open(
        process=review, title="Review", source=staff[0], notify_on_duty=False
    )
    again = services.work_item_open(
        process=review, title="Review", source=staff[0], notify_on_duty=False
    )
    assert first == again
    assert WorkItem.objects.count() == 1


def test_claim_and_close(staff):
    item = WorkItemFactory()
    services.work_item_claim(item_id=item.pk, actor=staff[0])
    with pytest.raises(ValidationError, match="already claimed"):
        services.work_item_claim(item_id=item.pk, actor=staff[1])
    services.work_item_close(item_id=item.pk, actor=staff[1])
    item.refresh_from_db()
    assert item.status == WorkItem.Status.DONE and item.closed_at is not None
    with pytest.raises(ValidationError, match="already closed"):
        services.work_item_close(item_id=item.pk, actor=staff[1])


def test_escalation_notifies_on_duty_then_backup_once_each(staff):
    owner = UserFactory(username="olga", roles=[Role.OWNER])
    review = process("order_review")
    review.primary, review.backup = staff[0], staff[1]
    review.save()
    now = timezone.now()
    item = WorkItemFactory(process=review, due_at=now - timedelta(minutes=5))

    assert services.work_item_escalate_late(now=now) == 1
    assert services.work_item_escalate_late(now=now) == 0  # a second run changes nothing
    item.refresh_from_db()
    assert item.escalation == WorkItem.Escalation.ON_DUTY
    assert len(notifications_for(staff[0])) == 1
    assert notifications_for(staff[1]) == []

    later = now + review.target
    assert services.work_item_escalate_late(now=later) == 1
    assert services.work_item_escalate_late(now=later) == 0
    item.refresh_from_db()
    assert item.escalation == WorkItem.Escalation.BACKUP
    [to_backup] = notifications_for(staff[1])
    assert "Still late" in to_backup.subject
    assert notifications_for(owner) == []


def test_escalation_goes_to_owners_without_a_backup(staff):
    owner = UserFactory(username="olga", roles=[Role.OWNER])
    review = process("order_review")
    review.primary = staff[0]
    review.save()
    now = timezone.now()
    WorkItemFactory(
        process=review,
        due_at=now - review.target - timedelta(minutes=1),
        escalation=WorkItem.Escalation.ON_DUTY,
    )
    services.work_item_escalate_late(now=now)
    assert len(notifications_for(owner)) == 1


def test_items_not_yet_due_and_closed_items_are_not_escalated(staff):
    now = timezone.now()
    WorkItemFactory(due_at=now + timedelta(minutes=1))
    WorkItemFactory(due_at=now - timedelta(hours=1), status=WorkItem.Status.DONE)
    assert services.work_item_escalate_late(now=now) == 0


def test_review_due_opens_one_item_and_mark_reviewed_closes_it(admin):
    opened = services.process_review_due()
    periodic = Process.objects.filter(review_every_days__isnull=False).count()
    assert opened == periodic > 0
    assert services.process_review_due() == 0
    pos = process("pos_sync")
    services.process_mark_reviewed(process_id=pos.pk, actor=admin)
    pos.refresh_from_db()
    assert pos.last_reviewed_at is not None
    assert not WorkItem.objects.filter(process=pos, status=WorkItem.Status.OPEN).exists()
    assert pos.events.filter(type=ProcessEvent.Type.REVIEWED, actor=admin).exists()
    # Not due again until its cadence has passed.
    assert services.process_review_due() == 0
    later = timezone.now() + timedelta(days=pos.review_every_days, minutes=1)
    assert services.process_review_due(now=later) == 1
