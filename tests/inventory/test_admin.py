import pytest
from django.urls import reverse

from inventory.models import Reservation, StockMovement
from inventory.services import stock_reserve
from tests.catalog.factories import VariantFactory
from tests.inventory.support import level

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(store, give_stock):
    variant = VariantFactory(sku="JUG-1")
    give_stock(variant, store, 4)
    return variant


def test_movements_can_be_read_but_not_changed_or_deleted(admin_client, stocked):
    move = StockMovement.objects.get()

    assert admin_client.get(reverse("admin:inventory_stockmovement_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:inventory_stockmovement_change", args=[move.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    delete = admin_client.post(
        reverse("admin:inventory_stockmovement_delete", args=[move.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    assert StockMovement.objects.filter(pk=move.pk).exists()


def test_stock_levels_cannot_be_edited_in_the_admin(admin_client, stocked, store):
    stock = level(stocked, store)
    admin_client.post(
        reverse("admin:inventory_stocklevel_change", args=[stock.pk]),
        {"on_hand": 100, "reserved": 0},
    )
    assert level(stocked, store).on_hand == 4


def test_release_action_goes_through_the_service(admin_client, stocked, store):
    hold = stock_reserve(lines=[(stocked.pk, 3)], actor=None).reservations[0]

    response = admin_client.post(
        reverse("admin:inventory_reservation_changelist"),
        {"action": "release", "_selected_action": [hold.pk]},
        follow=True,
    )

    assert "1 released." in response.text
    assert Reservation.objects.get(pk=hold.pk).status == "released"
    assert level(stocked, store).reserved == 0
    assert StockMovement.objects.filter(kind="release").count() == 1


def test_backorder_admin_shows_its_timeline(admin_client, stocked):
    backorder = stock_reserve(lines=[(stocked.pk, 9)], actor=None).backorders[0]
    page = admin_client.get(reverse("admin:inventory_backorder_change", args=[backorder.pk]))
    assert page.status_code == 200
    assert "Backordered" in page.text
