"""Shipments of an approved order: creation, transitions, stock, cancelling."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

import orders.receivers_fulfillment  # noqa: F401  (OrdersConfig.ready() imports it too)
from inventory.models import Backorder, Reservation, StockLevel, StockMovement
from inventory.services.stock import stock_receive
from opsdesk.processes.models import WorkItem
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, Shipment, ShipmentEvent
from orders.services.fulfillment import (
    shipment_cancel,
    shipment_stock_commit,
    shipment_transition,
    shipments_create_for_order,
    shipments_create_missing,
)
from orders.services.review import order_cancel
from tests.catalog.factories import VariantFactory, VendorFactory
from tests.orders.fulfillment_factories import (
    add_stock,
    approved_order,
    ensure_carrier,
    order_for,
    stocked_variant,
    warehouse,
)

pytestmark = pytest.mark.django_db
S = Shipment.Status


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def open_items(shipment) -> list[tuple[str, str]]:
    return list(
        WorkItem.objects.filter(
            source_type=ContentType.objects.get_for_model(Shipment),
            source_id=shipment.pk,
            status=WorkItem.Status.OPEN,
        ).values_list("process__key", "title")
    )


def walk(shipment, *statuses, actor=None, **last_fields):
    for status in statuses:
        fields = last_fields if status == statuses[-1] else {}
        shipment = shipment_transition(
            shipment_id=shipment.pk, to_status=status, actor=actor, **fields
        )
    return shipment


# Creating ----------------------------------------------------------------------------------


def test_approval_makes_one_shipment_per_location_with_its_reservations():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=5)
    order = approved_order([(mug, 2)], number="#5001")

    (shipment,) = order.shipments.all()
    assert shipment.number == "#5001-1"
    assert shipment.method == "ship"
    assert shipment.location == wh
    assert shipment.status == S.PENDING
    assert shipment.ship_to == order.shipping_address
    (line,) = shipment.lines.all()
    assert (line.variant, line.quantity) == (mug, 2)
    assert line.reservation.status == Reservation.Status.ACTIVE
    assert open_items(shipment) == [("pick_pack_ship", "Pick #5001-1")]
    event = order.events.get(type=OrderEvent.Type.FULFILLMENT)
    assert event.data["step"] == "created"
    assert event.data["shipment"] == "#5001-1"


def test_order_split_over_two_locations_gets_two_shipments():
    first, second = warehouse(), warehouse()
    mug = stocked_variant(first, on_hand=2)
    add_stock(mug, second, on_hand=5)
    plate = stocked_variant(second, on_hand=5)
    order = approved_order([(mug, 4), (plate, 1)])

    shipments = list(order.shipments.order_by("number"))
    assert len(shipments) == 2
    units = {
        s.location_id: sorted((ln.variant.sku, ln.quantity) for ln in s.lines.all())
        for s in shipments
    }
    assert units[first.pk] == [(mug.sku, 2)]
    assert units[second.pk] == sorted([(mug.sku, 2), (plate.sku, 1)])


def test_two_lines_of_one_sku_share_the_reservation():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=20)
    order = approved_order([(mug, 6), (mug, 6)])
    (shipment,) = order.shipments.all()
    lines = list(shipment.lines.all())
    assert [ln.quantity for ln in lines] == [6, 6]
    assert lines[0].reservation_id == lines[1].reservation_id
    assert {ln.order_line_id for ln in lines} == set(order.lines.values_list("pk", flat=True))


def test_drop_ship_lines_get_one_shipment_per_vendor():
    wh = warehouse()
    own = stocked_variant(wh)
    vendor_a, vendor_b = VendorFactory(drop_ships=True), VendorFactory(drop_ships=True)
    a1 = VariantFactory(product__vendor=vendor_a)
    a2 = VariantFactory(product__vendor=vendor_a)
    b1 = VariantFactory(product__vendor=vendor_b)
    order = approved_order([(own, 1), (a1, 1), (a2, 2), (b1, 1)], drop_ship=(a1, a2, b1))

    drops = order.shipments.filter(method="drop_ship")
    assert {s.vendor_id for s in drops} == {vendor_a.pk, vendor_b.pk}
    assert all(s.location_id is None for s in drops)
    assert drops.get(vendor=vendor_a).lines.count() == 2
    assert order.shipments.filter(method="ship").count() == 1
    assert open_items(drops.get(vendor=vendor_b))[0][0] == "drop_ship"


def test_store_pickup_shipment_keeps_the_pickup_location():
    shop = warehouse()
    mug = stocked_variant(shop)
    order = approved_order([(mug, 1)], method="store_pickup", pickup_location=shop)
    shipment = order.shipments.get()
    assert shipment.method == "store_pickup"
    assert shipment.pickup_location == shop


def test_creating_again_makes_nothing_new():
    mug = stocked_variant(warehouse())
    order = approved_order([(mug, 1)])
    assert shipments_create_for_order(order=order, actor=None) == []
    assert order.shipments.count() == 1


def test_order_not_approved_gets_no_shipments():
    mug = stocked_variant(warehouse())
    order = order_for([(mug, 1)])
    assert shipments_create_for_order(order=order, actor=None) == []
    assert not Shipment.objects.filter(order=order).exists()


def test_backordered_order_gets_its_shipment_when_stock_arrives(
    django_capture_on_commit_callbacks,
):
    wh = warehouse()
    mug = VariantFactory()
    order = order_for([(mug, 3)])
    assert Backorder.objects.filter(variant=mug).count() == 1
    order = approved_order_from(order)
    assert order.shipments.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(variant_id=mug.pk, location_id=wh.pk, quantity=5, actor=None)

    shipment = order.shipments.get()
    assert shipment.lines.get().quantity == 3
    assert shipment.number.endswith("-1")


def test_missing_shipments_are_made_by_the_sweep():
    """The backorder's after-commit call never ran (the process stopped): the sweep makes up."""
    from orders import tasks_fulfillment

    wh = warehouse()
    mug = VariantFactory()
    order = approved_order_from(order_for([(mug, 2)]))
    stock_receive(variant_id=mug.pk, location_id=wh.pk, quantity=5, actor=None)  # no callbacks
    assert order.shipments.count() == 0
    tasks_fulfillment.shipments_create_missing_task.run()
    assert order.shipments.get().lines.get().quantity == 2
    assert shipments_create_missing() == 0


