"""Store pickup: the customer collects the order at the store they chose.

picked -> ready_for_pickup (a pickup code, the ready e-mail) -> picked_up (handed over at the
counter against the code, or the order number and the customer's last name; the stock
leaves then). Customers are reminded every settings.PICKUP_REMINDER_DAYS; an order not
collected after settings.PICKUP_HOLD_DAYS is flagged for staff to cancel and restock.

Staff are not tied to a store yet (there is no per-user location): the store comes from the
page's address, and every service checks that the shipment is collected at that store.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from inventory.models import Location
from orders.models import Shipment
from orders.services import flows

if TYPE_CHECKING:
    from django.contrib.auth.models import User

METHOD = "store_pickup"
# Easy to read out over a counter: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
REMINDER_BATCH = 200
NOT_FOUND = "No order ready for pickup at this store matches that. Check it and try again."


def reminder_days() -> int:
    return settings.PICKUP_REMINDER_DAYS


def hold_days() -> int:
    return settings.PICKUP_HOLD_DAYS


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _new_code() -> str:
    """A code no order waiting for pickup has (a partial unique index holds it; a clash
    between two parallel picks, one in hundreds of millions, fails one of them)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not Shipment.objects.filter(
            pickup_code=code, status=Shipment.Status.READY_FOR_PICKUP
        ).exists():
            return code


def _lock(shipment_id: int, *, location_id: int | None) -> Shipment:
    shipment = flows.lock_shipment(shipment_id, method=METHOD)
    if location_id is not None and shipment.pickup_location_id != location_id:
        # Another store's order: as if it did not exist.
        raise Shipment.DoesNotExist(f"No pickup shipment {shipment_id} at this store.")
    return shipment


def _store_context(shipment: Shipment) -> dict:
    location = shipment.pickup_location
    return {
        "pickup_code": shipment.pickup_code,
        "store_location_name": location.name if location else "",
        "store_address": location.address if location else "",
        # Opening hours are not kept anywhere yet; the templates show them when given.
        "opening_hours": "",
        "hold_until": (shipment.ready_at + timedelta(days=hold_days()))
        if shipment.ready_at
        else None,
    }


@transaction.atomic
def pickup_mark_ready(
    *, shipment_id: int, actor: User | None, location_id: int | None = None
) -> Shipment:
    """Put a picked order on the pickup shelf: a pickup code, and the customer is told."""
    shipment = _lock(shipment_id, location_id=location_id)
    flows.refuse_unless(shipment, Shipment.Status.PICKED, doing="marked ready for pickup")
    if shipment.pickup_location_id is None:
        raise ValidationError(
            f"Shipment {shipment.number} has no pickup store; the order must name one."
        )
    code = _new_code()
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.READY_FOR_PICKUP,
        actor=actor,
        note="On the pickup shelf",
        pickup_code=code,
        ready_at=timezone.now(),
    )
    flows.notice_queue(
        kind="ready_for_pickup", shipment=shipment, actor=actor, context=_store_context(shipment)
    )
    return shipment


def _last_name_matches(shipment: Shipment, last_name: str) -> bool:
    wanted = last_name.strip().casefold()
    order = shipment.order
    names = [
        (shipment.ship_to or {}).get("last_name"),
        (order.shipping_address or {}).get("last_name"),
        (order.billing_address or {}).get("last_name"),
        order.customer.last_name if order.customer_id else "",
    ]
    return any(wanted and str(name or "").strip().casefold() == wanted for name in names)


def pickup_find(
    *, location_id: int, code: str = "", order_number: str = "", last_name: str = ""
) -> list[Shipment]:
    """The shipments ready at this store that the code (or order number and last name)
    open; a wrong answer says nothing about what exists."""
    ready = (
        Shipment.objects.filter(
            method=METHOD, status=Shipment.Status.READY_FOR_PICKUP, pickup_location_id=location_id
        )
        .select_related("order", "order__customer", "pickup_location")
        .order_by("pk")
    )
    code = normalize_code(code)
    if code:
        found = list(ready.filter(pickup_code=code))
    else:
        number = (order_number or "").strip().lstrip("#")
        if not number or not (last_name or "").strip():
            raise ValidationError(
                "Enter the pickup code, or the order number and the customer's last name."
            )
        found = [
            s
            for s in ready.filter(Q(order__number=number) | Q(order__number=f"#{number}"))
            if _last_name_matches(s, last_name)
        ]
    if not found:
        raise ValidationError(NOT_FOUND, code="not_found")
    return found


