"""Local delivery: the store's own drivers, in delivery zones (postcodes) and windows.

packed (scheduled: a date, a window of the zone that covers the postcode, a driver)
-> out_for_delivery (the stock leaves; the customer is told) -> delivered (with a note)
or delivery_failed (with a reason; the customer is told) -> packed again with a new date
and window. Every time the van leaves counts as an attempt.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import DeliveryWindow, DeliveryZone, Shipment
from orders.services import flows

if TYPE_CHECKING:
    from django.contrib.auth.models import User

METHOD = "local_delivery"
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# A scheduled delivery still to leave; capacity counts these and those on the road.
SCHEDULABLE = (
    Shipment.Status.PENDING,
    Shipment.Status.PICKING,
    Shipment.Status.PICKED,
    Shipment.Status.PACKED,
)
TAKES_CAPACITY = (*SCHEDULABLE, Shipment.Status.OUT_FOR_DELIVERY, Shipment.Status.DELIVERED)
POSTCODE_MAX = 20


# Zones and postcodes ------------------------------------------------------------------------


def normalize_postcode(postcode: str) -> str:
    return re.sub(r"[\s\-]", "", str(postcode or "")).upper()


def zone_patterns(zone: DeliveryZone) -> list[str]:
    """A zone's postcodes: exact ones, and prefixes ending in '*'."""
    parts = re.split(r"[\n,;]+", zone.postcodes or "")
    return [p for p in (normalize_postcode(part) for part in parts) if p and p != "*"]


def _match_length(patterns: list[str], postcode: str) -> int:
    """How specifically the patterns cover the postcode: exact beats any prefix, longer
    prefixes beat shorter ones; 0 = not covered."""
    best = 0
    for pattern in patterns:
        if pattern.endswith("*"):
            prefix = pattern[:-1]
            if prefix and postcode.startswith(prefix):
                best = max(best, len(prefix))
        elif pattern == postcode:
            return 10_000
    return best


def delivery_zone_for_postcode(postcode: str) -> DeliveryZone | None:
    """The active zone that covers the postcode most specifically, or None."""
    postcode = normalize_postcode(postcode)
    if not postcode:
        return None
    best, best_len = None, 0
    for zone in DeliveryZone.objects.filter(active=True).order_by("name"):
        length = _match_length(zone_patterns(zone), postcode)
        if length > best_len:
            best, best_len = zone, length
    return best


def ship_to_postcode(ship_to: dict | None) -> str:
    address = ship_to or {}
    for key in ("postcode", "zip", "postal_code"):
        if address.get(key):
            return str(address[key])
    return ""


def windows_for(zone: DeliveryZone, on: date) -> list[DeliveryWindow]:
    """The zone's active windows on that date's weekday."""
    return [
        w
        for w in zone.windows.filter(active=True).order_by("starts")
        if on.weekday() in (w.weekdays or [])
    ]


@transaction.atomic
def delivery_zone_save(
    *,
    zone_id: int | None,
    name: str,
    postcodes: str,
    fee,
    active: bool,
    actor: User | None,
) -> DeliveryZone:
    """Create or change a delivery zone."""
    name = flows.clean_text(name, field="name", what="the zone's name")
    patterns = [p for p in re.split(r"[\n,;]+", postcodes or "") if p.strip()]
    if not patterns:
        raise ValidationError({"postcodes": "List at least one postcode or prefix (e.g. 941*)."})
    for pattern in patterns:
        cleaned = normalize_postcode(pattern)
        if len(cleaned) > POSTCODE_MAX or not re.fullmatch(r"[A-Z0-9]+\*?", cleaned):
            raise ValidationError(
                {"postcodes": f"“{pattern.strip()}” is not a postcode or a prefix ending in *."}
            )
    if fee is None or fee < 0:
        raise ValidationError({"fee": "The fee is zero or more."})
    if DeliveryZone.objects.filter(name__iexact=name).exclude(pk=zone_id).exists():
        raise ValidationError({"name": f"There is already a zone named {name}."})
    zone = DeliveryZone.objects.select_for_update().get(pk=zone_id) if zone_id else DeliveryZone()
    zone.name = name
    zone.postcodes = "\n".join(p.strip() for p in patterns)
    zone.fee = fee
    zone.active = active
    zone.save()
    return zone


