"""Stock services: reserve, release, ship, adjust, transfer, receive, return, POS counts,
the expiry of holds and the low-stock check. How they lock is described in levels.py."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product, Variant
from inventory import signals
from inventory.exceptions import NotReservable, ReservationUnavailable
from inventory.models import (
    Backorder,
    Location,
    LowStockAlert,
    Reservation,
    StockLevel,
    StockMovement,
)
from inventory.services.backorders import backorders_fill, backorders_open, pending_groups
from inventory.services.levels import (
    WEB_LEVELS,
    allocate,
    build_movement,
    check_quantity,
    check_sold_out,
    ensure_levels,
    expire_holds,
    get_location,
    get_variant,
    give_back,
    lock_level,
    lock_levels,
    merge_lines,
    plan_take,
    ref_of,
    reservations_save,
    retry_on_conflict,
    save_level,
    shortage_error,
    variant_reservable,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXPIRY_BATCH = 200
EXPIRY_TIME_BUDGET_SECONDS = 40
LOW_STOCK_BATCH = 200


@dataclass
class ReserveResult:
    """What stock_reserve did: reservations made, or backorders opened for the whole order."""

    reservations: list[Reservation] = field(default_factory=list)
    backorders: list[Backorder] = field(default_factory=list)

    @property
    def backordered(self) -> bool:
        return bool(self.backorders)


# Reserving and releasing ----------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def stock_reserve(
    *,
    lines: list[tuple[int, int]],
    actor: User | None,
    source: models.Model | None = None,
    reference: str = "",
    expires_at: datetime | None = None,
    allow_backorder: bool = True,
) -> ReserveResult:
    """Reserve a whole order's lines (variant_id, quantity), all or nothing.

    Lines of one variant are added up first. Units come from active store and warehouse
    locations, lowest web_priority first; a line may be split over locations. If any
    variant is short, nothing is reserved: InsufficientStock is raised, or with
    allow_backorder every line of the order becomes a backorder (one per variant, one group)
    so the order waits as a whole and is reserved as a whole when stock allows (an order
    short of a discontinued item is refused instead: no more will come). A variant that is
    not for sale (NotReservable) refuses the order either way.
    """
    [result] = stock_reserve_many(
        requests=[ReserveRequest(lines, source, reference, expires_at)],
        actor=actor,
        allow_backorder=allow_backorder,
    )
    if isinstance(result, ValidationError):
        raise result
    return result


@dataclass
class ReserveRequest:
    """One order's lines for stock_reserve_many: (variant_id, quantity) pairs."""

    lines: list[tuple[int, int]]
    source: models.Model | None = None
    reference: str = ""
    expires_at: datetime | None = None


@transaction.atomic
def stock_reserve_many(
    *, requests: list[ReserveRequest], actor: User | None, allow_backorder: bool = True
) -> list[ReserveResult | ValidationError]:
    """stock_reserve for many orders at once (an intake batch), in one transaction: each
    order gets what it would get reserved after the ones before it (its reservations, its
    backorders) or, in its place, the error stock_reserve would raise.

    The levels are locked once, in the one order every service uses; the reservations,
    their movements and the levels are written together.
    """
    demands: list[dict[int, int] | ValidationError] = []
    for request in requests:
        try:
            demands.append(merge_lines(request.lines))
        except ValidationError as exc:
            demands.append(exc)
    wanted = sorted({v for demand in demands if isinstance(demand, dict) for v in demand})
    variants = Variant.objects.select_related("product").in_bulk(wanted)
    levels = lock_levels(Q(variant_id__in=wanted) & WEB_LEVELS) if wanted else []
    now = timezone.now()
    expire_holds(levels, now=now)
    results: list[ReserveResult | ValidationError] = []
    taken: list[tuple[StockLevel, Reservation, str]] = []
    for request, demand in zip(requests, demands, strict=True):
        result, took = _reserve_one(
            request, demand, variants, levels, actor=actor, allow_backorder=allow_backorder, at=now
        )
        reason = f"Reserved for {request.reference}" if request.reference else "Reserved"
        taken += [(level, reservation, reason) for level, reservation in took]
        results.append(result)
    reservations_save(taken, actor=actor, at=now)
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, ReserveResult) and result.reservations:
            signals.stock_reserved.send(
                sender=Reservation,
                reservations=result.reservations,
                source_ref=ref_of(request.source),
                reference=request.reference,
                actor=actor,
            )
    return results


