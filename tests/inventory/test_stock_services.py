from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Product
from inventory import signals
from inventory.exceptions import InsufficientStock, NotReservable, ReservationUnavailable
from inventory.models import Backorder, BackorderEvent, Reservation, StockLevel, StockMovement
from inventory.services import (
    stock_adjust,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_return_restock,
    stock_set_from_pos,
    stock_ship,
    stock_transfer,
)
from opsdesk.processes.models import WorkItem
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.inventory.factories import LocationFactory, VendorLocationFactory
from tests.inventory.support import ledger_problems, level

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    return VariantFactory(sku="MUG-BLUE")


@pytest.fixture
def other():
    return VariantFactory(sku="MUG-RED")


@pytest.fixture
def staff(role_user):
    return role_user("Inventory", username="ivy")


@pytest.fixture
def sent():
    """Domain signals sent during the test: a list of (name, kwargs)."""
    log = []
    receivers = []
    for name in (
        "stock_reserved",
        "stock_released",
        "stock_shipped",
        "stock_received",
        "stock_returned",
        "stock_adjusted",
        "stock_transferred",
        "stock_synced_from_pos",
        "reservation_expired",
        "reservation_backordered",
        "backorder_opened",
        "backorder_reserved",
    ):

        def receiver(sender, _name=name, **kwargs):
            log.append((_name, kwargs))

        getattr(signals, name).connect(receiver, weak=False)
        receivers.append((name, receiver))
    yield log
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver)


def names(log) -> list[str]:
    return [name for name, _ in log]


# Reserve ---------------------------------------------------------------------------------


def test_reserve_takes_units_by_web_priority_and_records_them(
    variant, store, warehouse, give_stock, staff, sent
):
    give_stock(variant, store, 3)
    give_stock(variant, warehouse, 5)
    order = ProductFactory()  # any model stands in for the order line

    result = stock_reserve(lines=[(variant.pk, 5)], actor=staff, source=order, reference="#1001")

    assert not result.backordered
    held = {r.location_id: r.quantity for r in result.reservations}
    assert held == {store.pk: 3, warehouse.pk: 2}
    assert {r.reference for r in result.reservations} == {"#1001"}
    assert {r.source for r in result.reservations} == {order}
    assert (level(variant, store).reserved, level(variant, warehouse).reserved) == (3, 2)
    reserve_moves = StockMovement.objects.filter(kind=StockMovement.Kind.RESERVE)
    assert sorted(reserve_moves.values_list("reserved_delta", "on_hand_delta")) == [(2, 0), (3, 0)]
    assert {m.actor for m in reserve_moves} == {staff}
    assert names(sent).count("stock_reserved") == 1
    assert ledger_problems() == []


def test_reserve_adds_up_lines_of_one_sku_and_refuses_the_whole_order(
    variant, other, store, give_stock
):
    give_stock(variant, store, 10)
    give_stock(other, store, 10)
    before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(
            lines=[(variant.pk, 6), (other.pk, 1), (variant.pk, 6)],
            actor=None,
            allow_backorder=False,
        )

    (shortage,) = refused.value.shortages
    assert (shortage.sku, shortage.requested, shortage.available) == ("MUG-BLUE", 12, 10)
    assert "MUG-BLUE: 12 wanted, 10 available" in refused.value.messages[0]
    assert level(variant, store).reserved == level(other, store).reserved == 0
    assert StockMovement.objects.count() == before
    assert not Reservation.objects.exists()


def test_reserve_backorders_every_line_of_an_order_that_is_short(
    variant, other, store, give_stock, sent
):
    give_stock(variant, store, 5)
    give_stock(other, store, 1)

    result = stock_reserve(lines=[(variant.pk, 2), (other.pk, 3)], actor=None, reference="#1002")

    assert result.reservations == []
    assert sorted((b.variant_id, b.quantity) for b in result.backorders) == sorted(
        [(variant.pk, 2), (other.pk, 3)]
    )
    assert len({b.group for b in result.backorders}) == 1
    assert {b.status for b in result.backorders} == {Backorder.Status.OPEN}
    assert level(variant, store).reserved == level(other, store).reserved == 0
    assert BackorderEvent.objects.filter(type="created").count() == 2
    items = WorkItem.objects.filter(process__key="out_of_stock", status="open")
    assert items.count() == 2
    assert {i.title for i in items} == {
        "Backorder: 2 × MUG-BLUE for #1002",
        "Backorder: 3 × MUG-RED for #1002",
    }
    assert names(sent).count("backorder_opened") == 1
    assert "stock_reserved" not in names(sent)


