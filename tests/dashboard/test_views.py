import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.dashboard.models import DailySummarySchedule
from tests.dashboard.factories import UserFactory, WorkItemFactory, process

pytestmark = pytest.mark.django_db

INDEX = reverse("dashboard:index")
SCHEDULE = reverse("dashboard:daily_summary_schedule")


@pytest.fixture
def as_role(client):
    def login(role: Role):
        user = UserFactory(username=f"as-{role}".replace(" ", "-").lower(), roles=[role])
        client.force_login(user)
        return client

    return login


def _chart_svg(html: str) -> str:
    match = re.search(r'<svg[^>]*id="opened-chart".*?</svg>', html, re.S)
    assert match, "no chart on the page"
    return match.group(0)


# The dashboard ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.ADMIN])
def test_dashboard_opens_for_oversight_roles(as_role, role):
    response = as_role(role).get(INDEX)
    assert response.status_code == 200
    assert "Dashboard" in response.text


def test_dashboard_shows_queues_readiness_and_chart(as_role):
    now = timezone.now()
    WorkItemFactory(process=process("order_review"), due_at=now - timedelta(minutes=10))
    WorkItemFactory(process=process("order_review"), due_at=now + timedelta(hours=1))

    response = as_role(Role.OWNER).get(INDEX)

    html = response.text
    assert re.search(r"\d+ of \d+ checks pass", html)
    assert reverse("processes:readiness") in html
    assert "2 open" in html and "1 late" in html
    assert "Processes with nobody assigned" in html
    assert 'id="unassigned-list"' in html  # the seeded catalogue has nobody yet
    svg = _chart_svg(html)
    # Bar sizes are SVG attributes: the CSP (style-src 'self') refuses style attributes.
    assert "style=" not in svg
    assert re.search(r'<rect class="bar" x="\d+" y="0" width="\d+" height="100"', svg)


def test_dashboard_empty_states_say_what_will_appear(as_role):
    html = as_role(Role.MANAGER).get(INDEX).text
    assert "No work items were opened in the last 14 days" in html
    assert "A bar per day will appear here" in html
    assert 'id="opened-chart"' not in html
    assert "0 pending" in html and "0 failed" in html


def test_dashboard_lists_processes_with_nobody_in_red(as_role):
    staffed = process("order_review")
    staffed.primary = UserFactory(roles=[Role.ORDER_REVIEWER])
    staffed.backup = UserFactory(roles=[Role.ORDER_REVIEWER])
    staffed.save()

    html = as_role(Role.OWNER).get(INDEX).text

    unassigned = re.search(r'<ul class="mb-0" id="unassigned-list">(.*?)</ul>', html, re.S)
    assert unassigned and 'class="alert alert-danger"' in html
    assert "Bookkeeping" in unassigned.group(1)
    assert "Order review" not in unassigned.group(1)


def test_managers_see_the_schedule_but_cannot_edit_it(as_role):
    html = as_role(Role.MANAGER).get(INDEX).text
    assert 'id="daily-summary-schedule"' not in html
    assert "Only the owner or an admin can change when it is sent." in html


def test_owner_gets_the_schedule_form(as_role):
    html = as_role(Role.OWNER).get(INDEX).text
    assert 'id="daily-summary-schedule"' in html
    assert 'value="07:30"' in html


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.ORDER_REVIEWER, Role.BOOKKEEPER])
def test_dashboard_refuses_other_roles(as_role, role):
    response = as_role(role).get(INDEX)
    assert response.status_code == 403
    assert "checks pass" not in response.text


def test_dashboard_sends_anonymous_visitors_to_login(client):
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The daily summary's schedule ----------------------------------------------------------------


def test_owner_changes_the_schedule_with_a_flash_message(as_role):
    response = as_role(Role.OWNER).post(
        SCHEDULE, {"send_at": "06:45", "enabled": "on"}, follow=True
    )

    assert response.redirect_chain == [(INDEX, 302)]
    assert "The daily summary will be sent at 06:45." in response.text
    schedule = DailySummarySchedule.objects.get()
    assert (schedule.send_at, schedule.enabled) == (time(6, 45), True)
    assert schedule.updated_by.username == "as-owner"


def test_admin_turns_the_summary_off(as_role):
    response = as_role(Role.ADMIN).post(SCHEDULE, {"send_at": "07:30"}, follow=True)
    assert "The daily summary is turned off." in response.text
    assert DailySummarySchedule.objects.get().enabled is False


@pytest.mark.parametrize("bad", ["25:99", "half past seven", ""])
def test_bad_time_gets_a_clear_message_and_changes_nothing(as_role, bad):
    response = as_role(Role.OWNER).post(SCHEDULE, {"send_at": bad, "enabled": "on"})

    assert response.status_code == 400
    assert "for example 07:30" in response.text
    assert not DailySummarySchedule.objects.exists()


def test_manager_cannot_change_the_schedule(as_role):
    response = as_role(Role.MANAGER).post(SCHEDULE, {"send_at": "06:00", "enabled": "on"})
    assert response.status_code == 403
    assert not DailySummarySchedule.objects.exists()


def test_schedule_sends_anonymous_visitors_to_login(client):
    response = client.post(SCHEDULE, {"send_at": "06:00", "enabled": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not DailySummarySchedule.objects.exists()


def test_schedule_only_takes_posts(as_role):
    assert as_role(Role.OWNER).get(SCHEDULE).status_code == 405
