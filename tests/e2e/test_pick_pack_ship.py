"""In a real browser: an approved order is put on a pick list, picked, packed by typing
barcodes into the pack screen as a scanner does (a wrong barcode is refused, loudly), shipped
with a carrier and tracking number, and the customer's shipping notice is in the mail."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from opsdesk.core.roles import Role
from orders import tasks_fulfillment
from orders.models import Shipment
from orders.services.notices import customer_notice_send
from tests.catalog.factories import BarcodedVariantFactory
from tests.orders.fulfillment_factories import (
    approved_order,
    ensure_carrier,
    stocked_variant,
    warehouse,
)

pytestmark = pytest.mark.django_db(transaction=True)

MUG = "4006381333931"
TEE = "5012345678900"
STRANGER = "9780201379624"


@pytest.fixture
def send_now(monkeypatch):
    """The worker, in-process: a notice handed to the broker is sent at once."""
    monkeypatch.setattr(
        tasks_fulfillment.customer_notice_send_task,
        "delay",
        lambda notice_id: customer_notice_send(notice_id=notice_id),
    )


@pytest.fixture
def order(role_user):
    role_user(Role.FULFILLMENT, username="pat", first_name="Pat", last_name="Packer")
    wh = warehouse("Main warehouse")
    mug = stocked_variant(wh, sku="MUG-BLUE", barcode=MUG, bin="A-01")
    tee = stocked_variant(wh, sku="TEE-M", barcode=TEE, bin="B-07")
    BarcodedVariantFactory(sku="BOOK-1", barcode=STRANGER)
    ensure_carrier("ups")
    return approved_order([(mug, 2), (tee, 1)], number="#8001", email="ada@example.com")


def test_pick_pack_and_ship_an_order(
    page, live_server, console_errors, browser_login, role_user_password, order, send_now
):
    shipment = order.shipments.get()
    browser_login(page, "pat", role_user_password)

    # Pick: the order waits at its location; a pick list is made and marked picked.
    page.goto(f"/fulfillment/?location={shipment.location_id}")
    row = page.locator(f'[data-queue="to-pick"] tr[data-shipment="{shipment.number}"]')
    expect(row).to_be_visible()
    page.get_by_role("button", name="Make a pick list of the ticked").click()
    expect(page.locator("[data-pick-rows] tbody tr").first).to_contain_text("A-01")
    expect(page.locator("[data-pick-rows] tbody tr").nth(1)).to_contain_text("B-07")
    page.get_by_role("button", name="All picked").click()

    # Pack: open the pack screen from the queue and type barcodes as a scanner does.
    pack_row = page.locator(f'[data-queue="to-pack"] [data-shipment="{shipment.number}"]')
    pack_row.get_by_role("link", name="Pack").click()
    page.wait_for_url(f"**/fulfillment/shipments/{shipment.pk}/pack/")
    scan = page.get_by_label("Scan or type a barcode or SKU")
    expect(scan).to_be_focused()

    page.keyboard.type(STRANGER)
    page.keyboard.press("Enter")
    warning = page.locator("[data-pack-warning]")
    expect(warning).to_contain_text("Wrong item")
    expect(page.locator("[data-refused-scan]")).to_have_count(1)
    expect(page.locator("[data-pack-count]")).to_have_text("0 of 3 units packed")

    for code in [MUG, "tee-m", MUG]:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.locator("[data-pack-count]")).to_have_text("3 of 3 units packed")
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")

    page.keyboard.type(MUG)
    page.keyboard.press("Enter")
    expect(page.locator("[data-pack-warning]")).to_contain_text("One too many")
    expect(page.locator("[data-refused-scan]")).to_have_count(2)
    expect(page.locator("[data-pack-count]")).to_have_text("3 of 3 units packed")

    page.get_by_role("button", name="Close parcel").click()
    page.wait_for_url(f"**/fulfillment/shipments/{shipment.pk}/")

    # Ship: carrier and tracking number; the notice goes out after commit.
    page.get_by_label("Carrier").select_option(label="UPS")
    page.get_by_label("Tracking number (type or scan)").fill("1Z999AA10123456784")
    page.get_by_label("Tracking number (type or scan)").press("Enter")
    expect(page.locator("[data-status]")).to_have_text("Shipped")
    expect(page.locator("[data-tracking]")).to_have_attribute(
        "href", "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )
    expect(page.locator('[data-notice="shipped"]')).to_contain_text("Sent")

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    assert shipment.shipped_by.username == "pat"
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Your order #8001 has shipped"
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in message.body
    assert console_errors == []
