from datetime import time
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from opsdesk.core.roles import ALL_ROLES, Role
from opsdesk.notifications.models import MailTest
from opsdesk.processes.models import (
    Process,
    ProcessEvent,
    Shift,
    ShiftChange,
    WatchedHours,
    WorkItem,
)
from opsdesk.processes.readiness import readiness_run
from opsdesk.processes.selectors import watched_hours_gaps

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed(settings) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "users": sorted(User.objects.values_list("username", "password")),
        "groups": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "processes": sorted(Process.objects.values_list("id", "primary_id", "backup_id")),
        "assignees": sorted(Process.assignees.through.objects.values_list("process_id", "user_id")),
        "events": ProcessEvent.objects.count(),
        "shifts": sorted(Shift.objects.values_list("user_id", "weekday", "start", "end")),
        "changes": sorted(ShiftChange.objects.values_list("user_id", "date", "kind", "start")),
        "items": sorted(WorkItem.objects.values_list("process_id", "title", "due_at")),
        "mail_tests": MailTest.objects.count(),
    }


def test_seed_demo_twice_loads_the_store_once(settings, mailoutbox):
    first_out = seed(settings)
    first = snapshot()
    second_out = seed(settings)

    assert snapshot() == first
    assert "nothing changed" in second_out
    assert "open http://127.0.0.1:8000" in first_out

    # A user for every role, two in the busy ones.
    for role in ALL_ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert User.objects.filter(groups__name=Role.ORDER_REVIEWER).count() == 2
    assert User.objects.filter(groups__name=Role.FULFILLMENT).count() == 2
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("demo-admin-2026")
    owner = User.objects.get(username="owner")
    assert owner.email.endswith("@example.com") and owner.get_full_name()
    assert "owner" in first_out and "demo-owner-2026" in first_out

    # Every process has a primary and a backup, different people.
    for process in Process.objects.all():
        assert process.primary_id and process.backup_id, process.key
        assert process.primary_id != process.backup_id

    # Time off next week, covered by a colleague; a test message sent (and recorded).
    assert ShiftChange.objects.filter(kind=ShiftChange.Kind.TIME_OFF).count() == 2
    assert ShiftChange.objects.filter(kind=ShiftChange.Kind.COVER).count() == 2
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [owner.email]
    assert WorkItem.objects.filter(status=WorkItem.Status.OPEN).count() >= 5

    assert watched_hours_gaps() == {}
    failing = [(r.name, r.detail) for r in readiness_run() if not r.ok]
    assert failing == []


def test_seed_demo_keeps_what_people_changed(settings):
    seed(settings)
    review = Process.objects.get(key="order_review")
    review.backup = User.objects.get(username="manager")
    review.save()
    posted = WorkItem.objects.filter(title="Post the holiday opening hours on the website")
    posted.update(status=WorkItem.Status.DONE)
    Shift.objects.filter(user__username="content", weekday=0).delete()

    seed(settings)

    review.refresh_from_db()
    assert review.backup.username == "manager"
    assert posted.count() == 1
    assert not Shift.objects.filter(user__username="content", weekday=0).exists()


def test_seed_demo_rosters_cover_watched_hours_nobody_usually_works(settings):
    review = Process.objects.get(key="order_review")
    WatchedHours.objects.create(process=review, weekday=6, start=time(10), end=time(14))

    seed(settings)

    assert watched_hours_gaps() == {}
    sunday = Shift.objects.get(weekday=6)
    assert (sunday.start, sunday.end) == (time(10), time(14))
    assert sunday.user.groups.filter(name=Role.ORDER_REVIEWER).exists()


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
