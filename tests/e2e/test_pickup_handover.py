"""Store pickup in a real browser: the clerk types the customer's code, presses Enter, checks
the items and hands the order over, all from the keyboard."""

from playwright.sync_api import expect

from opsdesk.core.roles import Role
from orders.models import Shipment
from orders.services.pickup import pickup_mark_ready
from tests.orders.test_flows_support import pickup_shipment, pickup_store


def test_hand_over_a_pickup_order_with_its_code(
    page, live_server, console_errors, role_user, role_user_password, browser_login
):
    store = pickup_store("Market Square")
    shipment = pickup_mark_ready(shipment_id=pickup_shipment(store).pk, actor=None)
    clerk = role_user(Role.CUSTOMER_SERVICE, first_name="Sam", last_name="Till")
    browser_login(page, clerk.username, role_user_password)

    page.goto(f"/fulfillment/pickup/{store.pk}/handover/")
    code = page.get_by_label("Pickup code")
    expect(code).to_be_focused()
    # A wrong code first: refused, and nothing about any order is shown.
    code.fill("WRONG9")
    code.press("Enter")
    expect(page.get_by_text("No order ready for pickup at this store matches that")).to_be_visible()
    expect(page.get_by_text(shipment.number)).to_have_count(0)

    page.get_by_label("Pickup code").fill(shipment.pickup_code.lower())
    page.get_by_label("Pickup code").press("Enter")
    expect(page.get_by_text(shipment.number)).to_be_visible()
    hand_over = page.get_by_role("button", name="Hand over")
    expect(hand_over).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_text(f"Handed over: {shipment.number}.")).to_be_visible()
    expect(page.get_by_label("Pickup code")).to_be_focused()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PICKED_UP
    assert shipment.handed_over_by == clerk
    assert console_errors == []