def test_reserve_uses_only_active_stores_and_warehouses(variant, store, give_stock):
    give_stock(variant, store, 1)
    give_stock(variant, VendorLocationFactory(), 50)
    give_stock(variant, LocationFactory(name="Closed store", active=False), 50)

    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[(variant.pk, 2)], actor=None, allow_backorder=False)
    assert stock_reserve(lines=[(variant.pk, 1)], actor=None).reservations[0].location == store


@pytest.mark.parametrize(
    ("status", "published"),
    [(Product.Status.ARCHIVED, False), (Product.Status.DISCONTINUED, False)],
)
def test_reserve_refuses_items_not_for_sale_even_as_backorder(store, give_stock, status, published):
    variant = VariantFactory(product=ProductFactory(status=status, published=published))
    give_stock(variant, store, 5)

    with pytest.raises(NotReservable, match=variant.sku):
        stock_reserve(lines=[(variant.pk, 1)], actor=None, allow_backorder=True)
    assert not Backorder.objects.exists()
    assert level(variant, store).reserved == 0


def test_reserving_the_last_units_of_a_discontinued_item_unpublishes_it(
    store, give_stock, django_capture_on_commit_callbacks
):
    product = ProductFactory(status=Product.Status.DISCONTINUED, published=True)
    variant = VariantFactory(product=product)
    give_stock(variant, store, 2)

    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(lines=[(variant.pk, 1)], actor=None)
    product.refresh_from_db()
    assert product.published

    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(lines=[(variant.pk, 1)], actor=None)
    product.refresh_from_db()
    assert not product.published
    with pytest.raises(NotReservable):
        stock_reserve(lines=[(variant.pk, 1)], actor=None)


def test_an_order_short_of_a_discontinued_item_is_refused_not_backordered(store, give_stock):
    variant = VariantFactory(
        product=ProductFactory(status=Product.Status.DISCONTINUED, published=True)
    )
    give_stock(variant, store, 1)

    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[(variant.pk, 2)], actor=None, allow_backorder=True)
    assert not Backorder.objects.exists()


@pytest.mark.parametrize("lines", [[], [(1, 0)], [(1, -2)]])
def test_reserve_refuses_malformed_lines(lines):
    with pytest.raises(ValidationError):
        stock_reserve(lines=lines, actor=None)


def test_reserve_refuses_an_unknown_variant():
    with pytest.raises(ValidationError, match="no variant"):
        stock_reserve(lines=[(987654, 1)], actor=None)


def test_reserve_frees_expired_holds_before_it_counts(variant, store, give_stock, sent):
    give_stock(variant, store, 2)
    hold = stock_reserve(
        lines=[(variant.pk, 2)], actor=None, expires_at=timezone.now() + timedelta(minutes=5)
    ).reservations[0]
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    result = stock_reserve(lines=[(variant.pk, 2)], actor=None, allow_backorder=False)

    assert len(result.reservations) == 1
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.EXPIRED
    assert "reservation_expired" in names(sent)
    assert level(variant, store).reserved == 2
    assert ledger_problems() == []


# Release and ship ------------------------------------------------------------------------


def test_release_gives_units_back_once(variant, store, give_stock, staff):
    give_stock(variant, store, 4)
    hold = stock_reserve(lines=[(variant.pk, 3)], actor=None).reservations[0]

    released = stock_release(reservation_id=hold.pk, actor=staff, reason="Order cancelled")
    again = stock_release(reservation_id=hold.pk, actor=staff)

    assert released.status == again.status == Reservation.Status.RELEASED
    assert level(variant, store).reserved == 0
    move = StockMovement.objects.get(kind=StockMovement.Kind.RELEASE)
    assert (move.reserved_delta, move.reason, move.actor) == (-3, "Order cancelled", staff)
    assert ledger_problems() == []


