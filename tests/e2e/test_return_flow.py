"""In a real browser: a customer asks for a return on the public form; staff approve it,
receive the parcel by scanning its return number, restock one line and write off the other,
and refund it; the customer's e-mails are in the captured mail."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from opsdesk.core.roles import Role
from orders.services.notices import customer_notice_sweep
from returns.models import Refund, ReturnLine, ReturnRequest
from tests.inventory.factories import LocationFactory
from tests.returns.factories import delivered_order, publish_policy

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_asks_staff_receive_inspect_and_refund(
    page, live_server, console_errors, browser_login, role_user, role_user_password
):
    publish_policy()
    order = delivered_order(lines=[(1, "20.00"), (1, "10.00")], number="#5150")
    mug, bowl = order.lines.order_by("id")
    store = LocationFactory(name="Main Street store")
    role_user(Role.CUSTOMER_SERVICE, username="cora", first_name="Cora", last_name="Service")

    # The customer, on the public form: both the number and the e-mail are needed.
    page.goto("/returns/request/")
    page.get_by_label("Order number").fill("5150")
    page.get_by_label("E-mail address used for the order").fill("nobody@example.com")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-error]")).to_contain_text("could not find an order")
    page.get_by_label("E-mail address used for the order").fill(order.email)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/returns/request/items/")
    page.get_by_label(mug.title).fill("1")
    page.get_by_label(bowl.title).fill("1")
    page.get_by_label("Why are you returning it?").select_option("wrong_item")
    page.get_by_role("button", name="Ask for the return").click()
    expect(page.locator("#messages")).to_contain_text("your return R")
    ret = ReturnRequest.objects.get()
    assert ret.source == ReturnRequest.Source.CUSTOMER

    # Staff approve it.
    browser_login(page, "cora", role_user_password)
    page.goto("/returns/")
    page.get_by_role("link", name=ret.number).click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("[data-status]")).to_have_text("Waiting for the item")

    # The parcel arrives: scan its return number; the scanner's Enter submits.
    page.goto("/returns/receive/")
    scan = page.get_by_label("Scan the return label")
    expect(scan).to_be_focused()
    scan.fill(ret.number)
    scan.press("Enter")
    expect(page.locator("[data-status]")).to_have_text("Received")

    # Inspect: the mug back on the shelf, the bowl written off.
    mug_row = page.locator(f'[data-return-line="{mug.sku}"]')
    mug_row.get_by_label("Outcome").select_option("restock")
    mug_row.get_by_label("Restock at").select_option(label="Main Street store")
    mug_row.get_by_role("button", name="Save").click()
    expect(mug_row).to_contain_text("Restocked at Main Street store")
    bowl_row = page.locator(f'[data-return-line="{bowl.sku}"]')
    bowl_row.get_by_label("Outcome").select_option("write_off")
    bowl_row.get_by_label("Note").fill("Chipped rim")
    bowl_row.get_by_role("button", name="Save").click()
    expect(bowl_row).to_contain_text("Written off (damaged)")

    # The refund is shown before it is issued, then issued with the provider's reference.
    expect(page.locator("[data-quote-amount]")).to_contain_text("30.00")
    page.get_by_label("Payment provider's refund reference").fill("re_3Kx9")
    page.get_by_role("button", name="Issue refund of 30.00").click()
    expect(page.locator("#messages")).to_contain_text("Refunded 30.00")
    expect(page.locator("[data-status]")).to_have_text("Refunded")
    assert console_errors == []

    refund = Refund.objects.get()
    assert (str(refund.amount), refund.provider_reference) == ("30.00", "re_3Kx9")
    assert set(ReturnLine.objects.values_list("outcome", flat=True)) == {"restock", "write_off"}
    assert store.stock_levels.get(variant=mug.variant).on_hand == 1

    # Celery sends what the services wrote; here the sweep does it in this process.
    customer_notice_sweep()
    to_customer = [m for m in mail.outbox if order.email in m.to]
    subjects = " | ".join(m.subject for m in to_customer)
    assert f"Your return {ret.number} is approved" in subjects
    assert f"How to send back return {ret.number}" in subjects
    assert f"We received your return {ret.number}" in subjects
    assert "Your refund of 30.00 USD" in subjects
