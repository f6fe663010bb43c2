"""Demo fulfillment: approve the demo's clean orders and move their shipments along, so each
queue has something in it (to pick, to pack, shipped, delivered, on the pickup shelf, with a
vendor) and the returns demo has delivered orders to work with. Everything goes through the
services, as staff would do it. Safe to run again: it does nothing once a pick list exists.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from opsdesk.core.roles import Role
from orders.models import Carrier, Order, PickList, Shipment
from orders.services.delivery import delivery_window_save, delivery_zone_save
from orders.services.dropship import dropship_send_to_vendor
from orders.services.fulfillment import shipment_transition
from orders.services.picking import (
    pack_scan,
    pick_list_create,
    shipment_pack_close,
    shipment_pick,
    shipment_ship,
)
from orders.services.pickup import pickup_mark_ready
from orders.services.review import order_approve

S = Shipment.Status
# The demo's local addresses (orders/demo.py) fall in these postcodes.
DEMO_ZONE_POSTCODES = "11215\n112*\n02108"


def _clerk():
    return (
        get_user_model()
        .objects.filter(groups__name=Role.FULFILLMENT, is_active=True)
        .order_by("pk")
        .first()
    )


def _approve_clean_orders(limit: int = 12) -> int:
    approved = 0
    waiting = Order.objects.filter(
        status=Order.Status.AWAITING_REVIEW, risk_level__in=["low", "medium"]
    ).order_by("created_at", "pk")
    for order in waiting[: limit * 2]:
        try:
            order_approve(order_id=order.pk, actor=None)
        except ValidationError:
            continue  # a line to match or a method to choose: left for the reviewer
        approved += 1
        if approved >= limit:
            break
    return approved


def _pack(shipment: Shipment, actor) -> None:
    for line in shipment.lines.select_related("variant"):
        for _ in range(line.quantity):
            pack_scan(shipment_id=shipment.pk, code=line.variant.sku, actor=actor)
    shipment_pack_close(shipment_id=shipment.pk, actor=actor)


def seed_fulfillment() -> dict[str, int]:
    if PickList.objects.exists():
        return {}
    clerk = _clerk()
    done = {"approved": _approve_clean_orders()}
    zone = delivery_zone_save(
        zone_id=None,
        name="Downtown",
        postcodes=DEMO_ZONE_POSTCODES,
        fee=Decimal("5.00"),
        active=True,
        actor=None,
    )
    for starts, ends in ((time(9), time(12)), (time(14), time(18))):
        delivery_window_save(
            zone_id=zone.pk,
            window_id=None,
            weekdays=[0, 1, 2, 3, 4, 5],
            starts=starts,
            ends=ends,
            capacity=12,
            active=True,
            actor=None,
        )
    pending = Shipment.objects.filter(status=S.PENDING).order_by("created_at", "pk")
    to_ship = [s for s in pending if s.method in ("ship", "local_delivery")][:6]
    carrier = Carrier.objects.filter(active=True).order_by("position").first()
    by_location: dict[int, list[Shipment]] = {}
    for shipment in to_ship:
        by_location.setdefault(shipment.location_id, []).append(shipment)
    shipped = 0
    for location_id, shipments in by_location.items():
        pick_list_create(
            location_id=location_id, shipment_ids=[s.pk for s in shipments], actor=clerk
        )
        for number, shipment in enumerate(shipments):
            shipment_pick(shipment_id=shipment.pk, actor=clerk)
            if number == len(shipments) - 1:
                continue  # left picked, for the pack screen
            _pack(shipment, clerk)
            if shipment.method == "ship" and carrier is not None and number < 2:
                shipment_ship(
                    shipment_id=shipment.pk,
                    carrier_id=carrier.pk,
                    tracking_number=f"1Z999AA1{shipment.pk:010d}",
                    actor=clerk,
                )
                shipped += 1
                if number == 0:
                    shipment_transition(shipment_id=shipment.pk, to_status=S.DELIVERED, actor=None)
    done["shipped"] = shipped
    for shipment in Shipment.objects.filter(status=S.PENDING, method="store_pickup")[:2]:
        shipment_pick(shipment_id=shipment.pk, actor=clerk)
        pickup_mark_ready(shipment_id=shipment.pk, actor=clerk)
    for shipment in Shipment.objects.filter(status=S.PENDING, method="drop_ship")[:2]:
        dropship_send_to_vendor(shipment_id=shipment.pk, actor=clerk)
    return done