def test_ship_takes_units_off_the_shelf_and_is_refused_the_second_time(
    variant, store, give_stock, staff, sent
):
    give_stock(variant, store, 4)
    hold = stock_reserve(lines=[(variant.pk, 3)], actor=None, reference="#7").reservations[0]

    shipped = stock_ship(reservation_id=hold.pk, actor=staff)
    with pytest.raises(ReservationUnavailable, match="already shipped"):
        stock_ship(reservation_id=hold.pk, actor=staff)
    with pytest.raises(ReservationUnavailable):
        stock_release(reservation_id=hold.pk, actor=staff)

    assert (shipped.status, shipped.quantity_shipped) == (Reservation.Status.SHIPPED, 3)
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (1, 0)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SHIP).count() == 1
    assert names(sent).count("stock_shipped") == 1
    assert ledger_problems() == []


def test_ship_in_parts_then_release_the_rest(variant, store, give_stock):
    give_stock(variant, store, 5)
    hold = stock_reserve(lines=[(variant.pk, 5)], actor=None).reservations[0]

    partly = stock_ship(reservation_id=hold.pk, actor=None, quantity=2)
    with pytest.raises(ValidationError, match="Only 3"):
        stock_ship(reservation_id=hold.pk, actor=None, quantity=4)
    stock_release(reservation_id=hold.pk, actor=None)

    assert (partly.status, partly.remaining) == (Reservation.Status.ACTIVE, 3)
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert ledger_problems() == []


def test_an_expired_hold_cannot_ship_even_before_the_sweep(variant, store, give_stock):
    give_stock(variant, store, 2)
    hold = stock_reserve(
        lines=[(variant.pk, 2)], actor=None, expires_at=timezone.now() + timedelta(minutes=1)
    ).reservations[0]
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ReservationUnavailable, match="expired") as refused:
        stock_ship(reservation_id=hold.pk, actor=None)

    assert refused.value.status == Reservation.Status.EXPIRED
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (2, 2)


def test_ship_of_an_unknown_reservation_is_refused():
    with pytest.raises(ValidationError, match="no reservation"):
        stock_ship(reservation_id=424242, actor=None)


# Adjust and transfer ---------------------------------------------------------------------


def test_adjust_records_the_reason_and_who(variant, store, give_stock, staff, sent):
    give_stock(variant, store, 5)

    stock_adjust(
        variant_id=variant.pk, location_id=store.pk, delta=-2, reason="Broken", actor=staff
    )
    result = stock_adjust(
        variant_id=variant.pk, location_id=store.pk, delta=4, reason="Found", actor=staff
    )

    assert result.on_hand == 7
    moves = StockMovement.objects.filter(kind=StockMovement.Kind.ADJUST).order_by("id")
    assert [(m.on_hand_delta, m.reason, m.actor) for m in moves] == [
        (-2, "Broken", staff),
        (4, "Found", staff),
    ]
    assert names(sent).count("stock_adjusted") == 2
    assert ledger_problems() == []


@pytest.mark.parametrize("reason", ["", "   "])
def test_adjust_needs_a_reason(variant, store, give_stock, reason):
    give_stock(variant, store, 5)
    with pytest.raises(ValidationError) as refused:
        stock_adjust(
            variant_id=variant.pk, location_id=store.pk, delta=1, reason=reason, actor=None
        )
    assert "reason" in refused.value.error_dict


def test_adjust_below_what_is_reserved_is_refused_and_says_why(variant, store, give_stock):
    give_stock(variant, store, 5)
    stock_reserve(lines=[(variant.pk, 4)], actor=None)

    with pytest.raises(ValidationError) as refused:
        stock_adjust(
            variant_id=variant.pk, location_id=store.pk, delta=-2, reason="Count", actor=None
        )

    assert refused.value.messages == [
        "MUG-BLUE at Main Street store: 5 on hand, so -2 would leave 3, below the 4 reserved "
        "for orders. Nothing was changed."
    ]
    assert level(variant, store).on_hand == 5


