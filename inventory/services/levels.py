"""Building blocks of the inventory services: locking, movements, allocation, retries.

Internal to inventory.services; other apps call the services in stock.py and backorders.py.

Every change of a StockLevel writes StockMovement rows in the same transaction, so a level's
on hand and reserved always equal the sums of its movements' deltas; the database's CHECK
constraints keep 0 <= reserved <= on hand whatever a caller does.

Locking, the same everywhere so that no two services wait on each other in a cycle:
1. a backorder action first locks its order's backorder rows (one statement, by id);
2. StockLevel rows, in one SELECT ... FOR UPDATE ... ORDER BY id;
3. then the Reservation rows of levels it holds.
The one step against that order, arriving stock taking backorder rows, uses NOWAIT and
passes over an order that staff are deciding on at that moment; expired holds are taken with
SKIP LOCKED. The public services own their transaction and retry it a bounded number of times
on a serialization failure or deadlock; called inside a caller's atomic block they run once
(the caller's transaction is lost by then, so only the caller can retry).
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial, reduce, wraps
from operator import or_
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import OperationalError, models, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product, Variant
from catalog.services import product_sold_out_unpublish, variant_is_reservable
from inventory import signals
from inventory.exceptions import InsufficientStock, Shortage
from inventory.models import Location, Reservation, StockLevel, StockMovement
from opsdesk.core.bulk import objects_insert, update_many

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# A conflicting transaction (serialization failure, deadlock) is tried this many times.
CONFLICT_ATTEMPTS = 5
CONFLICT_CODES = frozenset({"40001", "40P01"})
LOCK_NOT_AVAILABLE = "55P03"

WEB_LEVELS = Q(location__active=True, location__kind__in=Location.WEB_KINDS)


# Transactions ---------------------------------------------------------------------------


def _is_conflict(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in CONFLICT_CODES


def retry_on_conflict(func: Callable) -> Callable:
    """Run `func` (which opens its own transaction) again on a serialization failure or
    deadlock, at most CONFLICT_ATTEMPTS times, with a short random pause between tries."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == CONFLICT_ATTEMPTS or not _is_conflict(exc):
                    raise
                logger.info("%s: conflict on attempt %d, trying again", func.__name__, attempt)
                time.sleep(random.uniform(0.001, 0.01 * attempt))
        raise AssertionError("unreachable")

    return wrapper


# Catalog --------------------------------------------------------------------------------


def variant_reservable(variant: Variant) -> bool:
    """Catalog decides: archived products, and discontinued ones sold out, are not."""
    return variant_is_reservable(variant)


def check_sold_out(variant_ids: Iterable[int]) -> None:
    """After available went down: a discontinued product with nothing left is unpublished
    by catalog once this commits (catalog re-checks, so a late or extra call is harmless)."""
    products = set(
        Variant.objects.filter(
            pk__in=set(variant_ids), product__status=Product.Status.DISCONTINUED
        ).values_list("product_id", flat=True)
    )
    for product_id in sorted(products):
        left = StockLevel.objects.filter(variant__product_id=product_id).aggregate(
            total=Coalesce(Sum(F("on_hand") - F("reserved")), 0)
        )["total"]
        if left <= 0:
            transaction.on_commit(
                partial(product_sold_out_unpublish, product_id=product_id), robust=True
            )


# Building blocks ------------------------------------------------------------------------


def ref_of(source: models.Model | None) -> tuple[int | None, int | None]:
    if source is None:
        return None, None
    return ContentType.objects.get_for_model(source).pk, source.pk


def build_movement(
    level: StockLevel,
    *,
    kind: str,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    reason: str = "",
    actor: User | None = None,
    source: models.Model | None = None,
    source_ref: tuple[int | None, int | None] | None = None,
    at: datetime | None = None,
) -> StockMovement:
    source_type_id, source_id = source_ref if source_ref is not None else ref_of(source)
    return StockMovement(
        variant_id=level.variant_id,
        location_id=level.location_id,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        reason=reason[:255],
        actor=actor,
        source_type_id=source_type_id,
        source_id=source_id,
        created_at=at or timezone.now(),
    )