def _reserve_one(
    request: ReserveRequest,
    demand: dict[int, int] | ValidationError,
    variants: dict[int, Variant],
    levels: list[StockLevel],
    *,
    actor: User | None,
    allow_backorder: bool,
    at: datetime,
) -> tuple[ReserveResult | ValidationError, list[tuple[StockLevel, Reservation]]]:
    """One order of stock_reserve_many: its result (reservations, backorders, or why it
    can't be reserved), and the units it took from the locked levels, not written yet."""
    if isinstance(demand, ValidationError):
        return demand, []
    unknown = sorted(set(demand) - set(variants))
    if unknown:
        return ValidationError(f"There is no variant with id {unknown[0]}."), []
    refused = [variants[v].sku for v in demand if not variant_reservable(variants[v])]
    if refused:
        return NotReservable(refused), []
    source_ref = ref_of(request.source)
    plan, shortages = allocate(demand, levels)
    if shortages:
        # A discontinued item gets no more stock, so an order short of it cannot wait.
        discontinued = any(
            variants[v].product.status == Product.Status.DISCONTINUED for v, _, _ in shortages
        )
        if not allow_backorder or discontinued:
            return shortage_error(shortages, variants), []
        backorders = backorders_open(
            demand,
            variants=variants,
            actor=actor,
            source_ref=source_ref,
            reference=request.reference,
            data={"short": {variants[v].sku: [want, have] for v, want, have in shortages}},
        )
        return ReserveResult(backorders=backorders), []
    took = [
        plan_take(
            level,
            units,
            source_ref=source_ref,
            reference=request.reference,
            expires_at=request.expires_at,
            at=at,
        )
        for level, units in plan
    ]
    return ReserveResult(reservations=[reservation for _, reservation in took]), took


def _lock_reservation(reservation_id: int) -> tuple[Reservation, StockLevel]:
    """Lock a reservation's level, then the reservation (the order used everywhere)."""
    try:
        ref = Reservation.objects.values("variant_id", "location_id").get(pk=reservation_id)
    except Reservation.DoesNotExist:
        raise ValidationError(f"There is no reservation with id {reservation_id}.") from None
    level = lock_level(ref["variant_id"], ref["location_id"])
    reservation = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("variant")
        .get(pk=reservation_id)
    )
    assert level is not None, "a reservation always has its stock level"
    return reservation, level


def _refuse_unless_active(reservation: Reservation, *, doing: str) -> None:
    if reservation.status != Reservation.Status.ACTIVE:
        raise ReservationUnavailable(
            f"Reservation {reservation.pk} is {reservation.get_status_display().lower()}; "
            f"it cannot be {doing}.",
            reservation_id=reservation.pk,
            status=reservation.status,
        )


@retry_on_conflict
@transaction.atomic
def stock_release(*, reservation_id: int, actor: User | None, reason: str = "") -> Reservation:
    """Give a reservation's units back to available stock (an order cancelled or changed).

    Releasing one that is already released or expired changes nothing; a shipped one, or
    one moved to backorder, is refused.
    """
    reservation, level = _lock_reservation(reservation_id)
    if reservation.status in (Reservation.Status.RELEASED, Reservation.Status.EXPIRED):
        return reservation
    _refuse_unless_active(reservation, doing="released")
    quantity, _ = give_back(
        reservation,
        level,
        status=Reservation.Status.RELEASED,
        reason=reason or "Released",
        actor=actor,
    )
    signals.stock_released.send(
        sender=Reservation, reservation=reservation, quantity=quantity, reason=reason, actor=actor
    )
    return reservation