@transaction.atomic
def pickup_hand_over(
    *,
    location_id: int,
    actor: User | None,
    code: str = "",
    order_number: str = "",
    last_name: str = "",
) -> list[Shipment]:
    """Hand an order over at the counter, against its code (or number and last name): the
    stock leaves, and who handed it over and when is recorded.

    Each shipment is locked before it is checked again, so two people at two tills hand
    it over once; the second is told it is gone.
    """
    found = pickup_find(
        location_id=location_id, code=code, order_number=order_number, last_name=last_name
    )
    done = []
    for candidate in found:
        shipment = _lock(candidate.pk, location_id=location_id)
        if shipment.status != Shipment.Status.READY_FOR_PICKUP:
            raise ValidationError(
                f"Shipment {shipment.number} is {shipment.get_status_display().lower()} "
                "already; nothing was handed over."
            )
        # The transition to picked up commits it too; once, whichever comes first.
        flows.shipment_stock_commit(shipment, actor)
        shipment = flows.shipment_transition(
            shipment_id=shipment.pk,
            to_status=Shipment.Status.PICKED_UP,
            actor=actor,
            note="Handed over with the pickup code"
            if normalize_code(code)
            else "Handed over against the order number and name",
            picked_up_at=timezone.now(),
            handed_over_by=actor,
        )
        done.append(shipment)
    return done


@transaction.atomic
def pickup_cancel_uncollected(
    *, shipment_id: int, actor: User | None, location_id: int | None = None, reason: str = ""
) -> Shipment:
    """Cancel an order that was never collected; its units go back to the store's stock."""
    shipment = _lock(shipment_id, location_id=location_id)
    flows.refuse_unless(
        shipment, Shipment.Status.READY_FOR_PICKUP, doing="cancelled as uncollected"
    )
    reason = flows.clean_text(reason, field="reason", what="a reason", required=False)
    reason = reason or f"Not collected within {hold_days()} days"
    # The cancel closes the shipment's open items, the "cancel and restock" one with them.
    return flows.shipment_cancel(shipment_id=shipment.pk, actor=actor, reason=reason)


def _queue_link(shipment: Shipment) -> str:
    return reverse("orders:pickup_queue", kwargs={"location_id": shipment.pickup_location_id})


def pickup_reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Remind customers of orders waiting on the shelf, and flag the ones past the hold.

    Each shipment is claimed under a row lock (skip_locked) and checked again, and the time
    of its last reminder moves forward with it, so a second run, or two at once, act once.
    """
    now = now or timezone.now()
    remind_before = now - timedelta(days=reminder_days())
    hold_before = now - timedelta(days=hold_days())
    ready = Shipment.objects.filter(
        method=METHOD,
        status=Shipment.Status.READY_FOR_PICKUP,
        uncollected_flagged_at__isnull=True,
    )
    to_flag = Q(ready_at__lte=hold_before)
    to_remind = Q(ready_at__lte=remind_before) & (
        Q(last_reminder_at__isnull=True) | Q(last_reminder_at__lte=remind_before)
    )
    counts = {"reminded": 0, "flagged": 0}
    ids = list(
        ready.filter(to_flag | to_remind)
        .order_by("pk")
        .values_list("pk", flat=True)[:REMINDER_BATCH]
    )
    for shipment_id in ids:
        with transaction.atomic():
            shipment = (
                ready.select_for_update(skip_locked=True, of=("self",))
                .select_related("order", "pickup_location")
                .filter(pk=shipment_id)
                .first()
            )
            if shipment is None:
                continue
            if shipment.ready_at <= hold_before:
                _flag(shipment, now=now)
                counts["flagged"] += 1
            elif shipment.ready_at <= remind_before and (
                shipment.last_reminder_at is None or shipment.last_reminder_at <= remind_before
            ):
                _remind(shipment, now=now)
                counts["reminded"] += 1
    return counts


def _remind(shipment: Shipment, *, now: datetime) -> None:
    shipment.pickup_reminders_sent += 1
    shipment.last_reminder_at = now
    shipment.save(update_fields=["pickup_reminders_sent", "last_reminder_at", "updated_at"])
    flows.shipment_event(
        shipment,
        type="pickup_reminded",
        actor=None,
        data={"reminder": shipment.pickup_reminders_sent},
    )
    flows.notice_queue(
        kind="pickup_reminder",
        shipment=shipment,
        context={**_store_context(shipment), "reminder_number": shipment.pickup_reminders_sent},
    )


def _flag(shipment: Shipment, *, now: datetime) -> None:
    shipment.uncollected_flagged_at = now
    shipment.save(update_fields=["uncollected_flagged_at", "updated_at"])
    flows.shipment_event(
        shipment, type="pickup_uncollected", actor=None, data={"hold_days": hold_days()}
    )
    flows.work_item_for(
        shipment,
        process=flows.PICKUP_PROCESS,
        title=f"Cancel and restock: {shipment.number} not collected",
        link=_queue_link(shipment),
    )


def pickup_locations() -> list[Location]:
    return list(Location.objects.filter(is_pickup=True, active=True).order_by("name"))