@transaction.atomic
def delivery_window_save(
    *,
    zone_id: int,
    window_id: int | None,
    weekdays: list[int],
    starts: time,
    ends: time,
    capacity: int,
    active: bool,
    actor: User | None,
) -> DeliveryWindow:
    """Create or change a delivery window of a zone."""
    zone = DeliveryZone.objects.get(pk=zone_id)
    days = sorted({int(d) for d in weekdays or []})
    if not days or any(d < 0 or d > 6 for d in days):
        raise ValidationError({"weekdays": "Tick the days of the week the window runs."})
    if starts is None or ends is None or ends <= starts:
        raise ValidationError({"ends": "The window must end after it starts."})
    if capacity is None or capacity < 1:
        raise ValidationError({"capacity": "A window takes at least one delivery."})
    if window_id:
        window = DeliveryWindow.objects.select_for_update().get(pk=window_id, zone=zone)
    else:
        window = DeliveryWindow(zone=zone)
    window.weekdays, window.starts, window.ends = days, starts, ends
    window.capacity, window.active = capacity, active
    window.save()
    return window


# Scheduling ---------------------------------------------------------------------------------


def _driver(driver_id: int | None):
    if not driver_id:
        raise ValidationError({"driver": "Choose the driver."})
    driver = get_user_model().objects.filter(pk=driver_id, is_active=True).first()
    if driver is None:
        raise ValidationError({"driver": "Choose an active staff member as the driver."})
    return driver


def _check_slot(
    shipment: Shipment, *, on: date, window_id: int
) -> tuple[DeliveryZone, DeliveryWindow]:
    """The zone for the shipment's postcode, and the window if it fits the date and has room.

    The window's row is locked, so two people filling its last place take it once.
    """
    postcode = ship_to_postcode(shipment.ship_to)
    zone = delivery_zone_for_postcode(postcode)
    if zone is None:
        raise ValidationError(
            f"No delivery zone covers postcode {postcode or '(none given)'}; "
            "add it to a zone, or ship the order instead."
        )
    if on is None:
        raise ValidationError({"date": "Choose the delivery date."})
    if on < timezone.localdate():
        raise ValidationError({"date": "The delivery date is in the past."})
    window = (
        DeliveryWindow.objects.select_for_update()
        .filter(pk=window_id, active=True)
        .select_related("zone")
        .first()
    )
    if window is None or window.zone_id != zone.pk:
        raise ValidationError({"window": f"Choose one of the {zone.name} zone's windows."})
    if on.weekday() not in (window.weekdays or []):
        raise ValidationError(
            {
                "window": f"The {window.starts:%H:%M}–{window.ends:%H:%M} window does not run on "
                f"{WEEKDAY_NAMES[on.weekday()]}s."
            }
        )
    taken = (
        Shipment.objects.filter(delivery_window=window, delivery_date=on, status__in=TAKES_CAPACITY)
        .exclude(pk=shipment.pk)
        .count()
    )
    if taken >= window.capacity:
        raise ValidationError(
            {
                "window": f"That window is full on {on:%d %b} ({window.capacity} deliveries); "
                "choose another."
            }
        )
    return zone, window


def _lock(shipment_id: int) -> Shipment:
    return flows.lock_shipment(shipment_id, method=METHOD)


def _window_due(on: date, window: DeliveryWindow) -> datetime:
    return timezone.make_aware(datetime.combine(on, window.ends))


def _open_delivery_item(shipment: Shipment, window: DeliveryWindow) -> None:
    flows.work_item_for(
        shipment,
        process=flows.DELIVERY_PROCESS,
        title=f"Deliver {shipment.number} on {shipment.delivery_date:%a %d %b} "
        f"{window.starts:%H:%M}–{window.ends:%H:%M}",
        link=reverse("orders:local_delivery_shipment", kwargs={"pk": shipment.pk}),
        due_at=_window_due(shipment.delivery_date, window),
    )