@retry_on_conflict
@transaction.atomic
def stock_ship(
    *, reservation_id: int, actor: User | None, quantity: int | None = None
) -> Reservation:
    """Ship reserved units: on hand and reserved both go down by the units shipped.

    Without `quantity`, everything still held ships. A reservation that is shipped (or
    released, expired, backordered) is refused, so nothing ships twice; so is a hold past
    its expiry, even before the expiry sweep released it.
    """
    reservation, level = _lock_reservation(reservation_id)
    if reservation.status == Reservation.Status.SHIPPED:
        raise ReservationUnavailable(
            f"Reservation {reservation.pk} has already shipped.",
            reservation_id=reservation.pk,
            status=reservation.status,
        )
    _refuse_unless_active(reservation, doing="shipped")
    if reservation.is_expired():
        raise ReservationUnavailable(
            f"Reservation {reservation.pk} expired at "
            f"{timezone.localtime(reservation.expires_at):%Y-%m-%d %H:%M}; reserve again.",
            reservation_id=reservation.pk,
            status=Reservation.Status.EXPIRED,
        )
    units = reservation.remaining if quantity is None else quantity
    check_quantity(units)
    if units > reservation.remaining:
        raise ValidationError(
            {"quantity": f"Only {reservation.remaining} units are reserved to ship."}
        )
    level.on_hand -= units
    level.reserved -= units
    save_level(level)
    reservation.quantity_shipped += units
    if reservation.quantity_shipped == reservation.quantity:
        reservation.status = Reservation.Status.SHIPPED
    reservation.save(update_fields=["quantity_shipped", "status", "updated_at"])
    movement = build_movement(
        level,
        kind=StockMovement.Kind.SHIP,
        on_hand_delta=-units,
        reserved_delta=-units,
        reason=f"Shipped {reservation.reference}".strip(),
        actor=actor,
        source=reservation,
    )
    movement.save()
    signals.stock_shipped.send(
        sender=Reservation,
        reservation=reservation,
        quantity=units,
        movement=movement,
        actor=actor,
    )
    check_sold_out([level.variant_id])
    return reservation


