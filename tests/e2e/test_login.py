"""R22 in a real browser: pages work under the CSP, the admin included, with no violation."""

from playwright.sync_api import expect

from opsdesk.core.roles import Role


def test_staff_log_in_use_the_menu_and_log_out_with_no_csp_violation(
    page, live_server, console_errors, role_user, role_user_password, browser_login
):
    user = role_user(Role.FULFILLMENT, first_name="Pat", last_name="Lee")

    browser_login(page, user.username, role_user_password)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    # Bootstrap's script runs: the user menu opens.
    page.get_by_role("button", name="Pat Lee").click()
    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    assert console_errors == []


def test_admin_works_under_the_csp(page, live_server, console_errors, admin_user):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill("password")  # pytest-django's admin_user
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto("/admin/auth/user/")
    # The admin's own script runs: selecting all rows enables the action bar's counter.
    page.locator("#action-toggle").check()

    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    assert console_errors == []
