"""The out-of-stock queue: backorders, and the decisions staff take on them.

An order that cannot be reserved in full waits here as a whole: one Backorder per variant,
sharing a `group`. Its lines are reserved together, when stock arrives (stock_receive,
oldest order first) or when staff ask; each line can also be waited on (a purchase order),
substituted, cancelled, or discussed with the customer. Every step writes a BackorderEvent,
and the line has an open out-of-stock work item exactly while it needs a decision.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Variant
from inventory import signals
from inventory.exceptions import InvalidTransition, NotReservable
from inventory.models import (
    Backorder,
    BackorderEvent,
    PurchaseOrder,
    Reservation,
    StockLevel,
)
from inventory.selectors import OPEN_PO_STATUSES
from inventory.services.levels import (
    LOCK_NOT_AVAILABLE,
    WEB_LEVELS,
    allocate,
    expire_holds,
    lock_levels,
    reserve_plan,
    retry_on_conflict,
    shortage_error,
    variant_reservable,
)
from opsdesk.processes.models import Process, WorkItem
from opsdesk.processes.services import work_item_close, work_item_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User

OUT_OF_STOCK = "out_of_stock"
# Arriving stock looks at this many of the oldest backordered orders of its variant.
FILL_BATCH = 200


# Keeping the queue (inside the callers' transactions) --------------------------------


def _backorder_title(backorder: Backorder, sku: str) -> str:
    title = f"Backorder: {backorder.quantity} × {sku}"
    return f"{title} for {backorder.reference}" if backorder.reference else title


def backorder_work_item_sync(backorder: Backorder, *, actor: User | None, sku: str) -> None:
    """Keep one open out-of-stock work item while the backorder needs a decision by staff
    (open, or waiting for the customer's answer), and none otherwise."""
    needs_decision = backorder.status in (
        Backorder.Status.OPEN,
        Backorder.Status.CUSTOMER_CONTACTED,
    )
    # A read of the processes app's table; it has no selector for "the open item of X" yet.
    open_item = WorkItem.objects.filter(
        process__key=OUT_OF_STOCK,
        source_type=ContentType.objects.get_for_model(Backorder),
        source_id=backorder.pk,
        status=WorkItem.Status.OPEN,
    ).first()
    if needs_decision and open_item is None:
        work_item_open(
            process=OUT_OF_STOCK,
            title=_backorder_title(backorder, sku),
            link=backorder.get_absolute_url(),
            source=backorder,
        )
    elif not needs_decision and open_item is not None:
        work_item_close(item_id=open_item.pk, actor=actor)


def backorders_open(
    demand: dict[int, int],
    *,
    variants: dict[int, Variant],
    actor: User | None,
    source_ref: tuple[int | None, int | None],
    reference: str,
    data: dict | None = None,
) -> list[Backorder]:
    """Put one order's lines in the out-of-stock queue, as one group."""
    now = timezone.now()
    group = uuid.uuid4()
    backorders = Backorder.objects.bulk_create(
        [
            Backorder(
                variant_id=variant_id,
                quantity=quantity,
                group=group,
                source_type_id=source_ref[0],
                source_id=source_ref[1],
                reference=reference[:120],
                created_at=now,
            )
            for variant_id, quantity in demand.items()
        ]
    )
    BackorderEvent.objects.bulk_create(
        [
            BackorderEvent(
                backorder=backorder,
                type=BackorderEvent.Type.CREATED,
                actor=actor,
                to_status=Backorder.Status.OPEN,
                data=data or {},
                created_at=now,
            )
            for backorder in backorders
        ]
    )
    # New rows have no work item yet; the on-duty staff hear of the order once, from the
    # backorder_opened signal (opsdesk.notifications listens, and sends after commit).
    process = Process.objects.get(key=OUT_OF_STOCK)
    for backorder in backorders:
        work_item_open(
            process=process,
            title=_backorder_title(backorder, variants[backorder.variant_id].sku),
            link=backorder.get_absolute_url(),
            source=backorder,
            notify_on_duty=False,
        )
    signals.backorder_opened.send(
        sender=Backorder,
        backorders=backorders,
        source_ref=source_ref,
        reference=reference,
        actor=actor,
    )
    return backorders


def backorder_transition(
    backorder: Backorder,
    *,
    to_status: str,
    actor: User | None,
    event_type: str,
    data: dict | None = None,
    update_fields: Iterable[str] = (),
) -> Backorder:
    """Move a locked backorder to `to_status`, with its timeline event and work item."""
    if to_status not in Backorder.ALLOWED_TRANSITIONS.get(backorder.status, ()):
        raise InvalidTransition(backorder=backorder, to_status=to_status)
    from_status, backorder.status = backorder.status, to_status
    backorder.save(update_fields=["status", "updated_at", *update_fields])
    BackorderEvent.objects.create(
        backorder=backorder,
        type=event_type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
    backorder_work_item_sync(backorder, actor=actor, sku=backorder.variant.sku)
    return backorder


def backorders_reserve(
    members: list[Backorder], levels: list[StockLevel], *, actor: User | None, why: str
) -> list[Reservation] | None:
    """Reserve every pending line of one order's backorders from the locked levels, all or
    nothing; None when they do not all fit. Backorder rows are locked by the caller."""
    pending = [b for b in members if b.is_pending]
    if not pending or not all(variant_reservable(b.variant) for b in pending):
        return None
    demand: dict[int, int] = defaultdict(int)
    for backorder in pending:
        demand[backorder.variant_id] += backorder.quantity
    _, shortages = allocate(demand, levels)
    if shortages:
        return None
    made: list[Reservation] = []
    for backorder in pending:
        plan, _ = allocate({backorder.variant_id: backorder.quantity}, levels)
        reservations = reserve_plan(
            plan,
            actor=actor,
            source_ref=(backorder.source_type_id, backorder.source_id),
            reference=backorder.reference,
            expires_at=None,
            reason=f"Backorder {backorder.pk} reserved ({why})",
        )
        backorder.reservation = reservations[0]
        backorder_transition(
            backorder,
            to_status=Backorder.Status.RESERVED,
            actor=actor,
            event_type=BackorderEvent.Type.RESERVED,
            data={"reservations": [r.pk for r in reservations], "why": why},
            update_fields=["reservation"],
        )
        signals.backorder_reserved.send(
            sender=Backorder, backorder=backorder, reservations=reservations, actor=actor
        )
        made.extend(reservations)
    if pending:
        signals.backorders_filled.send(sender=Backorder, backorders=pending, actor=actor)
    return made


def backorder_lock_group(backorder_id: int) -> tuple[Backorder, list[Backorder]]:
    """Lock every line of the backorder's order, by id; returns (the backorder, all lines)."""
    group = Backorder.objects.values_list("group", flat=True).get(pk=backorder_id)
    members = list(
        Backorder.objects.select_for_update(of=("self",))
        .select_related("variant__product")
        .filter(group=group)
        .order_by("pk")
    )
    return next(b for b in members if b.pk == backorder_id), members


def pending_groups(variant_id: int) -> list[uuid.UUID]:
    rows = (
        Backorder.objects.filter(variant_id=variant_id, status__in=Backorder.PENDING)
        .order_by("created_at", "pk")
        .values_list("group", flat=True)[:FILL_BATCH]
    )
    return list(dict.fromkeys(rows))


def backorders_fill(
    groups: list[uuid.UUID], levels: list[StockLevel], *, variant_id: int, actor: User | None
) -> list[Backorder]:
    """Reserve arrived stock for backordered orders, oldest first. An order that does not
    fit is passed over for a younger one that does; one that staff hold right now is left
    to them."""
    filled: list[Backorder] = []
    received = [lv for lv in levels if lv.variant_id == variant_id and lv.location.serves_web]
    locked_variants = {level.variant_id for level in levels}
    for group in groups:
        if not any(level.available > 0 for level in received):
            break
        try:
            with transaction.atomic():
                members = list(
                    Backorder.objects.select_for_update(of=("self",), nowait=True)
                    .select_related("variant__product")
                    .filter(group=group)
                    .order_by("pk")
                )
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
            continue
        if any(b.is_pending and b.variant_id not in locked_variants for b in members):
            continue  # the order changed since it was read; the next receipt tries again
        if backorders_reserve(members, levels, actor=actor, why="stock arrived") is not None:
            filled.extend(b for b in members if b.status == Backorder.Status.RESERVED)
    return filled


def _lock_levels_for(variant_ids: Iterable[int]) -> list[StockLevel]:
    levels = lock_levels(Q(variant_id__in=sorted(set(variant_ids))) & WEB_LEVELS)
    expire_holds(levels, now=timezone.now())
    return levels


def _settle_rest(
    backorder: Backorder, members: list[Backorder], levels: list[StockLevel], *, actor
) -> None:
    """Once one line is settled, the order's other lines are reserved if they all fit now."""
    rest = [m for m in members if m.pk != backorder.pk]
    backorders_reserve(rest, levels, actor=actor, why="the rest of the order was settled")


def _check_can_become(backorder: Backorder, to_status: str) -> None:
    if to_status not in Backorder.ALLOWED_TRANSITIONS.get(backorder.status, ()):
        raise InvalidTransition(backorder=backorder, to_status=to_status)


# Staff decisions ------------------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def backorder_wait_for_po(
    *,
    backorder_id: int,
    actor: User | None,
    purchase_order_id: int | None = None,
    note: str = "",
) -> Backorder:
    """Decide to wait for stock, optionally naming the purchase order it comes on; the line
    is reserved when that stock is received, and leaves the list of lines to decide on."""
    backorder, _ = backorder_lock_group(backorder_id)
    _check_can_become(backorder, Backorder.Status.WAITING_FOR_PO)
    purchase_order = None
    if purchase_order_id is not None:
        purchase_order = (
            PurchaseOrder.objects.filter(
                pk=purchase_order_id,
                status__in=OPEN_PO_STATUSES,
                lines__variant_id=backorder.variant_id,
            )
            .distinct()
            .first()
        )
        if purchase_order is None:
            raise ValidationError(
                {"purchase_order": "Choose an open purchase order that has this item on it."}
            )
    backorder.purchase_order = purchase_order
    note = note.strip()
    if note:
        backorder.note = note
    expected = purchase_order.expected_at if purchase_order else None
    return backorder_transition(
        backorder,
        to_status=Backorder.Status.WAITING_FOR_PO,
        actor=actor,
        event_type=BackorderEvent.Type.PO_AWAITED,
        data={
            "purchase_order": purchase_order.number if purchase_order else "",
            "expected_at": expected.isoformat() if expected else "",
            "note": note,
        },
        update_fields=["purchase_order", "note"],
    )


@retry_on_conflict
@transaction.atomic
def backorder_contact_customer(*, backorder_id: int, actor: User | None, note: str) -> Backorder:
    """Record that the customer was contacted about the line, and what was said; the line
    stays in the queue until a decision (wait, substitute, cancel) is taken."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Write down what the customer was told or asked."})
    backorder, _ = backorder_lock_group(backorder_id)
    backorder.note = note
    return backorder_transition(
        backorder,
        to_status=Backorder.Status.CUSTOMER_CONTACTED,
        actor=actor,
        event_type=BackorderEvent.Type.CUSTOMER_CONTACTED,
        data={"note": note},
        update_fields=["note"],
    )


@retry_on_conflict
@transaction.atomic
def backorder_substitute(
    *, backorder_id: int, variant_id: int, actor: User | None, note: str = ""
) -> Backorder:
    """Replace the line with another variant, reserved now for the same order (source and
    reference); refused with InsufficientStock if the substitute is not available either."""
    backorder, members = backorder_lock_group(backorder_id)
    _check_can_become(backorder, Backorder.Status.SUBSTITUTED)
    substitute = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if substitute is None:
        raise ValidationError({"variant": "There is no such variant."})
    if substitute.pk == backorder.variant_id:
        raise ValidationError({"variant": "Choose a different variant from the one ordered."})
    if not variant_reservable(substitute):
        raise NotReservable([substitute.sku])
    others = {m.variant_id for m in members if m.is_pending and m.pk != backorder.pk}
    levels = _lock_levels_for({substitute.pk} | others)
    plan, shortages = allocate({substitute.pk: backorder.quantity}, levels)
    if shortages:
        raise shortage_error(shortages, {substitute.pk: substitute})
    source_ref = (backorder.source_type_id, backorder.source_id)
    reservations = reserve_plan(
        plan,
        actor=actor,
        source_ref=source_ref,
        reference=backorder.reference,
        expires_at=None,
        reason=f"Substitute for backorder {backorder.pk}",
    )
    signals.stock_reserved.send(
        sender=Reservation,
        reservations=reservations,
        source_ref=source_ref,
        reference=backorder.reference,
        actor=actor,
    )
    backorder.substitute = substitute
    backorder.reservation = reservations[0]
    note = note.strip()
    if note:
        backorder.note = note
    backorder_transition(
        backorder,
        to_status=Backorder.Status.SUBSTITUTED,
        actor=actor,
        event_type=BackorderEvent.Type.SUBSTITUTED,
        data={
            "substitute": substitute.sku,
            "reservations": [r.pk for r in reservations],
            "note": note,
        },
        update_fields=["substitute", "reservation", "note"],
    )
    signals.backorder_substituted.send(
        sender=Backorder,
        backorder=backorder,
        substitute=substitute,
        reservations=reservations,
        actor=actor,
    )
    _settle_rest(backorder, members, levels, actor=actor)
    return backorder


@retry_on_conflict
@transaction.atomic
def backorder_cancel(*, backorder_id: int, actor: User | None, reason: str) -> Backorder:
    """Cancel the line (the order drops it and refunds it); the rest of the order is then
    reserved if it fits."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the line is cancelled."})
    backorder, members = backorder_lock_group(backorder_id)
    _check_can_become(backorder, Backorder.Status.CANCELLED)
    levels = _lock_levels_for(m.variant_id for m in members if m.is_pending and m != backorder)
    backorder.note = reason
    backorder_transition(
        backorder,
        to_status=Backorder.Status.CANCELLED,
        actor=actor,
        event_type=BackorderEvent.Type.CANCELLED,
        data={"reason": reason},
        update_fields=["note"],
    )
    signals.backorder_cancelled.send(
        sender=Backorder, backorder=backorder, reason=reason, actor=actor
    )
    _settle_rest(backorder, members, levels, actor=actor)
    return backorder


@retry_on_conflict
@transaction.atomic
def backorder_reserve(*, backorder_id: int, actor: User | None) -> Backorder:
    """Reserve the backordered order now from the stock there is (all its pending lines,
    all or nothing), e.g. after a transfer or a count; InsufficientStock if it does not fit."""
    backorder, members = backorder_lock_group(backorder_id)
    _check_can_become(backorder, Backorder.Status.RESERVED)
    pending = [m for m in members if m.is_pending]
    levels = _lock_levels_for(m.variant_id for m in pending)
    if backorders_reserve(members, levels, actor=actor, why="reserved by staff") is None:
        demand: dict[int, int] = defaultdict(int)
        for line in pending:
            demand[line.variant_id] += line.quantity
        _, shortages = allocate(demand, levels)
        raise shortage_error(shortages, {m.variant_id: m.variant for m in pending})
    return backorder