def approved_order_from(order):
    from orders.services.review import order_approve

    return order_approve(order_id=order.pk, actor=None)


# Transitions -------------------------------------------------------------------------------


def test_ship_flow_steps_are_recorded_with_who_and_when(role_user):
    picker = role_user("Fulfillment")
    carrier = ensure_carrier()
    mug = stocked_variant(warehouse())
    order = approved_order([(mug, 1)])
    shipment = order.shipments.get()

    shipment = walk(shipment, S.PICKING, S.PICKED, actor=picker)
    assert shipment.picked_by == picker and shipment.picked_at is not None
    assert open_items(shipment) == [("pick_pack_ship", f"Pack {shipment.number}")]
    shipment = walk(shipment, S.PACKED, actor=picker)
    assert open_items(shipment) == [("pick_pack_ship", f"Ship {shipment.number}")]
    shipment = walk(shipment, S.SHIPPED, actor=picker, carrier=carrier, tracking_number="1Z9")
    assert shipment.shipped_by == picker
    assert open_items(shipment) == []
    assert list(
        ShipmentEvent.objects.filter(shipment=shipment, from_status__gt="").values_list(
            "type", "actor"
        )
    ) == [(s, picker.pk) for s in ("picking", "picked", "packed", "shipped")]
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), S.PACKED),
        ((), S.SHIPPED),
        ((S.PICKING,), S.PACKED),
        ((S.PICKING, S.PICKED), S.SHIPPED),
        ((S.PICKING, S.PICKED), S.READY_FOR_PICKUP),  # not the ship method's flow
        ((S.PICKING, S.PICKED, S.PACKED), S.OUT_FOR_DELIVERY),
        ((), S.VENDOR_PENDING),
    ],
)
def test_ship_flow_refuses_steps_out_of_order(path, refused):
    mug = stocked_variant(warehouse())
    shipment = approved_order([(mug, 1)]).shipments.get()
    shipment = walk(shipment, *path) if path else shipment
    with pytest.raises(ValidationError, match="cannot become"):
        shipment_transition(shipment_id=shipment.pk, to_status=refused, actor=None)
    shipment.refresh_from_db()
    assert shipment.status == (path[-1] if path else S.PENDING)


def test_shipped_without_tracking_is_refused_by_the_database():
    from django.db import IntegrityError, transaction

    mug = stocked_variant(warehouse())
    shipment = approved_order([(mug, 1)]).shipments.get()
    shipment = walk(shipment, S.PICKING, S.PICKED, S.PACKED)
    with pytest.raises(IntegrityError), transaction.atomic():
        shipment_transition(shipment_id=shipment.pk, to_status=S.SHIPPED, actor=None)


def test_transition_refuses_unknown_or_protected_fields():
    mug = stocked_variant(warehouse())
    shipment = approved_order([(mug, 1)]).shipments.get()
    with pytest.raises(ValidationError, match="no field"):
        shipment_transition(shipment_id=shipment.pk, to_status=S.PICKING, actor=None, colour=1)
    with pytest.raises(ValidationError, match="cannot set"):
        shipment_transition(shipment_id=shipment.pk, to_status=S.PICKING, actor=None, order=None)


