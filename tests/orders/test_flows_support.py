"""Helpers for the drop-ship, pickup and local-delivery tests (no tests here).

Shipments are made the way the app makes them: stock received and reserved, the order
approved (which makes its shipments), then walked through the core's transitions up to the
step where a flow takes over.
"""

from __future__ import annotations

from datetime import time

from django.core import mail

from inventory.models import Location
from orders.models import DeliveryWindow, DeliveryZone, Order, Shipment
from orders.services import notices
from orders.services.fulfillment import shipment_transition
from tests.catalog.factories import ProductFactory, VariantFactory, VendorFactory
from tests.inventory.factories import LocationFactory
from tests.orders.factories import CustomerFactory, address
from tests.orders.fulfillment_factories import approved_order, stocked_variant

S = Shipment.Status
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def walk(shipment: Shipment, *statuses: str) -> Shipment:
    for status in statuses:
        shipment = shipment_transition(shipment_id=shipment.pk, to_status=status, actor=None)
    return shipment


def pickup_store(name: str = "High Street") -> Location:
    return LocationFactory(name=name, is_pickup=True, address="1 High Street\nSpringfield IL 62701")


def pickup_shipment(
    store: Location | None = None, *, status: str = S.PICKED, quantity: int = 2, **order_fields
) -> Shipment:
    """A store-pickup shipment at `store` (its stock sits there), walked up to `status`."""
    store = store or pickup_store()
    variant = stocked_variant(store, on_hand=10)
    order_fields.setdefault("customer", CustomerFactory(last_name="Lovelace"))
    order = approved_order(
        [(variant, quantity)],
        method=Order.Method.STORE_PICKUP,
        pickup_location=store,
        **order_fields,
    )
    shipment = order.shipments.get()
    path = {
        S.PENDING: (),
        S.PICKED: (S.PICKING, S.PICKED),
    }[status]
    return walk(shipment, *path)


def delivery_zone(postcodes: str = "62701\n627*", *, capacity: int = 2) -> DeliveryWindow:
    zone = DeliveryZone.objects.create(name=f"Zone {postcodes[:10]}", postcodes=postcodes)
    return DeliveryWindow.objects.create(
        zone=zone, weekdays=EVERY_DAY, starts=time(9), ends=time(12), capacity=capacity
    )


def delivery_shipment(*, status: str = S.PACKED, postcode: str = "62701") -> Shipment:
    """A local-delivery shipment from a warehouse, walked up to `status`."""
    from tests.orders.fulfillment_factories import warehouse

    variant = stocked_variant(warehouse(), on_hand=10)
    order = approved_order(
        [(variant, 1)],
        method=Order.Method.LOCAL_DELIVERY,
        shipping_address=address(postcode=postcode),
    )
    shipment = order.shipments.get()
    path = {
        S.PENDING: (),
        S.PICKED: (S.PICKING, S.PICKED),
        S.PACKED: (S.PICKING, S.PICKED, S.PACKED),
    }[status]
    return walk(shipment, *path)


def dropship_shipment(*, vendor_email: str = "orders@potter.example") -> Shipment:
    """A drop-ship shipment (pending), its vendor with that e-mail address."""
    vendor = VendorFactory(name=f"Potter {vendor_email}", email=vendor_email, drop_ships=True)
    variant = VariantFactory(product=ProductFactory(vendor=vendor))
    order = approved_order([(variant, 3)], drop_ship=(variant,))
    return order.shipments.get(method="drop_ship")


def send_mail_now(monkeypatch) -> None:
    """Send customer notices in the on-commit callback itself, instead of through Celery."""
    monkeypatch.setattr(
        notices, "_enqueue", lambda notice_id: notices.customer_notice_send(notice_id=notice_id)
    )


def sent_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]
