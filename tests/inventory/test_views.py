import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Backorder, StockMovement
from inventory.services import stock_reserve
from opsdesk.core.roles import Role
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import StockLevelFactory
from tests.inventory.support import level

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    return VariantFactory(sku="CUP-GREEN")


@pytest.fixture
def stocked(variant, store, warehouse, give_stock):
    give_stock(variant, store, 5)
    give_stock(variant, warehouse, 2)
    return variant


@pytest.fixture
def inventory_client(staff_client_for):
    return staff_client_for(Role.INVENTORY)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Stock list ------------------------------------------------------------------------------


def test_stock_list_shows_each_location_and_what_the_web_can_sell(
    staff_client_for, stocked, store, warehouse
):
    client = staff_client_for(Role.FULFILLMENT)
    response = client.get(reverse("inventory:stock_list"), {"q": "cup-green"})

    assert response.status_code == 200
    assert "CUP-GREEN" in response.text
    assert "Main Street store" in response.text and "Warehouse" in response.text
    assert response.context["rows"][0].cells == [level(stocked, store), level(stocked, warehouse)]
    assert not response.context["can_edit"]


def test_stock_list_low_filter(inventory_client, store):
    StockLevelFactory(
        variant=VariantFactory(sku="LOW-1", low_stock_threshold=5), location=store, on_hand=2
    )
    StockLevelFactory(
        variant=VariantFactory(sku="OK-1", low_stock_threshold=5), location=store, on_hand=9
    )

    response = inventory_client.get(reverse("inventory:stock_list"), {"low": "on"})

    assert "LOW-1" in response.text
    assert "OK-1" not in response.text


def test_stock_list_takes_the_same_queries_for_one_or_many_rows(inventory_client, store, warehouse):
    url = reverse("inventory:stock_list")

    def add(count):
        for _ in range(count):
            variant = VariantFactory()
            StockLevelFactory(variant=variant, location=store)
            StockLevelFactory(variant=variant, location=warehouse)

    add(1)
    few = queries(inventory_client, url)
    add(45)
    assert queries(inventory_client, url) == few
    assert queries(inventory_client, url + "?page=2") == few


def test_stock_list_is_refused_to_other_roles(staff_client_for, stocked):
    response = staff_client_for(Role.CONTENT_EDITOR).get(reverse("inventory:stock_list"))
    assert response.status_code == 403
    assert "CUP-GREEN" not in response.text


