"""In a real browser: the admin assigns a backup and the readiness check turns green."""

import pytest

from opsdesk.core.roles import Role
from opsdesk.processes.models import Process
from tests.processes.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def store_missing_one_backup():
    admin = UserFactory(username="ada", roles=[Role.ADMIN])
    admin.set_password("admin-pass-2026")
    admin.save()
    primary = UserFactory(
        username="pia", first_name="Pia", last_name="Primary", roles=[Role.ORDER_REVIEWER]
    )
    backup = UserFactory(
        username="bea", first_name="Bea", last_name="Backup", roles=[Role.ORDER_REVIEWER]
    )
    for process in Process.objects.all():
        process.primary = primary
        process.backup = None if process.key == "order_review" else backup
        process.save()
    return admin


def check_row(page, key):
    return page.locator(f'[data-check="{key}"]')


def test_admin_assigns_a_backup_and_the_check_turns_green(
    page, live_server, store_missing_one_backup
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("admin-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/processes/readiness/")
    row = check_row(page, "process-people")
    assert row.get_attribute("data-ok") == "false"
    assert "Order review" in row.inner_text()
    row.get_by_role("link", name="Fix").click()

    page.wait_for_url("**/processes/order_review/edit/")
    page.get_by_label("Backup").select_option(label="Bea Backup")
    page.get_by_role("button", name="Save assignment").click()
    assert page.get_by_text("Saved who handles Order review.").is_visible()

    page.goto(f"{live_server.url}/processes/readiness/")
    assert check_row(page, "process-people").get_attribute("data-ok") == "true"