def test_one_of_two_shipments_shipped_makes_the_order_partly_fulfilled():
    first, second = warehouse(), warehouse()
    mug = stocked_variant(first, on_hand=1)
    plate = stocked_variant(second, on_hand=1)
    order = approved_order([(mug, 1), (plate, 1)])
    one, two = order.shipments.order_by("number")
    carrier = ensure_carrier()
    walk(one, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED, carrier=carrier, tracking_number="A1")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED
    walk(two, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED, carrier=carrier, tracking_number="A2")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_partly_backordered_order_stays_partly_fulfilled_until_the_rest_ships():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=5)
    order = approved_order([(mug, 2)])
    # A line added for a unit that is not in any shipment yet (e.g. still backordered).
    plate = VariantFactory()
    order.lines.create(variant=plate, sku=plate.sku, title="Plate", quantity=1, unit_price=1)
    shipment = order.shipments.get()
    walk(
        shipment, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED,
        carrier=ensure_carrier(), tracking_number="Z",
    )  # fmt: skip
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED


# Stock -------------------------------------------------------------------------------------


def test_shipping_commits_the_reserved_stock_once():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=10)
    shipment = approved_order([(mug, 3)]).shipments.get()
    assert (level(mug, wh).on_hand, level(mug, wh).reserved) == (10, 3)
    walk(
        shipment, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED,
        carrier=ensure_carrier(), tracking_number="1Z",
    )  # fmt: skip
    assert (level(mug, wh).on_hand, level(mug, wh).reserved) == (7, 0)
    assert StockMovement.objects.filter(variant=mug, kind=StockMovement.Kind.SHIP).count() == 1

    shipment.refresh_from_db()
    assert shipment_stock_commit(shipment, None) is False
    assert level(mug, wh).on_hand == 7
    assert StockMovement.objects.filter(variant=mug, kind=StockMovement.Kind.SHIP).count() == 1


def test_shipping_twice_is_refused():
    mug = stocked_variant(warehouse())
    shipment = approved_order([(mug, 1)]).shipments.get()
    walk(
        shipment, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED,
        carrier=ensure_carrier(), tracking_number="1Z",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="shipped"):
        shipment_transition(
            shipment_id=shipment.pk, to_status=S.SHIPPED, actor=None, tracking_number="2"
        )


# Cancelling --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [(), (S.PICKING,), (S.PICKING, S.PICKED, S.PACKED)])
def test_cancelling_a_shipment_releases_its_stock_and_closes_its_work(path):
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=10)
    shipment = approved_order([(mug, 4)]).shipments.get()
    shipment = walk(shipment, *path) if path else shipment
    shipment = shipment_cancel(shipment_id=shipment.pk, actor=None, reason="Customer asked")
    assert shipment.status == S.CANCELLED
    assert shipment.cancelled_at is not None
    assert (level(mug, wh).on_hand, level(mug, wh).reserved) == (10, 0)
    assert open_items(shipment) == []
    assert shipment.lines.get().reservation.status == Reservation.Status.RELEASED


def test_cancelling_needs_a_reason():
    shipment = approved_order([(stocked_variant(warehouse()), 1)]).shipments.get()
    with pytest.raises(ValidationError, match="why"):
        shipment_cancel(shipment_id=shipment.pk, actor=None, reason=" ")


def test_cancelling_a_shipped_shipment_is_refused():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=10)
    shipment = approved_order([(mug, 1)]).shipments.get()
    walk(
        shipment, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED,
        carrier=ensure_carrier(), tracking_number="1Z",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="cannot become cancelled"):
        shipment_cancel(shipment_id=shipment.pk, actor=None, reason="Too late")
    assert level(mug, wh).on_hand == 9


def test_order_cancel_cancels_open_shipments_and_releases_stock():
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=10)
    # Authorized, not paid: no refund is due (refunds are the returns area's).
    order = approved_order([(mug, 2)], payment_status=Order.PaymentStatus.AUTHORIZED)
    shipment = walk(order.shipments.get(), S.PICKING)
    order_cancel(order_id=order.pk, actor=None, reason="Fraud")
    shipment.refresh_from_db()
    assert shipment.status == S.CANCELLED
    assert level(mug, wh).reserved == 0
    assert open_items(shipment) == []


def test_order_cancel_is_refused_once_a_shipment_left():
    first, second = warehouse(), warehouse()
    mug = stocked_variant(first, on_hand=1)
    plate = stocked_variant(second, on_hand=1)
    order = approved_order([(mug, 1), (plate, 1)])
    one, two = order.shipments.order_by("number")
    walk(
        one, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED,
        carrier=ensure_carrier(), tracking_number="1Z",
    )  # fmt: skip
    with pytest.raises((ValidationError, InvalidTransition), match="already left"):
        order_cancel(order_id=order.pk, actor=None, reason="Changed mind")
    two.refresh_from_db()
    assert two.status == S.PENDING
    assert level(plate, second).reserved == 1
