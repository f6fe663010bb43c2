"""Each launch check fails on a store missing what it checks, and passes once it is there."""

from datetime import time

import pytest
from django.core.management import call_command

from opsdesk.core.roles import Role
from opsdesk.notifications.models import MailTest
from opsdesk.processes.models import Process, Shift, WatchedHours
from opsdesk.processes.readiness import readiness_run
from tests.processes.factories import UserFactory

pytestmark = pytest.mark.django_db


def result(key):
    return next(r for r in readiness_run() if r.key == key)


@pytest.fixture
def staffed():
    """Every process has a primary and a backup, each rostered for every watched hour."""
    primary = UserFactory(username="pia", roles=[Role.MANAGER])
    backup = UserFactory(username="bo", roles=[Role.MANAGER])
    Process.objects.update(primary=primary, backup=backup)
    for day in range(7):
        Shift.objects.create(user=primary, weekday=day, start=time(0), end=time(23, 59))
    WatchedHours.objects.filter(end__gt=time(23, 59)).delete()
    return primary, backup


def test_people_check_fails_naming_the_process_without_a_backup(staffed):
    assert result("process-people").ok
    Process.objects.filter(key="refunds").update(backup=None)
    check = result("process-people")
    assert not check.ok
    assert "Refunds" in check.detail
    assert check.fix_url == "/processes/refunds/edit/"


def test_watched_hours_check_fails_on_an_uncovered_hour(staffed):
    assert result("watched-hours").ok
    Shift.objects.filter(weekday=2).delete()
    check = result("watched-hours")
    assert not check.ok
    assert "Wednesday 09:00–17:00" in check.detail


def test_mail_check_needs_a_real_sender_and_a_sent_test_message(settings):
    check = result("mail")
    assert not check.ok and "No test message" in check.detail
    MailTest.objects.create(to="owner@example.com", ok=False, error="refused")
    assert not result("mail").ok
    MailTest.objects.create(to="owner@example.com", ok=True)
    assert result("mail").ok
    settings.DEFAULT_FROM_EMAIL = "opsdesk@localhost"
    assert "not a real address" in result("mail").detail


def test_launch_check_command_passes_on_the_demo_store(capsys, settings):
    settings.DEBUG = True  # seed_demo refuses to publish demo passwords otherwise
    call_command("seed_demo")
    call_command("launch_check")
    assert "Ready: all" in capsys.readouterr().out
