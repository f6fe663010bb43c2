"""Receiving pages: purchase orders and the receiving screen."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import PurchaseOrder, ReceivingDiscrepancy, StockLevel
from inventory.services.receiving import LineInput, purchase_order_create, purchase_order_send
from opsdesk.core.roles import Role
from tests.catalog.factories import VariantFactory, VendorFactory
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import MAIN

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pos_processes")]


@pytest.fixture
def clerk_client(staff_client_for):
    return staff_client_for(Role.INVENTORY, username="rita")


@pytest.fixture
def mug(db):
    return VariantFactory(sku="MUG-BLUE", barcode="4006381333931")


@pytest.fixture
def sent_order(pos_locations, mug):
    order = purchase_order_create(
        vendor_id=VendorFactory(name="Harbour Ceramics").pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 4)],
        actor=None,
    )
    return purchase_order_send(purchase_order_id=order.pk, actor=None)


def scan(client, order, code, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("inventory:receiving_scan", args=[order.pk]), {"code": code}, headers=headers
    )


def test_create_a_purchase_order_from_the_form(clerk_client, pos_locations, mug):
    vendor = VendorFactory(name="Northwind")
    response = clerk_client.post(
        reverse("inventory:po_create"),
        {
            "vendor": vendor.pk,
            "location": pos_locations[MAIN].pk,
            "number": "",
            "expected_at": "2030-05-01",
            "lines": "MUG-BLUE, 6, 4.20\n",
        },
    )
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:po_detail", args=[order.pk])
    line = order.lines.get()
    assert (line.quantity_ordered, line.unit_cost) == (6, Decimal("4.20"))
    page = clerk_client.get(response["Location"])
    assert order.number.encode() in page.content
    assert b"Mark sent to vendor" in page.content


def test_create_shows_an_unknown_sku_on_the_form(clerk_client, pos_locations):
    response = clerk_client.post(
        reverse("inventory:po_create"),
        {
            "vendor": VendorFactory().pk,
            "location": pos_locations[MAIN].pk,
            "lines": "NOPE-1, 2",
        },
    )
    assert response.status_code == 200
    assert "No item with the SKU NOPE-1" in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_list_shows_orders_with_their_totals(clerk_client, sent_order):
    response = clerk_client.get(reverse("inventory:po_list"))
    assert sent_order.number in response.content.decode()
    assert "0 / 4" in response.content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_runs_the_same_queries_for_one_order_or_many(clerk_client, sent_order, pos_locations):
    url = reverse("inventory:po_list")
    clerk_client.get(url)
    one = _queries(clerk_client, url)
    for n in range(6):
        VariantFactory(sku=f"MORE-{n}")
        purchase_order_create(
            vendor_id=VendorFactory().pk,
            location_id=pos_locations[MAIN].pk,
            lines=[LineInput(f"MORE-{n}", 2)],
            actor=None,
        )
    assert _queries(clerk_client, url) == one


def test_mark_sent_from_the_page(clerk_client, pos_locations, mug):
    order = purchase_order_create(
        vendor_id=VendorFactory().pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 1)],
        actor=None,
    )
    response = clerk_client.post(reverse("inventory:po_send", args=[order.pk]), follow=True)
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.SENT
    assert "in the receiving queue" in response.content.decode()


def test_scanning_counts_live_and_posting_receives(clerk_client, sent_order, mug):
    screen = clerk_client.get(reverse("inventory:receiving", args=[sent_order.pk]))
    assert screen.status_code == 200
    assert b"autofocus" in screen.content

    for code in ["4006381333931", "MUG-BLUE", "mug-blue"]:
        response = scan(clerk_client, sent_order, code)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="receiving-panel"' in fragment
    assert "<html" not in fragment
    assert "3 counted of 4 ordered" in fragment

    bad = scan(clerk_client, sent_order, "0000000000000").content.decode()
    assert 'role="alert"' in bad
    assert "Unknown code" in bad
    assert 'data-outcome="unknown"' in bad

    key = clerk_client.session[f"inventory:receiving:{sent_order.pk}"]["key"]
    response = clerk_client.post(
        reverse("inventory:receiving_post", args=[sent_order.pk]), {"key": key, "close": "0"}
    )
    assert response.status_code == 302
    assert StockLevel.objects.get(variant=mug, location__name=MAIN).on_hand == 3
    sent_order.refresh_from_db()
    assert sent_order.status == PurchaseOrder.Status.PARTIAL
    assert ReceivingDiscrepancy.objects.get().scanned_code == "0000000000000"
    assert f"inventory:receiving:{sent_order.pk}" not in clerk_client.session
    detail = clerk_client.get(response["Location"]).content.decode()
    assert "3 units received into Main Street Store" in detail
    assert "0000000000000" in detail


def test_scanning_without_javascript_redirects_back_to_the_screen(clerk_client, sent_order):
    response = scan(clerk_client, sent_order, "nothing-like-it", htmx=False)
    assert response.status_code == 302
    page = clerk_client.get(response["Location"]).content.decode()
    assert "not a barcode or SKU opsdesk knows" in page


def test_posting_with_a_stale_count_is_refused(clerk_client, sent_order, mug):
    scan(clerk_client, sent_order, "MUG-BLUE")
    response = clerk_client.post(
        reverse("inventory:receiving_post", args=[sent_order.pk]),
        {"key": "not-this-one", "close": "0"},
        follow=True,
    )
    assert "changed in another window" in response.content.decode()
    assert not StockLevel.objects.filter(variant=mug).exists()


def test_closing_from_the_screen_records_the_shortfall(clerk_client, sent_order, mug):
    scan(clerk_client, sent_order, "MUG-BLUE")
    key = clerk_client.session[f"inventory:receiving:{sent_order.pk}"]["key"]
    clerk_client.post(
        reverse("inventory:receiving_post", args=[sent_order.pk]), {"key": key, "close": "1"}
    )
    sent_order.refresh_from_db()
    assert sent_order.status == PurchaseOrder.Status.CLOSED
    discrepancy = ReceivingDiscrepancy.objects.get()
    assert (discrepancy.kind, discrepancy.expected, discrepancy.received) == ("under", 4, 1)


def test_an_unknown_item_becomes_a_draft_from_the_order_page(clerk_client, sent_order):
    scan(clerk_client, sent_order, "0012345678905")
    key = clerk_client.session[f"inventory:receiving:{sent_order.pk}"]["key"]
    clerk_client.post(
        reverse("inventory:receiving_post", args=[sent_order.pk]), {"key": key, "close": "0"}
    )
    discrepancy = ReceivingDiscrepancy.objects.get()
    response = clerk_client.post(
        reverse("inventory:receiving_unknown_resolve", args=[discrepancy.pk]),
        {"title": "Blue vase", "price": "24.00", "sku": ""},
        follow=True,
    )
    assert "1 × RCV-0012345678905 received into stock" in response.content.decode()


def test_unknown_item_without_a_title_shows_the_error(clerk_client, sent_order):
    scan(clerk_client, sent_order, "HANDWRITTEN")
    key = clerk_client.session[f"inventory:receiving:{sent_order.pk}"]["key"]
    clerk_client.post(
        reverse("inventory:receiving_post", args=[sent_order.pk]), {"key": key, "close": "0"}
    )
    discrepancy = ReceivingDiscrepancy.objects.get()
    response = clerk_client.post(
        reverse("inventory:receiving_unknown_resolve", args=[discrepancy.pk]),
        {"title": "", "price": "", "sku": ""},
        follow=True,
    )
    assert "Give the item a title" in response.content.decode()


def test_a_draft_order_has_no_receiving_screen(clerk_client, pos_locations, mug):
    order = purchase_order_create(
        vendor_id=VendorFactory().pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 1)],
        actor=None,
    )
    response = clerk_client.get(reverse("inventory:receiving", args=[order.pk]), follow=True)
    assert "mark it sent first" in response.content.decode()


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.CONTENT_EDITOR, Role.BOOKKEEPER])
def test_other_roles_are_refused(staff_client_for, sent_order, role):
    client = staff_client_for(role)
    for url in [
        reverse("inventory:po_list"),
        reverse("inventory:po_detail", args=[sent_order.pk]),
        reverse("inventory:receiving", args=[sent_order.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 403
        assert sent_order.number not in response.content.decode()
    response = client.post(reverse("inventory:receiving_scan", args=[sent_order.pk]), {"code": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OWNER, Role.ADMIN])
def test_oversight_roles_may_receive(staff_client_for, sent_order, role):
    response = staff_client_for(role).get(reverse("inventory:receiving", args=[sent_order.pk]))
    assert response.status_code == 200


def test_anonymous_visitors_go_to_the_login_page(client, sent_order):
    response = client.get(reverse("inventory:receiving", args=[sent_order.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_scan_needs_post(clerk_client, sent_order):
    assert (
        clerk_client.get(reverse("inventory:receiving_scan", args=[sent_order.pk])).status_code
        == 405
    )