def check_quantity(quantity: int, *, name: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError({name: "Give a whole number of units, at least 1."})


def get_variant(variant_id: int) -> Variant:
    try:
        return Variant.objects.select_related("product").get(pk=variant_id)
    except Variant.DoesNotExist:
        raise ValidationError(f"There is no variant with id {variant_id}.") from None


def get_location(location_id: int) -> Location:
    try:
        return Location.objects.get(pk=location_id)
    except Location.DoesNotExist:
        raise ValidationError(f"There is no location with id {location_id}.") from None


def ensure_levels(pairs: Iterable[tuple[int, int]]) -> None:
    """Create the missing (variant, location) levels at zero; concurrent callers both win."""
    StockLevel.objects.bulk_create(
        [StockLevel(variant_id=v, location_id=loc) for v, loc in sorted(set(pairs))],
        ignore_conflicts=True,
    )


def lock_levels(condition: Q) -> list[StockLevel]:
    """Lock the matching levels, in id order (the one order every service uses)."""
    return list(
        StockLevel.objects.select_for_update(of=("self",))
        .select_related("location", "variant")
        .filter(condition)
        .order_by("pk")
    )


def lock_level(variant_id: int, location_id: int) -> StockLevel | None:
    levels = lock_levels(Q(variant_id=variant_id, location_id=location_id))
    return levels[0] if levels else None


def save_level(level: StockLevel) -> None:
    level.save(update_fields=["on_hand", "reserved", "updated_at"])


def give_back(
    reservation: Reservation, level: StockLevel, *, status: str, reason: str, actor: User | None
) -> tuple[int, StockMovement]:
    """Give a reservation's remaining units back to its level (both rows locked)."""
    quantity = reservation.remaining
    level.reserved -= quantity
    save_level(level)
    reservation.status = status
    reservation.save(update_fields=["status", "updated_at"])
    movement = build_movement(
        level,
        kind=StockMovement.Kind.RELEASE,
        reserved_delta=-quantity,
        reason=reason,
        actor=actor,
        source=reservation,
    )
    movement.save()
    return quantity, movement


def expire_holds(levels: Iterable[StockLevel], *, now: datetime) -> list[Reservation]:
    """Release the expired holds on levels this transaction has locked.

    Done before every allocation, so a hold past its expiry never keeps stock from an order,
    even before the sweep comes round. Holds another transaction is using are left to it.
    """
    by_key = {(level.variant_id, level.location_id): level for level in levels}
    if not by_key:
        return []
    pairs = reduce(or_, (Q(variant_id=v, location_id=loc) for v, loc in by_key))
    due = (
        Reservation.objects.select_for_update(skip_locked=True)
        .filter(pairs, status=Reservation.Status.ACTIVE, expires_at__lte=now)
        .order_by("pk")
    )
    expired = []
    for reservation in due:
        level = by_key[(reservation.variant_id, reservation.location_id)]
        quantity, _ = give_back(
            reservation,
            level,
            status=Reservation.Status.EXPIRED,
            reason="Hold expired",
            actor=None,
        )
        signals.reservation_expired.send(
            sender=Reservation, reservation=reservation, quantity=quantity, actor=None
        )
        expired.append(reservation)
    return expired


def allocate(
    demand: dict[int, int], levels: Iterable[StockLevel]
) -> tuple[list[tuple[StockLevel, int]], list[tuple[int, int, int]]]:
    """Plan the units of each variant from the web's locations, lowest web_priority first.

    Returns (plan of (level, units), shortages of (variant_id, wanted, available)). Nothing
    is changed; a plan is only taken when there are no shortages.
    """
    by_variant: dict[int, list[StockLevel]] = defaultdict(list)
    for level in levels:
        if level.location.serves_web:
            by_variant[level.variant_id].append(level)
    plan: list[tuple[StockLevel, int]] = []
    shortages: list[tuple[int, int, int]] = []
    for variant_id, wanted in demand.items():
        candidates = sorted(
            by_variant.get(variant_id, []),
            key=lambda lv: (lv.location.web_priority, lv.location.name, lv.location_id),
        )
        available = sum(max(level.available, 0) for level in candidates)
        if available < wanted:
            shortages.append((variant_id, wanted, available))
            continue
        left = wanted
        for level in candidates:
            take = min(max(level.available, 0), left)
            if take:
                plan.append((level, take))
                left -= take
            if not left:
                break
    return plan, shortages


def reserve_plan(
    plan: list[tuple[StockLevel, int]],
    *,
    actor: User | None,
    source_ref: tuple[int | None, int | None],
    reference: str,
    expires_at: datetime | None,
    reason: str,
) -> list[Reservation]:
    """Take a plan's units from its (locked) levels as reservations, and write them."""
    now = timezone.now()
    taken = [
        plan_take(
            level, units, source_ref=source_ref, reference=reference, expires_at=expires_at, at=now
        )
        for level, units in plan
    ]
    reservations_save([(level, r, reason) for level, r in taken], actor=actor, at=now)
    return [reservation for _, reservation in taken]


def plan_take(
    level: StockLevel,
    units: int,
    *,
    source_ref: tuple[int | None, int | None],
    reference: str,
    expires_at: datetime | None,
    at: datetime,
) -> tuple[StockLevel, Reservation]:
    """Count `units` of a locked level as reserved (in memory, so the next allocation sees
    them) and make their reservation, both for reservations_save to write."""
    level.reserved += units
    level.updated_at = at
    reservation = Reservation(
        variant_id=level.variant_id,
        location_id=level.location_id,
        quantity=units,
        source_type_id=source_ref[0],
        source_id=source_ref[1],
        reference=reference[:120],
        expires_at=expires_at,
        created_at=at,
    )
    return level, reservation


def reservations_save(
    taken: list[tuple[StockLevel, Reservation, str]], *, actor: User | None, at: datetime
) -> None:
    """Write what plan_take counted: the reservations, their levels (each once, however
    many reservations it gave) and a movement per reservation, with its reason."""
    if not taken:
        return
    Reservation.objects.bulk_create([reservation for _, reservation, _ in taken])
    levels = {level.pk: level for level, _, _ in taken}
    update_many(
        StockLevel,
        ["reserved"],
        [(pk, level.reserved) for pk, level in levels.items()],
        same={"updated_at": at},
    )
    objects_insert(
        [
            build_movement(
                level,
                kind=StockMovement.Kind.RESERVE,
                reserved_delta=reservation.quantity,
                reason=reason,
                actor=actor,
                source=reservation,
                at=at,
            )
            for level, reservation, reason in taken
        ]
    )
    check_sold_out({level.variant_id for level in levels.values()})


def merge_lines(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    demand: dict[int, int] = defaultdict(int)
    for variant_id, quantity in lines:
        check_quantity(quantity)
        demand[int(variant_id)] += quantity
    if not demand:
        raise ValidationError("An order needs at least one line to reserve.")
    return dict(sorted(demand.items()))


def shortage_error(
    shortages: list[tuple[int, int, int]], variants: dict[int, Variant]
) -> InsufficientStock:
    return InsufficientStock(
        [
            Shortage(variant_id=v, sku=variants[v].sku, requested=wanted, available=available)
            for v, wanted, available in shortages
        ]
    )
