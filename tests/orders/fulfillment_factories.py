"""Helpers for fulfillment tests: stocked variants, approved orders with their shipments.

Stock is put on the shelf through inventory's services (so the movement ledger adds up), and
orders are reserved and approved through the real services, as the intake and review do.
"""

from __future__ import annotations

from django.contrib.auth.models import Group

from catalog.models import Variant
from inventory.models import Location, StockLevel
from inventory.services.stock import stock_receive, stock_reserve
from opsdesk.processes.models import Process
from orders.models import Carrier, Order, OrderLine
from orders.services.review import order_approve
from tests.catalog.factories import BarcodedVariantFactory
from tests.inventory.factories import LocationFactory, WarehouseFactory
from tests.orders.factories import OrderFactory

FULFILLMENT_PROCESSES = {
    "pick_pack_ship": ("Pick, pack, ship", 24 * 60),
    "drop_ship": ("Drop ship", 48 * 60),
    "store_pickup": ("Store pickup", 24 * 60),
    "local_delivery": ("Local delivery", 24 * 60),
    "shipping_notice": ("Shipping notice to customers", 60),
}


def ensure_processes() -> None:
    """The fulfillment processes (a transactional test has lost the seeded catalogue)."""
    group, _ = Group.objects.get_or_create(name="Fulfillment")
    for key, (name, minutes) in FULFILLMENT_PROCESSES.items():
        Process.objects.get_or_create(
            key=key, defaults={"name": name, "owner_role": group, "target_minutes": minutes}
        )


def ensure_carrier(code: str = "ups") -> Carrier:
    carrier, _ = Carrier.objects.get_or_create(
        code=code,
        defaults={
            "name": code.upper(),
            "tracking_url_template": "https://www.ups.com/track?tracknum={tracking}",
        },
    )
    return carrier


def warehouse(name: str | None = None) -> Location:
    return WarehouseFactory(name=name) if name else WarehouseFactory()


def store(name: str | None = None) -> Location:
    return LocationFactory(name=name) if name else LocationFactory()


def stocked_variant(
    location: Location, *, on_hand: int = 10, bin: str = "", **variant_fields
) -> Variant:
    """A barcoded variant with `on_hand` units received at `location`, in `bin`."""
    variant = BarcodedVariantFactory(**variant_fields)
    add_stock(variant, location, on_hand=on_hand, bin=bin)
    return variant


def add_stock(variant: Variant, location: Location, *, on_hand: int, bin: str = "") -> None:
    stock_receive(variant_id=variant.pk, location_id=location.pk, quantity=on_hand, actor=None)
    if bin:
        StockLevel.objects.filter(variant=variant, location=location).update(bin=bin)


def order_for(
    lines: list[tuple[Variant, int]],
    *,
    method: str = Order.Method.SHIP,
    reserve: bool = True,
    drop_ship: tuple[Variant, ...] = (),
    **order_fields,
) -> Order:
    """An order awaiting review with its lines reserved (or backordered) as the intake does."""
    ensure_processes()
    order = OrderFactory(
        status=Order.Status.AWAITING_REVIEW, fulfillment_method=method, **order_fields
    )
    for variant, quantity in lines:
        OrderLine.objects.create(
            order=order,
            variant=variant,
            sku=variant.sku,
            title=f"Item {variant.sku}",
            quantity=quantity,
            unit_price="10.00",
            drop_ship=variant in drop_ship,
        )
    own = [(v.pk, q) for v, q in lines if v not in drop_ship]
    if reserve and own:
        stock_reserve(lines=own, actor=None, source=order, reference=order.number)
    return order


def approved_order(lines: list[tuple[Variant, int]], **kwargs) -> Order:
    """An order reserved and approved: its shipments are made by the approval."""
    order = order_for(lines, **kwargs)
    return order_approve(order_id=order.pk, actor=None)
