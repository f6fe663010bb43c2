"""In a real browser: a purchase order is received by typing barcodes into the receiving
screen, fast, as a scanner does; an unknown code is flagged; the receipt is posted and the
stock shows on the order's page."""

import pytest
from playwright.sync_api import expect

from inventory.services.receiving import LineInput, purchase_order_create, purchase_order_send
from opsdesk.core.roles import Role
from tests.catalog.factories import ProductFactory, VariantFactory, VendorFactory
from tests.inventory import conftest_pos

pytestmark = pytest.mark.django_db(transaction=True)

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture

MUG = "4006381333931"
TEE = "5012345678900"


@pytest.fixture
def sent_order(pos_locations, pos_processes, role_user):
    role_user(Role.INVENTORY, username="rita", first_name="Rita", last_name="Receiver")
    VariantFactory(sku="MUG-BLUE", barcode=MUG, product=ProductFactory(title="Speckled mug"))
    VariantFactory(sku="TEE-M", barcode=TEE, product=ProductFactory(title="Harbour tee"))
    order = purchase_order_create(
        vendor_id=VendorFactory(name="Harbour Ceramics").pk,
        location_id=pos_locations[conftest_pos.MAIN].pk,
        lines=[LineInput("MUG-BLUE", 3), LineInput("TEE-M", 2)],
        number="PO-E2E-1",
        actor=None,
    )
    return purchase_order_send(purchase_order_id=order.pk, actor=None)


def test_receive_a_purchase_order_by_typing_barcodes(
    page, live_server, console_errors, browser_login, role_user_password, sent_order
):
    browser_login(page, "rita", role_user_password)
    page.goto(f"/inventory/purchase-orders/{sent_order.pk}/")
    page.get_by_role("link", name="Receive").click()
    page.wait_for_url(f"**/purchase-orders/{sent_order.pk}/receive/")

    scan = page.get_by_label("Scan a barcode or type a SKU")
    expect(scan).to_be_focused()
    # As a scanner types: code, Enter, code, Enter ... without waiting for the answers.
    for code in [MUG, MUG, TEE, "tee-m", MUG]:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    mug_row = page.locator('#receiving-lines tr[data-sku="MUG-BLUE"]')
    tee_row = page.locator('#receiving-lines tr[data-sku="TEE-M"]')
    expect(mug_row.locator("[data-counted]")).to_have_text("3")
    expect(tee_row.locator("[data-counted]")).to_have_text("2")
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")

    page.keyboard.type("9999999999994")
    page.keyboard.press("Enter")
    alert = page.locator("#scan-result[role=alert]")
    expect(alert).to_contain_text("Unknown code")
    expect(alert).to_contain_text("9999999999994")
    expect(page.locator('#receiving-unknown [data-code="9999999999994"]')).to_contain_text("× 1")

    page.get_by_role("button", name="Post and close the receipt").click()
    page.wait_for_url(f"**/purchase-orders/{sent_order.pk}/")
    expect(page.locator("#messages")).to_contain_text("5 units received into Main Street Store")
    expect(page.locator("#po-status")).to_have_attribute("data-status", "closed")
    mug = page.locator('#po-lines tr[data-sku="MUG-BLUE"]')
    expect(mug.locator("[data-received]")).to_have_text("3")
    expect(mug.locator("[data-on-hand]")).to_have_text("3")
    expect(page.locator('#po-lines tr[data-sku="TEE-M"] [data-on-hand]')).to_have_text("2")
    expect(page.locator('#po-discrepancies tr[data-kind="unknown"]')).to_contain_text(
        "9999999999994"
    )
    assert console_errors == []