@transaction.atomic
def delivery_schedule(
    *, shipment_id: int, date: date, window_id: int, driver_id: int, actor: User | None
) -> Shipment:
    """Give a local delivery its date, window and driver (before it leaves)."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, *SCHEDULABLE, doing="scheduled")
    driver = _driver(driver_id)
    zone, window = _check_slot(shipment, on=date, window_id=window_id)
    shipment.delivery_zone, shipment.delivery_window = zone, window
    shipment.delivery_date, shipment.driver = date, driver
    shipment.save(
        update_fields=["delivery_zone", "delivery_window", "delivery_date", "driver", "updated_at"]
    )
    flows.shipment_event(
        shipment,
        type="delivery_scheduled",
        actor=actor,
        data={"date": date.isoformat(), "window": str(window), "driver": driver.get_username()},
    )
    if shipment.status == Shipment.Status.PACKED:
        # Due by the end of its window (not the process's target from now); the earlier
        # slot's item, if any, makes way for it. Before it is packed, packing opens it.
        flows.work_items_done(shipment, actor=actor, processes=(flows.DELIVERY_PROCESS,))
        _open_delivery_item(shipment, window)
    return shipment


@transaction.atomic
def delivery_out(*, shipment_id: int, actor: User | None) -> Shipment:
    """The van leaves with the parcel: the stock leaves, and the customer is told."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.PACKED, doing="sent out for delivery")
    if not (shipment.delivery_date and shipment.delivery_window_id and shipment.driver_id):
        raise ValidationError(
            f"Schedule shipment {shipment.number} (date, window, driver) before it goes out."
        )
    # The units leave the building once (a second attempt takes the same parcel): the
    # commit does nothing the second time, and the transition would commit it too.
    flows.shipment_stock_commit(shipment, actor)
    window = shipment.delivery_window
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.OUT_FOR_DELIVERY,
        actor=actor,
        note=f"Attempt {shipment.delivery_attempts + 1}",
        delivery_attempts=shipment.delivery_attempts + 1,
        shipped_at=shipment.shipped_at or timezone.now(),
        shipped_by=shipment.shipped_by or actor,
    )
    flows.notice_queue(
        kind="out_for_delivery",
        shipment=shipment,
        actor=actor,
        context={
            "delivery_date": shipment.delivery_date,
            "window_starts": window.starts,
            "window_ends": window.ends,
            "ship_to": shipment.ship_to,
        },
    )
    return shipment


@transaction.atomic
def delivery_done(*, shipment_id: int, actor: User | None, note: str = "") -> Shipment:
    """The customer has the parcel (the note says where it was left, or to whom)."""
    note = flows.clean_text(note, field="note", what="a note", required=False)
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.OUT_FOR_DELIVERY, doing="marked delivered")
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.DELIVERED,
        actor=actor,
        note=note,
        delivered_at=timezone.now(),
        delivery_note=note,
    )
    return shipment


@transaction.atomic
def delivery_failed(*, shipment_id: int, actor: User | None, reason: str) -> Shipment:
    """The parcel could not be delivered: the reason, the customer is told, and a new date
    is to be found."""
    reason = flows.clean_text(reason, field="reason", what="the reason it failed")
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.OUT_FOR_DELIVERY, doing="marked failed")
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.DELIVERY_FAILED,
        actor=actor,
        note=reason,
        failure_reason=reason,
    )
    flows.notice_queue(
        kind="delivery_failed",
        shipment=shipment,
        actor=actor,
        context={"reason": reason, "attempts": shipment.delivery_attempts},
    )
    return shipment


@transaction.atomic
def delivery_reschedule(
    *, shipment_id: int, date: date, window_id: int, driver_id: int, actor: User | None
) -> Shipment:
    """Give a failed delivery a new date and window: back on the shelf, packed."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.DELIVERY_FAILED, doing="rescheduled")
    driver = _driver(driver_id)
    zone, window = _check_slot(shipment, on=date, window_id=window_id)
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.PACKED,
        actor=actor,
        note=f"Rescheduled for {date:%a %d %b} {window.starts:%H:%M}–{window.ends:%H:%M}",
        delivery_zone=zone,
        delivery_window=window,
        delivery_date=date,
        driver=driver,
        failure_reason="",
        next_work=(),
    )
    _open_delivery_item(shipment, window)
    return shipment