def test_adjust_cannot_take_away_where_there_is_no_stock(variant, store):
    with pytest.raises(ValidationError, match="no stock of MUG-BLUE"):
        stock_adjust(variant_id=variant.pk, location_id=store.pk, delta=-1, reason="x", actor=None)
    assert not StockLevel.objects.exists()


def test_transfer_moves_available_units_with_two_movements(
    variant, store, warehouse, give_stock, staff
):
    give_stock(variant, warehouse, 6)

    origin, target = stock_transfer(
        variant_id=variant.pk,
        from_location_id=warehouse.pk,
        to_location_id=store.pk,
        quantity=4,
        actor=staff,
    )

    assert (origin.on_hand, target.on_hand) == (2, 4)
    moves = StockMovement.objects.filter(kind__startswith="transfer").order_by("kind")
    assert [(m.kind, m.location, m.on_hand_delta) for m in moves] == [
        ("transfer_in", store, 4),
        ("transfer_out", warehouse, -4),
    ]
    assert ledger_problems() == []


def test_transfer_cannot_move_reserved_units(variant, store, warehouse, give_stock):
    give_stock(variant, store, 5)
    stock_reserve(lines=[(variant.pk, 3)], actor=None)

    with pytest.raises(
        ValidationError, match=r"Only 2 of MUG-BLUE available .*3 more are reserved"
    ):
        stock_transfer(
            variant_id=variant.pk,
            from_location_id=store.pk,
            to_location_id=warehouse.pk,
            quantity=3,
            actor=None,
        )
    assert level(variant, store).on_hand == 5


def test_transfer_to_the_same_location_is_refused(variant, store, give_stock):
    give_stock(variant, store, 5)
    with pytest.raises(ValidationError):
        stock_transfer(
            variant_id=variant.pk,
            from_location_id=store.pk,
            to_location_id=store.pk,
            quantity=1,
            actor=None,
        )


# Receive and return ----------------------------------------------------------------------


def test_receive_adds_stock_with_its_source(variant, warehouse, staff, sent):
    purchase = ProductFactory()

    result = stock_receive(
        variant_id=variant.pk, location_id=warehouse.pk, quantity=12, actor=staff, source=purchase
    )

    assert result.on_hand == 12
    move = StockMovement.objects.get()
    assert (move.kind, move.on_hand_delta, move.source, move.actor) == (
        "receive",
        12,
        purchase,
        staff,
    )
    assert names(sent) == ["stock_received"]


def test_received_stock_goes_to_backorders_first_oldest_first(
    variant,
    store,
    warehouse,
    give_stock,
    owner_user,
    inventory_processes,
    django_capture_on_commit_callbacks,
):
    give_stock(variant, store, 1)
    stock_reserve(lines=[(variant.pk, 1)], actor=None)  # the last unit goes
    older = stock_reserve(lines=[(variant.pk, 3)], actor=None, reference="#1").backorders[0]
    younger = stock_reserve(lines=[(variant.pk, 2)], actor=None, reference="#2").backorders[0]

    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(variant_id=variant.pk, location_id=warehouse.pk, quantity=4, actor=None)

    older.refresh_from_db()
    younger.refresh_from_db()
    assert older.status == Backorder.Status.RESERVED
    assert younger.status == Backorder.Status.OPEN  # 1 left, it needs 2
    assert older.reservation.reference == "#1"
    assert older.reservation.location == warehouse
    assert level(variant, warehouse).reserved == 3
    assert WorkItem.objects.get(source_id=older.pk, process__key="out_of_stock").status == "done"
    assert owner_user.notifications.filter(subject__startswith="Backorder of #1 reserved").exists()
    assert ledger_problems() == []


