"""In a real browser: the admin assigns a backup and the readiness check turns green."""

import pytest

from opsdesk.core.roles import Role
from opsdesk.processes.models import Process

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store_missing_one_backup(role_user):
    admin = role_user(Role.ADMIN, username="ada")
    primary = role_user(Role.ORDER_REVIEWER, username="pia", first_name="Pia", last_name="Primary")
    backup = role_user(Role.ORDER_REVIEWER, username="bea", first_name="Bea", last_name="Backup")
    for process in Process.objects.all():
        process.primary = primary
        process.backup = None if process.key == "order_review" else backup
        process.save()
    return admin


def test_admin_assigns_a_backup_and_the_check_turns_green(
    page, console_errors, browser_login, role_user_password, store_missing_one_backup
):
    browser_login(page, "ada", role_user_password)
    page.goto("/processes/readiness/")
    row = page.locator('[data-check="process-people"]')
    assert row.get_attribute("data-ok") == "false"
    assert "Order review" in row.inner_text()
    row.get_by_role("link", name="Fix").click()

    page.wait_for_url("**/processes/order_review/edit/")
    page.get_by_label("Backup", exact=True).select_option(label="Bea Backup")
    page.get_by_role("button", name="Save assignment").click()
    page.wait_for_url("**/processes/order_review/edit/")
    assert page.get_by_role("alert").filter(has_text="Saved who handles Order review.").count() == 1

    page.goto("/processes/readiness/")
    assert page.locator('[data-check="process-people"]').get_attribute("data-ok") == "true"
    assert console_errors == []
