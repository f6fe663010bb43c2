from datetime import date, time

import pytest
import time_machine
from django.core import mail

from opsdesk.core.models import SweepRun
from opsdesk.core.roles import Role
from opsdesk.dashboard.models import DailySummarySchedule
from opsdesk.dashboard.services import daily_summary_schedule_update, daily_summary_send
from opsdesk.notifications.models import EmailDelivery, Notification
from tests.dashboard.factories import UserFactory, WorkItemFactory, aware, process

pytestmark = pytest.mark.django_db


# The schedule ----------------------------------------------------------------------------


def test_schedule_update_creates_the_one_row_and_records_who(owner):
    schedule = daily_summary_schedule_update(send_at=time(6, 45, 30), enabled=True, actor=owner)

    assert schedule.pk == DailySummarySchedule.SINGLETON_ID
    assert schedule.send_at == time(6, 45)  # the sweep runs each minute: no seconds
    assert schedule.updated_by == owner


def test_schedule_update_changes_the_same_row(owner):
    daily_summary_schedule_update(send_at=time(6, 45), enabled=True, actor=owner)
    daily_summary_schedule_update(send_at=time(8, 0), enabled=False, actor=None)

    assert DailySummarySchedule.objects.count() == 1
    schedule = DailySummarySchedule.objects.get()
    assert (schedule.send_at, schedule.enabled, schedule.updated_by) == (time(8), False, None)


# Sending: the time of day in the store's time zone (America/New_York) ---------------------

# March 10, 2026 is a Tuesday in daylight time (UTC-4): 07:30 local is 11:30 UTC.
BEFORE = aware(2026, 3, 10, 11, 29)
AT = aware(2026, 3, 10, 11, 30)


def test_nothing_is_sent_before_the_local_time(owner, notify_calls):
    with time_machine.travel(BEFORE, tick=False):
        assert daily_summary_send() is None
    assert notify_calls == []
    assert not SweepRun.objects.exists()


def test_sent_at_the_local_time_not_at_that_time_in_utc(owner, notify_calls):
    with time_machine.travel(aware(2026, 3, 10, 7, 30), tick=False):  # 03:30 in New York
        assert daily_summary_send() is None
    with time_machine.travel(AT, tick=False):
        summary = daily_summary_send()

    assert summary is not None and summary.day == date(2026, 3, 9)
    assert len(notify_calls) == 1
    call = notify_calls[0]
    assert call["users"] == [owner]
    assert call["process"] == "bookkeeping"
    assert call["subject"] == "Daily summary for Monday, March 9"
    assert call["link"] == "/dashboard/"
    assert SweepRun.objects.filter(name="daily-summary", period="2026-03-10").exists()


def test_standard_time_shifts_the_utc_moment(owner, notify_calls):
    # March 7, 2026 is still standard time (UTC-5): 07:30 local is 12:30 UTC.
    with time_machine.travel(aware(2026, 3, 7, 12, 29), tick=False):
        assert daily_summary_send() is None
    with time_machine.travel(aware(2026, 3, 7, 12, 30), tick=False):
        assert daily_summary_send().day == date(2026, 3, 6)


def test_running_twice_sends_once(owner, notify_calls):
    with time_machine.travel(AT, tick=False):
        assert daily_summary_send() is not None
        assert daily_summary_send() is None
    assert len(notify_calls) == 1


def test_the_day_is_the_local_date_not_the_utc_date(owner, notify_calls):
    with time_machine.travel(AT, tick=False):
        daily_summary_send()
    # 01:00 UTC on the 11th is still 21:00 on the 10th in New York: already sent today.
    with time_machine.travel(aware(2026, 3, 11, 1, 0), tick=False):
        assert daily_summary_send() is None
    with time_machine.travel(aware(2026, 3, 11, 11, 30), tick=False):
        assert daily_summary_send().day == date(2026, 3, 10)
    assert len(notify_calls) == 2


def test_a_late_run_still_sends_that_days_summary(owner, notify_calls):
    with time_machine.travel(aware(2026, 3, 10, 19, 0), tick=False):  # beat was down all morning
        assert daily_summary_send() is not None


def test_follows_the_schedule_time(owner, notify_calls):
    daily_summary_schedule_update(send_at=time(18, 0), enabled=True, actor=owner)
    with time_machine.travel(AT, tick=False):
        assert daily_summary_send() is None
    with time_machine.travel(aware(2026, 3, 10, 22, 0), tick=False):  # 18:00 local
        assert daily_summary_send() is not None


def test_nothing_is_sent_while_turned_off(owner, notify_calls):
    daily_summary_schedule_update(send_at=time(7, 30), enabled=False, actor=owner)
    with time_machine.travel(AT, tick=False):
        assert daily_summary_send() is None
    assert notify_calls == []


def test_without_owners_the_day_stays_unclaimed(notify_calls):
    with time_machine.travel(AT, tick=False):
        assert daily_summary_send() is None
        assert not SweepRun.objects.exists()
        UserFactory(username="late-owner", roles=[Role.OWNER])
        assert daily_summary_send() is not None


def test_only_active_owners_receive_it(owner, notify_calls):
    UserFactory(username="former", roles=[Role.OWNER], is_active=False)
    UserFactory(username="boss", roles=[Role.MANAGER])
    with time_machine.travel(AT, tick=False):
        daily_summary_send()
    assert notify_calls[0]["users"] == [owner]


def test_a_failure_leaves_the_day_unclaimed_for_the_next_run(owner, monkeypatch):
    def broken_notify(**kwargs):
        raise RuntimeError("mail system exploded")

    monkeypatch.setattr("opsdesk.dashboard.services.notify", broken_notify)
    with time_machine.travel(AT, tick=False), pytest.raises(RuntimeError):
        daily_summary_send()
    assert not SweepRun.objects.exists()

    monkeypatch.undo()
    with time_machine.travel(aware(2026, 3, 10, 11, 31), tick=False):
        assert daily_summary_send() is not None


def test_the_body_has_yesterday_per_process_readiness_and_deliveries(owner, notify_calls):
    # Monday 9th, 22:00 in New York (02:00 UTC on the 10th): yesterday, seen from the 10th.
    WorkItemFactory(
        process=process("order_review"),
        title="Order #1",
        created_at=aware(2026, 3, 10, 2),
        due_at=aware(2026, 3, 10, 3),
    )
    with time_machine.travel(AT, tick=False):
        daily_summary_send()

    body = notify_calls[0]["body"]
    assert "daily summary for Monday, March 9, 2026" in body
    assert "1 opened, 0 closed, 1 late" in body
    review_line = next(line for line in body.splitlines() if line.startswith("Order review"))
    assert review_line.split()[-3:] == ["1", "0", "1"]
    assert "Launch readiness:" in body and "checks pass" in body
    assert "Notification deliveries: 0 pending, 0 failed." in body
    assert "http://127.0.0.1:8000/dashboard/" in body


def test_owners_get_an_inbox_notification_and_an_email(owner, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(AT, tick=False),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        daily_summary_send()

    notification = Notification.objects.get()
    assert notification.recipient == owner
    assert notification.subject == "Daily summary for Monday, March 9"
    delivery = EmailDelivery.objects.get()
    assert (delivery.to, delivery.status) == ("olivia@example.com", EmailDelivery.Status.PENDING)
    assert len(callbacks) == 1  # the e-mail is handed to the broker only after the commit
    assert mail.outbox == []