def test_stock_pages_send_anonymous_visitors_to_log_in(client, stocked):
    for url in (
        reverse("inventory:stock_list"),
        reverse("inventory:variant_stock", args=[stocked.pk]),
        reverse("inventory:stock_adjust", args=[stocked.pk]),
        reverse("inventory:backorder_queue"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# SKU page --------------------------------------------------------------------------------


def test_sku_page_shows_levels_and_movement_history(inventory_client, stocked):
    response = inventory_client.get(reverse("inventory:variant_stock", args=[stocked.pk]))

    assert response.status_code == 200
    assert [lv.on_hand for lv in response.context["levels"]] == [5, 2]
    assert len(response.context["page"].object_list) == 2
    assert "Received" in response.text
    assert response.context["can_edit"]


def test_sku_page_history_is_paginated_with_fixed_queries(
    inventory_client, variant, store, give_stock
):
    url = reverse("inventory:variant_stock", args=[variant.pk])
    give_stock(variant, store, 1)
    few = queries(inventory_client, url)
    for _ in range(60):
        give_stock(variant, store, 1)

    assert queries(inventory_client, url) == few
    response = inventory_client.get(url, {"page": 2})
    assert len(response.context["page"].object_list) == 11


def test_sku_page_of_an_unknown_variant_is_404(inventory_client):
    assert (
        inventory_client.get(reverse("inventory:variant_stock", args=[999999])).status_code == 404
    )


# Adjust and transfer ---------------------------------------------------------------------


def test_adjust_changes_stock_and_says_so(inventory_client, stocked, store):
    url = reverse("inventory:stock_adjust", args=[stocked.pk])
    assert inventory_client.get(url).status_code == 200

    response = inventory_client.post(
        url, {"location": store.pk, "delta": "-2", "reason": "Chipped"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("inventory:variant_stock", args=[stocked.pk])
    assert "CUP-GREEN at Main Street store: -2, now 3 on hand." in response.text
    move = StockMovement.objects.get(kind="adjust")
    assert (move.reason, move.actor) == ("Chipped", inventory_client.user)


def test_adjust_below_reserved_shows_the_error_and_changes_nothing(
    inventory_client, stocked, store
):
    stock_reserve(lines=[(stocked.pk, 5)], actor=None)
    response = inventory_client.post(
        reverse("inventory:stock_adjust", args=[stocked.pk]),
        {"location": store.pk, "delta": "-1", "reason": "Count"},
    )

    assert response.status_code == 200
    assert "below the 5 reserved for orders" in response.text
    assert "Nothing was changed" in response.text
    assert level(stocked, store).on_hand == 5


def test_adjust_needs_a_reason_and_a_nonzero_change(inventory_client, stocked, store):
    response = inventory_client.post(
        reverse("inventory:stock_adjust", args=[stocked.pk]),
        {"location": store.pk, "delta": "0", "reason": ""},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"delta", "reason"}


def test_adjust_and_transfer_are_refused_to_readers(staff_client_for, stocked, store):
    client = staff_client_for(Role.FULFILLMENT)
    adjust = client.post(
        reverse("inventory:stock_adjust", args=[stocked.pk]),
        {"location": store.pk, "delta": "5", "reason": "x"},
    )
    transfer = client.get(reverse("inventory:stock_transfer", args=[stocked.pk]))

    assert (adjust.status_code, transfer.status_code) == (403, 403)
    assert level(stocked, store).on_hand == 5


def test_transfer_moves_units_and_flashes(inventory_client, stocked, store, warehouse):
    response = inventory_client.post(
        reverse("inventory:stock_transfer", args=[stocked.pk]),
        {"from_location": store.pk, "to_location": warehouse.pk, "quantity": "3"},
        follow=True,
    )

    assert "Moved 3 × CUP-GREEN from Main Street store to Warehouse." in response.text
    assert (level(stocked, store).on_hand, level(stocked, warehouse).on_hand) == (2, 5)


def test_transfer_of_more_than_available_shows_why(inventory_client, stocked, store, warehouse):
    response = inventory_client.post(
        reverse("inventory:stock_transfer", args=[stocked.pk]),
        {"from_location": warehouse.pk, "to_location": store.pk, "quantity": "3"},
    )

    assert response.status_code == 200
    assert "Only 2 of CUP-GREEN available at Warehouse" in response.text
    assert level(stocked, warehouse).on_hand == 2


# Backorders ------------------------------------------------------------------------------


@pytest.fixture
def backorder(variant):
    return stock_reserve(lines=[(variant.pk, 2)], actor=None, reference="#3001").backorders[0]


def test_backorder_queue_lists_waiting_lines(staff_client_for, backorder):
    response = staff_client_for(Role.CUSTOMER_SERVICE).get(reverse("inventory:backorder_queue"))

    assert response.status_code == 200
    assert "#3001" in response.text and "CUP-GREEN" in response.text


def test_backorder_queue_takes_the_same_queries_for_one_or_many(inventory_client, backorder):
    url = reverse("inventory:backorder_queue")
    few = queries(inventory_client, url)
    for _ in range(30):
        stock_reserve(lines=[(VariantFactory().pk, 1)], actor=None)

    assert queries(inventory_client, url) == few


def test_backorder_queue_is_refused_to_other_roles(staff_client_for, backorder):
    response = staff_client_for(Role.BOOKKEEPER).get(reverse("inventory:backorder_queue"))
    assert response.status_code == 403
    assert "#3001" not in response.text


def test_contacting_the_customer_from_the_backorder_page(staff_client_for, backorder):
    client = staff_client_for(Role.CUSTOMER_SERVICE)
    url = reverse("inventory:backorder_detail", args=[backorder.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url, {"action": "contact", "contact-note": "Emailed: two weeks."}, follow=True
    )

    assert "Recorded the contact with the customer." in response.text
    backorder.refresh_from_db()
    assert (backorder.status, backorder.note) == (
        Backorder.Status.CUSTOMER_CONTACTED,
        "Emailed: two weeks.",
    )


def test_substitute_with_an_unknown_sku_shows_the_error(inventory_client, backorder):
    response = inventory_client.post(
        reverse("inventory:backorder_detail", args=[backorder.pk]),
        {"action": "substitute", "substitute-variant": "NOPE-404"},
    )

    assert response.status_code == 200
    assert "There is no variant with that SKU." in response.text
    backorder.refresh_from_db()
    assert backorder.status == Backorder.Status.OPEN


def test_substitute_without_stock_shows_the_shortage(inventory_client, backorder):
    VariantFactory(sku="CUP-BLUE")
    response = inventory_client.post(
        reverse("inventory:backorder_detail", args=[backorder.pk]),
        {"action": "substitute", "substitute-variant": " CUP-BLUE "},
    )

    assert response.status_code == 200
    assert "Not enough stock for CUP-BLUE: 2 wanted, 0 available." in response.text


def test_reserve_now_without_stock_shows_the_shortage(inventory_client, backorder):
    response = inventory_client.post(
        reverse("inventory:backorder_detail", args=[backorder.pk]), {"action": "reserve"}
    )
    assert response.status_code == 200
    assert "Not enough stock for CUP-GREEN: 2 wanted, 0 available." in response.text


def test_readers_see_a_backorder_but_cannot_act_on_it(staff_client_for, backorder):
    client = staff_client_for(Role.FULFILLMENT)
    url = reverse("inventory:backorder_detail", args=[backorder.pk])

    page = client.get(url)
    refused = client.post(url, {"action": "cancel", "cancel-reason": "no"})

    assert page.status_code == 200
    assert 'name="action"' not in page.text
    assert refused.status_code == 403
    backorder.refresh_from_db()
    assert backorder.status == Backorder.Status.OPEN


def test_acting_on_a_settled_line_says_so(inventory_client, backorder):
    Backorder.objects.filter(pk=backorder.pk).update(status=Backorder.Status.CANCELLED)
    response = inventory_client.post(
        reverse("inventory:backorder_detail", args=[backorder.pk]),
        {"action": "contact", "contact-note": "hello"},
        follow=True,
    )
    assert "This line is already settled (line cancelled)." in response.text
