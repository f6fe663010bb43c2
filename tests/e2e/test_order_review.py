"""In a real browser: an order arrives, the reviewer finds it in the queue, reads its risk
panel, approves it with the keyboard, and the timeline says who did it."""

import pytest
from playwright.sync_api import expect

from opsdesk.core.roles import Role
from opsdesk.processes.models import Process
from orders.services.fraud import risk_assess
from tests.orders.factories import ChannelFactory, order_with_lines

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def arrived(role_user):
    """An order as the intake leaves it: built, checked (low risk, one indicator), waiting."""
    reviewer = role_user(
        Role.ORDER_REVIEWER, username="rita", first_name="Rita", last_name="Reviewer"
    )
    Process.objects.filter(key__in=["order_review", "fraud_review"]).update(primary=reviewer)
    # The fraud rules' rows went with the last transactional flush: the defaults apply.
    order = order_with_lines(
        2, channel=ChannelFactory(name="Web shop"), number="#4242", avs_result="A"
    )
    risk_assess(order_id=order.pk)
    return order


def test_reviewer_approves_an_order_with_the_keyboard(
    page, live_server, console_errors, browser_login, role_user_password, arrived
):
    browser_login(page, "rita", role_user_password)
    page.goto("/orders/")
    row = page.locator(f"#order-row-{arrived.pk}")
    expect(row).to_contain_text("#4242")
    expect(row).to_contain_text("low")

    page.keyboard.press("j")
    expect(row).to_have_class("table-active")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/orders/{arrived.pk}/")

    risk = page.locator("#risk-panel")
    expect(risk).to_contain_text("low · 8")
    expect(risk.locator('[data-indicator="avs_partial"]')).to_contain_text(
        "↑ +8 The card's address check matched only in part"
    )
    panel = page.locator("#order-status-panel")
    expect(panel).to_have_attribute("data-status", "awaiting_review")

    page.keyboard.press("a")

    expect(panel).to_have_attribute("data-status", "approved")
    expect(panel.locator("[data-status-badge]")).to_have_text("Approved")
    approved = page.locator('#order-timeline [data-event="approved"]')
    expect(approved).to_contain_text("Approved by Rita Reviewer")
    # A partial swap, not a page load: the risk panel is the same element.
    expect(risk).to_be_visible()
    assert console_errors == []


def test_hold_needs_a_reason_and_c_starts_a_comment(
    page, live_server, console_errors, browser_login, role_user_password, arrived
):
    browser_login(page, "rita", role_user_password)
    page.goto(f"/orders/{arrived.pk}/#hold")
    reason = page.locator("#hold_reason")
    expect(reason).to_be_focused()
    reason.fill("Waiting for the customer to call back")
    page.get_by_role("button", name="Hold").click()
    panel = page.locator("#order-status-panel")
    expect(panel).to_have_attribute("data-status", "on_hold")
    expect(page.locator('#order-timeline [data-event="held"]')).to_contain_text(
        "Waiting for the customer to call back"
    )

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("c")
    expect(page.locator("#comment_text")).to_be_focused()
    page.keyboard.type("Left a voicemail.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator('#order-timeline [data-event="commented"]')).to_contain_text(
        "Left a voicemail."
    )
    assert console_errors == []


def test_a_on_the_queue_approves_the_selected_row_in_place(
    page, live_server, console_errors, browser_login, role_user_password, arrived
):
    browser_login(page, "rita", role_user_password)
    page.goto("/orders/")
    row = page.locator(f"#order-row-{arrived.pk}")

    page.keyboard.press("j")
    page.keyboard.press("a")

    expect(row).to_contain_text("Approved")
    expect(row.locator("[data-row-approve]")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/orders/")
    assert console_errors == []