def test_received_stock_passes_an_order_that_does_not_fit_for_one_that_does(
    variant, store, give_stock
):
    big = stock_reserve(lines=[(variant.pk, 5)], actor=None).backorders[0]
    small = stock_reserve(lines=[(variant.pk, 2)], actor=None).backorders[0]

    give_stock(variant, store, 3)

    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.status, small.status) == (Backorder.Status.OPEN, Backorder.Status.RESERVED)


def test_an_order_backordered_for_one_line_is_reserved_whole_when_it_arrives(
    variant, other, store, warehouse, give_stock
):
    give_stock(variant, store, 5)
    lines = stock_reserve(lines=[(variant.pk, 2), (other.pk, 1)], actor=None).backorders

    give_stock(other, warehouse, 1)

    assert {b.status for b in Backorder.objects.filter(pk__in=[b.pk for b in lines])} == {
        Backorder.Status.RESERVED
    }
    assert (level(variant, store).reserved, level(other, warehouse).reserved) == (2, 1)
    assert ledger_problems() == []


def test_return_restock_puts_units_back(variant, store, sent):
    result = stock_return_restock(
        variant_id=variant.pk, location_id=store.pk, quantity=2, actor=None
    )

    assert result.on_hand == 2
    assert StockMovement.objects.get().kind == StockMovement.Kind.RETURN_RESTOCK
    assert names(sent) == ["stock_returned"]


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_receive_and_return_want_a_positive_whole_quantity(variant, store, quantity):
    with pytest.raises(ValidationError):
        stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=quantity, actor=None)
    with pytest.raises(ValidationError):
        stock_return_restock(
            variant_id=variant.pk, location_id=store.pk, quantity=quantity, actor=None
        )


# POS counts ------------------------------------------------------------------------------


def test_pos_count_sets_on_hand_with_one_movement(variant, store, give_stock, sent):
    give_stock(variant, store, 5)

    assert (
        stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=8, actor=None) == []
    )
    assert (
        stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=8, actor=None) == []
    )

    assert level(variant, store).on_hand == 8
    assert list(
        StockMovement.objects.filter(kind="pos_sync").values_list("on_hand_delta", flat=True)
    ) == [3]
    assert names(sent).count("stock_synced_from_pos") == 1


def test_pos_count_below_reserved_backorders_the_newest_reservations(
    variant, store, give_stock, sent
):
    give_stock(variant, store, 6)
    orders = [ProductFactory() for _ in range(3)]
    holds = [
        stock_reserve(
            lines=[(variant.pk, 2)], actor=None, source=o, reference=f"#{i}"
        ).reservations[0]
        for i, o in enumerate(orders)
    ]

    backorders = stock_set_from_pos(
        variant_id=variant.pk, location_id=store.pk, on_hand=3, actor=None
    )

    assert [(b.reference, b.quantity, b.source) for b in backorders] == [
        ("#2", 2, orders[2]),
        ("#1", 2, orders[1]),
    ]
    statuses = [Reservation.objects.get(pk=h.pk).status for h in holds]
    assert statuses == ["active", "backordered", "backordered"]
    stock = level(variant, store)
    assert (stock.on_hand, stock.reserved) == (3, 2)
    backordered = [kwargs for name, kwargs in sent if name == "reservation_backordered"]
    assert [k["reservation"].pk for k in backordered] == [holds[2].pk, holds[1].pk]
    assert ledger_problems() == []


def test_pos_count_must_be_zero_or_more(variant, store):
    with pytest.raises(ValidationError):
        stock_set_from_pos(variant_id=variant.pk, location_id=store.pk, on_hand=-1, actor=None)


# The database's own guard ----------------------------------------------------------------


def test_check_constraints_refuse_a_raw_update_making_available_negative(
    variant, store, give_stock
):
    stock = give_stock(variant, store, 2)
    stock_reserve(lines=[(variant.pk, 2)], actor=None)

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stocklevel SET on_hand = 1 WHERE id = %s", [stock.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stocklevel SET reserved = -1 WHERE id = %s", [stock.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=stock.pk).update(reserved=3)
    assert (level(variant, store).on_hand, level(variant, store).reserved) == (2, 2)
