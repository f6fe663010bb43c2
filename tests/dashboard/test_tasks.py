import pytest
import time_machine

from opsdesk.dashboard.tasks import daily_summary_send_task
from tests.dashboard.factories import aware

pytestmark = pytest.mark.django_db


def test_task_is_registered_under_the_name_beat_uses():
    assert daily_summary_send_task.name == "dashboard.daily_summary_send_task"


def test_task_sends_the_summary(owner, notify_calls):
    with time_machine.travel(aware(2026, 3, 10, 11, 30), tick=False):
        daily_summary_send_task.apply()
    assert len(notify_calls) == 1


def test_task_is_safe_to_run_twice(owner, notify_calls):
    with time_machine.travel(aware(2026, 3, 10, 11, 30), tick=False):
        daily_summary_send_task.apply()
        daily_summary_send_task.apply()
    assert len(notify_calls) == 1
