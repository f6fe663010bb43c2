"""What inventory does to an order's stock appears on the order's timeline."""

import pytest

from inventory.models import Backorder
from inventory.services import backorder_cancel, stock_receive
from inventory.services.stock import stock_reserve, stock_set_from_pos
from orders.models import OrderEvent
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import LocationFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(owner_user):
    """An order holding 2 of 3 units at a store."""
    variant = VariantFactory(sku="MUG-1")
    store = LocationFactory(name="Main Street")
    stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=3, actor=owner_user)
    order = OrderFactory(number="5001")
    stock_reserve(lines=[(variant.pk, 2)], actor=owner_user, source=order, reference="5001")
    return order, variant, store


def test_a_pos_count_below_the_reserved_units_backorders_them_on_the_order_timeline(
    held, owner_user
):
    order, variant, store = held

    stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=1, actor=owner_user)

    event = OrderEvent.objects.get(order=order, type=OrderEvent.Type.BACKORDERED)
    assert event.data["lines"] == [{"sku": "MUG-1", "quantity": 2}]
    assert "POS counted fewer units at Main Street" in event.data["note"]


def test_a_pos_count_that_covers_the_reservations_writes_nothing_on_the_order(held, owner_user):
    order, variant, store = held

    stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=2, actor=owner_user)

    assert not OrderEvent.objects.filter(order=order).exists()


def test_stock_arriving_for_the_backorder_is_recorded_where_it_is_held(held, owner_user):
    order, variant, store = held
    stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=0, actor=owner_user)
    stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=5, actor=owner_user)

    reserved = OrderEvent.objects.get(order=order, type=OrderEvent.Type.STOCK_RESERVED)
    assert reserved.data["reservations"] == [
        {"sku": "MUG-1", "quantity": 2, "location": "Main Street"}
    ]


def test_a_cancelled_backorder_line_is_recorded_with_its_reason(held, owner_user):
    order, variant, store = held
    stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=0, actor=owner_user)
    backorder = Backorder.objects.get(source_id=order.pk)

    backorder_cancel(backorder_id=backorder.pk, actor=owner_user, reason="customer changed mind")

    note = OrderEvent.objects.filter(order=order).latest("pk").data["note"]
    assert note == "Backordered line cancelled: customer changed mind"