# Stock changes --------------------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def stock_adjust(
    *,
    variant_id: int,
    location_id: int,
    delta: int,
    reason: str,
    actor: User | None,
    source: models.Model | None = None,
) -> StockLevel:
    """Correct on hand at one location by `delta` (a count, damage, loss), with a reason.

    Refused when it would take on hand below the units reserved there.
    """
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationError({"delta": "Give a whole number of units to add or take away."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the stock changes."})
    variant = get_variant(variant_id)
    location = get_location(location_id)
    if delta > 0:
        ensure_levels([(variant_id, location_id)])
    level = lock_level(variant_id, location_id)
    if level is None:
        raise ValidationError(f"There is no stock of {variant.sku} at {location} to take away.")
    if level.on_hand + delta < level.reserved:
        held = f"the {level.reserved} reserved for orders" if level.reserved else "zero"
        raise ValidationError(
            f"{variant.sku} at {location}: {level.on_hand} on hand, so {delta:+d} would leave "
            f"{level.on_hand + delta}, below {held}. Nothing was changed."
        )
    level.on_hand += delta
    save_level(level)
    movement = build_movement(
        level,
        kind=StockMovement.Kind.ADJUST,
        on_hand_delta=delta,
        reason=reason,
        actor=actor,
        source=source,
    )
    movement.save()
    signals.stock_adjusted.send(sender=StockMovement, movement=movement, source=source, actor=actor)
    if delta < 0:
        check_sold_out([variant_id])
    return level


@retry_on_conflict
@transaction.atomic
def stock_transfer(
    *,
    variant_id: int,
    from_location_id: int,
    to_location_id: int,
    quantity: int,
    actor: User | None,
) -> tuple[StockLevel, StockLevel]:
    """Move available units of a variant from one location to another."""
    check_quantity(quantity)
    if from_location_id == to_location_id:
        raise ValidationError({"to_location": "Choose a different location to move to."})
    variant = get_variant(variant_id)
    source_location = get_location(from_location_id)
    target_location = get_location(to_location_id)
    ensure_levels([(variant_id, to_location_id)])
    levels = {
        level.location_id: level
        for level in lock_levels(
            Q(variant_id=variant_id, location_id__in=[from_location_id, to_location_id])
        )
    }
    origin, target = levels.get(from_location_id), levels[to_location_id]
    available = origin.available if origin is not None else 0
    if available < quantity:
        held = f" ({origin.reserved} more are reserved)" if origin and origin.reserved else ""
        raise ValidationError(
            f"Only {available} of {variant.sku} available at {source_location}{held}; "
            f"{quantity} cannot move."
        )
    assert origin is not None
    origin.on_hand -= quantity
    target.on_hand += quantity
    now = timezone.now()
    movements = StockMovement.objects.bulk_create(
        [
            build_movement(
                origin,
                kind=StockMovement.Kind.TRANSFER_OUT,
                on_hand_delta=-quantity,
                reason=f"To {target_location}",
                actor=actor,
                at=now,
            ),
            build_movement(
                target,
                kind=StockMovement.Kind.TRANSFER_IN,
                on_hand_delta=quantity,
                reason=f"From {source_location}",
                actor=actor,
                at=now,
            ),
        ]
    )
    save_level(origin)
    save_level(target)
    signals.stock_transferred.send(
        sender=StockMovement, movement_out=movements[0], movement_in=movements[1], actor=actor
    )
    return origin, target


@retry_on_conflict
@transaction.atomic
def stock_receive(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    actor: User | None,
    source: models.Model | None = None,
    reason: str = "",
) -> StockLevel:
    """Add received units at a location, then reserve them for backordered orders first.

    Backordered orders of this variant are served oldest first, each as a whole (all its
    backordered lines, from any web location), and staff on out-of-stock duty are told.
    """
    check_quantity(quantity)
    get_variant(variant_id)
    get_location(location_id)
    groups = pending_groups(variant_id)
    variant_ids = {variant_id} | set(
        Backorder.objects.filter(group__in=groups, status__in=Backorder.PENDING).values_list(
            "variant_id", flat=True
        )
    )
    ensure_levels([(variant_id, location_id)])
    levels = lock_levels(
        Q(variant_id__in=sorted(variant_ids)) & (Q(location_id=location_id) | WEB_LEVELS)
    )
    level = next(
        lv for lv in levels if lv.variant_id == variant_id and lv.location_id == location_id
    )
    level.on_hand += quantity
    save_level(level)
    movement = build_movement(
        level,
        kind=StockMovement.Kind.RECEIVE,
        on_hand_delta=quantity,
        reason=reason or "Received",
        actor=actor,
        source=source,
    )
    movement.save()
    signals.stock_received.send(sender=StockMovement, movement=movement, source=source, actor=actor)
    # Read again under the lock: an order backordered while this waited for it is served
    # too (if all of its lines are among the levels locked).
    groups = pending_groups(variant_id)
    if groups:
        expire_holds(levels, now=timezone.now())
        backorders_fill(groups, levels, variant_id=variant_id, actor=actor)
    return level


@retry_on_conflict
@transaction.atomic
def stock_return_restock(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    actor: User | None,
    source: models.Model | None = None,
) -> StockLevel:
    """Put returned units back on the shelf at a location."""
    check_quantity(quantity)
    get_variant(variant_id)
    get_location(location_id)
    ensure_levels([(variant_id, location_id)])
    level = lock_level(variant_id, location_id)
    assert level is not None
    level.on_hand += quantity
    save_level(level)
    movement = build_movement(
        level,
        kind=StockMovement.Kind.RETURN_RESTOCK,
        on_hand_delta=quantity,
        reason="Returned to stock",
        actor=actor,
        source=source,
    )
    movement.save()
    signals.stock_returned.send(sender=StockMovement, movement=movement, source=source, actor=actor)
    return level


@retry_on_conflict
@transaction.atomic
def stock_set_from_pos(
    *,
    variant_id: int,
    location_id: int,
    on_hand: int,
    actor: User | None,
    source: models.Model | None = None,
) -> list[Backorder]:
    """Set on hand at a location to the POS's count (the POS owns quantities).

    When the count is below what is reserved there (the store sold those units over the
    counter), it still applies: the newest reservations go to the out-of-stock queue as
    backorders (whole reservations, keeping their order's source and reference) until the
    rest fit, and reservation_backordered is sent for each. Returns those backorders.
    """
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0:
        raise ValidationError({"on_hand": "The count must be a whole number, 0 or more."})
    variant = get_variant(variant_id)
    location = get_location(location_id)
    ensure_levels([(variant_id, location_id)])
    level = lock_level(variant_id, location_id)
    assert level is not None
    if level.on_hand == on_hand:
        return []
    backorders: list[Backorder] = []
    if on_hand < level.reserved:
        expire_holds([level], now=timezone.now())
    if on_hand < level.reserved:
        newest_first = (
            Reservation.objects.select_for_update()
            .filter(variant_id=variant_id, location_id=location_id)
            .filter(status=Reservation.Status.ACTIVE)
            .order_by("-created_at", "-pk")
        )
        for reservation in newest_first:
            if level.reserved <= on_hand:
                break
            quantity, _ = give_back(
                reservation,
                level,
                status=Reservation.Status.BACKORDERED,
                reason=f"Moved to backorder: the POS counted {on_hand} at {location}",
                actor=actor,
            )
            (backorder,) = backorders_open(
                {variant_id: quantity},
                variants={variant_id: variant},
                actor=actor,
                source_ref=(reservation.source_type_id, reservation.source_id),
                reference=reservation.reference,
                data={"from_reservation": reservation.pk, "pos_count": on_hand},
            )
            signals.reservation_backordered.send(
                sender=Reservation, reservation=reservation, backorder=backorder, actor=actor
            )
            backorders.append(backorder)
    delta = on_hand - level.on_hand
    level.on_hand = on_hand
    save_level(level)
    movement = build_movement(
        level,
        kind=StockMovement.Kind.POS_SYNC,
        on_hand_delta=delta,
        reason=f"POS count {on_hand}",
        actor=actor,
        source=source,
    )
    movement.save()
    signals.stock_synced_from_pos.send(
        sender=StockMovement, movement=movement, source=source, actor=actor
    )
    if delta < 0:
        check_sold_out([variant_id])
    return backorders


# Sweeps ---------------------------------------------------------------------------------


def _reservation_expire_one(*, reservation_id: int, now: datetime) -> bool:
    with transaction.atomic():
        ref = (
            Reservation.objects.filter(pk=reservation_id)
            .values("variant_id", "location_id")
            .first()
        )
        if ref is None:
            return False
        level = lock_level(ref["variant_id"], ref["location_id"])
        reservation = (
            Reservation.objects.select_for_update(skip_locked=True)
            .filter(pk=reservation_id, status=Reservation.Status.ACTIVE, expires_at__lte=now)
            .first()
        )
        if reservation is None or level is None:
            return False  # shipped, released or being used right now
        quantity, _ = give_back(
            reservation, level, status=Reservation.Status.EXPIRED, reason="Hold expired", actor=None
        )
        signals.reservation_expired.send(
            sender=Reservation, reservation=reservation, quantity=quantity, actor=None
        )
        return True


def reservation_expire_due(*, now: datetime | None = None) -> int:
    """Release the active holds whose expiry has passed; returns how many.

    Each hold is released in its own transaction under its level's lock and re-checked
    there, so running this twice, or alongside a shipment, releases a hold at most once.
    """
    now = now or timezone.now()
    started = time.monotonic()
    expired = 0
    after: tuple[datetime, int] | None = None
    while time.monotonic() - started < EXPIRY_TIME_BUDGET_SECONDS:
        due = Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now)
        if after is not None:
            due = due.filter(Q(expires_at__gt=after[0]) | Q(expires_at=after[0], pk__gt=after[1]))
        batch = list(
            due.order_by("expires_at", "pk").values_list("expires_at", "pk")[:EXPIRY_BATCH]
        )
        if not batch:
            break
        for _, reservation_id in batch:
            expired += _reservation_expire_one(reservation_id=reservation_id, now=now)
        after = batch[-1]
    return expired


def low_stock_check(*, now: datetime | None = None) -> int:
    """Report active variants at or below their low-stock threshold (low_stock_found: the
    notifications tell the inventory staff on duty).

    A variant is reported once per local day (its LowStockAlert row is the claim), so a
    run every few minutes does not repeat itself, and a sale does not trigger anything.
    Returns how many variants were reported.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    web = Q(stock_levels__location__active=True) & Q(
        stock_levels__location__kind__in=Location.WEB_KINDS
    )
    candidates = list(
        Variant.objects.filter(low_stock_threshold__gt=0, product__status=Product.Status.ACTIVE)
        .exclude(low_stock_alerts__day=day)
        .annotate(
            sellable=Coalesce(
                Sum(F("stock_levels__on_hand") - F("stock_levels__reserved"), filter=web), 0
            )
        )
        .filter(sellable__lte=F("low_stock_threshold"))
        .select_related("product")
        .order_by("sku")[:LOW_STOCK_BATCH]
    )
    with transaction.atomic():
        reported = []
        for variant in candidates:
            try:
                with transaction.atomic():
                    LowStockAlert.objects.create(
                        variant=variant, day=day, available=variant.sellable, created_at=now
                    )
            except IntegrityError:
                continue  # another run reported it today
            reported.append(variant)
        if reported:
            signals.low_stock_found.send(sender=Variant, variants=reported, day=day)
    return len(reported)
