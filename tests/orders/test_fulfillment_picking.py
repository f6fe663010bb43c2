"""The ship flow's services: pick lists, picking, packing by scan, shipping; and the race."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections

from inventory.models import StockLevel, StockMovement
from orders.models import CustomerNotice, OrderEvent, PickList, Shipment
from orders.services.fulfillment import shipment_transition
from orders.services.picking import (
    pack_reset,
    pack_scan,
    pick_list_complete,
    pick_list_create,
    pick_list_rows,
    shipment_pack_close,
    shipment_pick,
    shipment_ship,
)
from tests.catalog.factories import BarcodedVariantFactory
from tests.orders.fulfillment_factories import (
    add_stock,
    approved_order,
    ensure_carrier,
    stocked_variant,
    warehouse,
)

S = Shipment.Status


def picked(shipment, actor=None):
    return shipment_pick(shipment_id=shipment.pk, actor=actor)


def scan_all(shipment):
    for line in shipment.lines.select_related("variant"):
        for _ in range(line.quantity):
            pack_scan(shipment_id=shipment.pk, code=line.variant.barcode, actor=None)


# Pick lists --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pick_list_groups_by_sku_and_sorts_by_bin(role_user):
    picker = role_user("Fulfillment")
    wh = warehouse()
    mug = stocked_variant(wh, bin="B-02", sku="MUG")
    plate = stocked_variant(wh, bin="A-10", sku="PLATE")
    bowl = stocked_variant(wh, sku="BOWL")  # no bin: last
    one = approved_order([(mug, 2), (plate, 1)]).shipments.get()
    two = approved_order([(mug, 1), (bowl, 1)]).shipments.get()

    pick_list = pick_list_create(location_id=wh.pk, shipment_ids=[one.pk, two.pk], actor=picker)

    rows = pick_list_rows(pick_list)
    assert [(r.bin, r.sku, r.quantity) for r in rows] == [
        ("A-10", "PLATE", 1),
        ("B-02", "MUG", 3),
        ("", "BOWL", 1),
    ]
    assert rows[1].shipments == sorted([(one.number, 2), (two.number, 1)])
    assert pick_list.created_by == picker
    for shipment in (one, two):
        shipment.refresh_from_db()
        assert (shipment.status, shipment.pick_list_id) == (S.PICKING, pick_list.pk)


@pytest.mark.django_db
def test_pick_list_rows_take_a_fixed_number_of_queries(django_assert_num_queries):
    wh = warehouse()
    ids = []
    for n in range(6):
        variant = stocked_variant(wh, bin=f"A-{n}")
        ids.append(approved_order([(variant, 1)]).shipments.get().pk)
    small = pick_list_create(location_id=wh.pk, shipment_ids=ids[:2], actor=None)
    large = pick_list_create(location_id=wh.pk, shipment_ids=ids[2:], actor=None)
    with django_assert_num_queries(1):
        pick_list_rows(small)
    with django_assert_num_queries(1):
        pick_list_rows(large)


@pytest.mark.django_db
def test_pick_list_refuses_another_locations_shipment():
    first, second = warehouse(), warehouse()
    here = approved_order([(stocked_variant(first), 1)]).shipments.get()
    there = approved_order([(stocked_variant(second), 1)]).shipments.get()
    with pytest.raises(ValidationError, match="picked at"):
        pick_list_create(location_id=first.pk, shipment_ids=[here.pk, there.pk], actor=None)
    here.refresh_from_db()
    assert here.status == S.PENDING
    assert not PickList.objects.exists()


@pytest.mark.django_db
def test_pick_list_refuses_a_shipment_already_being_picked():
    wh = warehouse()
    shipment = approved_order([(stocked_variant(wh), 1)]).shipments.get()
    pick_list_create(location_id=wh.pk, shipment_ids=[shipment.pk], actor=None)
    with pytest.raises(ValidationError, match="not waiting to be picked"):
        pick_list_create(location_id=wh.pk, shipment_ids=[shipment.pk], actor=None)
    assert PickList.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("ids", [[], [987654]])
def test_pick_list_refuses_empty_or_unknown(ids):
    wh = warehouse()
    with pytest.raises(ValidationError):
        pick_list_create(location_id=wh.pk, shipment_ids=ids, actor=None)


@pytest.mark.django_db
def test_pick_list_complete_marks_its_shipments_picked(role_user):
    picker = role_user("Fulfillment")
    wh = warehouse()
    shipment = approved_order([(stocked_variant(wh), 3)]).shipments.get()
    pick_list = pick_list_create(location_id=wh.pk, shipment_ids=[shipment.pk], actor=picker)
    pick_list = pick_list_complete(pick_list_id=pick_list.pk, actor=picker)
    assert pick_list.status == PickList.Status.DONE
    shipment.refresh_from_db()
    assert (shipment.status, shipment.picked_by) == (S.PICKED, picker)
    assert shipment.lines.get().quantity_picked == 3
    with pytest.raises(ValidationError, match="already"):
        pick_list_complete(pick_list_id=pick_list.pk, actor=picker)


@pytest.mark.django_db
def test_pick_list_complete_skips_a_cancelled_shipment():
    from orders.services.fulfillment import shipment_cancel

    wh = warehouse()
    one = approved_order([(stocked_variant(wh), 1)]).shipments.get()
    two = approved_order([(stocked_variant(wh), 1)]).shipments.get()
    pick_list = pick_list_create(location_id=wh.pk, shipment_ids=[one.pk, two.pk], actor=None)
    shipment_cancel(shipment_id=two.pk, actor=None, reason="Customer cancelled")
    pick_list_complete(pick_list_id=pick_list.pk, actor=None)
    assert Shipment.objects.get(pk=one.pk).status == S.PICKED
    assert Shipment.objects.get(pk=two.pk).status == S.CANCELLED


# Packing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_scanning_ticks_units_by_barcode_or_sku():
    wh = warehouse()
    mug = stocked_variant(wh, sku="MUG-RED")
    shipment = picked(approved_order([(mug, 2)]).shipments.get())
    first = pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    assert (first.packed, first.quantity, first.complete) == (1, 2, False)
    second = pack_scan(shipment_id=shipment.pk, code=" mug-red ", actor=None)
    assert (second.packed, second.complete) == (2, True)
    assert shipment.lines.get().quantity_packed == 2


@pytest.mark.django_db
def test_wrong_item_is_refused_and_changes_nothing():
    wh = warehouse()
    mug = stocked_variant(wh)
    other = BarcodedVariantFactory()
    shipment = picked(approved_order([(mug, 1)]).shipments.get())
    with pytest.raises(ValidationError, match="Wrong item"):
        pack_scan(shipment_id=shipment.pk, code=other.barcode, actor=None)
    assert shipment.lines.get().quantity_packed == 0


@pytest.mark.django_db
def test_one_too_many_is_refused():
    wh = warehouse()
    mug = stocked_variant(wh)
    shipment = picked(approved_order([(mug, 1)]).shipments.get())
    pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    with pytest.raises(ValidationError, match="One too many"):
        pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    assert shipment.lines.get().quantity_packed == 1


@pytest.mark.django_db
def test_scanning_before_picking_is_refused():
    mug = stocked_variant(warehouse())
    shipment = approved_order([(mug, 1)]).shipments.get()
    with pytest.raises(ValidationError, match="only a picked shipment"):
        pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)


@pytest.mark.django_db
def test_empty_scan_is_refused():
    shipment = picked(approved_order([(stocked_variant(warehouse()), 1)]).shipments.get())
    with pytest.raises(ValidationError, match="Scan a barcode"):
        pack_scan(shipment_id=shipment.pk, code="  ", actor=None)


@pytest.mark.django_db
def test_parcel_closes_only_when_every_unit_is_scanned(role_user):
    packer = role_user("Fulfillment")
    wh = warehouse()
    mug, plate = stocked_variant(wh), stocked_variant(wh)
    shipment = picked(approved_order([(mug, 2), (plate, 1)]).shipments.get())
    pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    with pytest.raises(ValidationError, match="cannot close yet"):
        shipment_pack_close(shipment_id=shipment.pk, actor=packer)
    assert Shipment.objects.get(pk=shipment.pk).status == S.PICKED
    pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    pack_scan(shipment_id=shipment.pk, code=plate.barcode, actor=None)
    shipment = shipment_pack_close(shipment_id=shipment.pk, actor=packer)
    assert (shipment.status, shipment.packed_by) == (S.PACKED, packer)


@pytest.mark.django_db
def test_pack_restart_clears_the_scans():
    mug = stocked_variant(warehouse())
    shipment = picked(approved_order([(mug, 2)]).shipments.get())
    pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)
    pack_reset(shipment_id=shipment.pk, actor=None)
    assert shipment.lines.get().quantity_packed == 0


# Shipping ----------------------------------------------------------------------------------


def packed_shipment(on_hand=10, quantity=1, **order_fields):
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=on_hand)
    shipment = picked(approved_order([(mug, quantity)], **order_fields).shipments.get())
    scan_all(shipment)
    return shipment_pack_close(shipment_id=shipment.pk, actor=None), mug, wh


@pytest.mark.django_db
def test_ship_records_carrier_tracking_and_who(role_user, django_capture_on_commit_callbacks):
    shipper = role_user("Fulfillment")
    shipment, mug, wh = packed_shipment(quantity=2)
    carrier = ensure_carrier()
    with django_capture_on_commit_callbacks() as callbacks:
        shipment = shipment_ship(
            shipment_id=shipment.pk,
            carrier_id=carrier.pk,
            tracking_number=" 1Z 999 AA1 ",
            actor=shipper,
        )
    assert (shipment.status, shipment.carrier, shipment.tracking_number) == (
        S.SHIPPED,
        carrier,
        "1Z999AA1",
    )
    assert shipment.shipped_by == shipper
    level = StockLevel.objects.get(variant=mug, location=wh)
    assert (level.on_hand, level.reserved) == (8, 0)
    assert CustomerNotice.objects.filter(shipment=shipment, kind="shipped").count() == 1
    assert len(callbacks) == 1  # the notice's send, after commit
    step = shipment.order.events.get(type=OrderEvent.Type.FULFILLMENT, data__step="shipped")
    assert step.data["tracking_number"] == "1Z999AA1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("carrier_ok", "tracking", "message"),
    [(True, "  ", "tracking number"), (False, "1Z", "carriers"), (True, "X" * 101, "at most")],
)
def test_ship_refuses_bad_input_and_changes_nothing(carrier_ok, tracking, message):
    shipment, mug, wh = packed_shipment()
    carrier = ensure_carrier()
    if not carrier_ok:
        carrier.active = False
        carrier.save()
    with pytest.raises(ValidationError, match=message):
        shipment_ship(
            shipment_id=shipment.pk, carrier_id=carrier.pk, tracking_number=tracking, actor=None
        )
    shipment.refresh_from_db()
    assert shipment.status == S.PACKED
    assert StockLevel.objects.get(variant=mug, location=wh).on_hand == 10
    assert not CustomerNotice.objects.exists()


@pytest.mark.django_db
def test_ship_refuses_a_parcel_not_packed():
    mug = stocked_variant(warehouse())
    shipment = picked(approved_order([(mug, 1)]).shipments.get())
    with pytest.raises(ValidationError, match="cannot become shipped"):
        shipment_ship(
            shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="1", actor=None
        )


@pytest.mark.django_db
def test_partial_shipment_ships_what_is_here_and_the_rest_later():
    first, second = warehouse(), warehouse()
    mug = stocked_variant(first, on_hand=1)
    add_stock(mug, second, on_hand=1)
    order = approved_order([(mug, 2)])
    one, two = order.shipments.order_by("number")
    for shipment in (one, two):
        shipment = picked(shipment)
        scan_all(shipment)
        shipment_pack_close(shipment_id=shipment.pk, actor=None)
    shipment_ship(
        shipment_id=one.pk, carrier_id=ensure_carrier().pk, tracking_number="A", actor=None
    )
    order.refresh_from_db()
    assert order.status == "partially_fulfilled"
    shipment_ship(
        shipment_id=two.pk, carrier_id=ensure_carrier().pk, tracking_number="B", actor=None
    )
    order.refresh_from_db()
    assert order.status == "fulfilled"
    assert CustomerNotice.objects.filter(order=order, kind="shipped").count() == 2


@pytest.mark.django_db
def test_shipment_shipped_is_sent_once_when_the_parcel_leaves():
    from orders.signals import shipment_shipped

    shipment, _, _ = packed_shipment()
    sent = []

    def listener(sender, shipment, actor, **kwargs):
        sent.append((shipment.number, shipment.status))

    shipment_shipped.connect(listener)
    try:
        shipment_ship(
            shipment_id=shipment.pk,
            carrier_id=ensure_carrier().pk,
            tracking_number="T1",
            actor=None,
        )
        shipment_transition(shipment_id=shipment.pk, to_status=S.DELIVERED, actor=None)
    finally:
        shipment_shipped.disconnect(listener)
    assert sent == [(shipment.number, S.SHIPPED)]


# Two people press "ship" at once -----------------------------------------------------------


def _race(targets: list) -> list:
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the loser's refusal is the result
            results[index] = exc
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(3))
def test_two_parallel_ships_commit_stock_once(run):
    shipment, mug, wh = packed_shipment(on_hand=5, quantity=2)
    carrier = ensure_carrier()

    def ship(tracking):
        return lambda: shipment_ship(
            shipment_id=shipment.pk, carrier_id=carrier.pk, tracking_number=tracking, actor=None
        )

    results = _race([ship("T1"), ship("T2")])

    shipped = [r for r in results if isinstance(r, Shipment)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(shipped) == 1 and len(refused) == 1, results
    level = StockLevel.objects.get(variant=mug, location=wh)
    assert (level.on_hand, level.reserved) == (3, 0)
    moves = StockMovement.objects.filter(variant=mug, kind=StockMovement.Kind.SHIP)
    assert list(moves.values_list("on_hand_delta", flat=True)) == [-2]
    assert CustomerNotice.objects.filter(shipment=shipment).count() == 1
    assert Shipment.objects.get(pk=shipment.pk).tracking_number == shipped[0].tracking_number


@pytest.mark.django_db(transaction=True)
def test_parallel_scans_of_the_last_unit_tick_it_once():
    mug = stocked_variant(warehouse())
    shipment = picked(approved_order([(mug, 1)]).shipments.get())
    results = _race([lambda: pack_scan(shipment_id=shipment.pk, code=mug.barcode, actor=None)] * 2)
    assert sum(isinstance(r, ValidationError) for r in results) == 1
    assert shipment.lines.get().quantity_packed == 1


@pytest.mark.django_db
def test_shipment_transition_from_shipped_back_is_refused():
    shipment, _, _ = packed_shipment()
    shipment_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="Z", actor=None
    )
    with pytest.raises(ValidationError):
        shipment_transition(shipment_id=shipment.pk, to_status=S.PACKED, actor=None)


# The fulfillment page's queues -----------------------------------------------------------


@pytest.mark.django_db
def test_the_queues_read_the_same_rows_on_postgresql_and_elsewhere():
    from orders.services.picking import _fulfillment_queues_portable, fulfillment_queues

    wh = warehouse()
    mug, jug = stocked_variant(wh, on_hand=50), stocked_variant(wh, on_hand=50)
    shipments = [approved_order([(mug, 2), (jug, 1)]).shipments.get() for _ in range(4)]
    picked(shipments[0])
    picked(shipments[1])
    scan_all(shipments[1])
    shipment_pack_close(shipment_id=shipments[1].pk, actor=None)
    limits = {"pick": 2, "pack": 5, "ship": 5}

    queues = fulfillment_queues(location_id=wh.pk, limits=limits)

    assert queues == _fulfillment_queues_portable(location_id=wh.pk, limits=limits)
    assert [row.pk for row in queues["pick"]] == [shipments[2].pk, shipments[3].pk]
    assert [row.pk for row in queues["pack"]] == [shipments[0].pk]
    assert [(row.pk, row.units, row.line_count) for row in queues["ship"]] == [
        (shipments[1].pk, 3, 2)
    ]
