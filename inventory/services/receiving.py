"""Receiving: purchase orders, the receiving screen's scans, receipts and discrepancies.

A purchase order goes draft → sent (a work item lands in the receiving queue) → partly
received / received as receipts are posted → closed. Each receipt puts the counted units into
the order's location through `stock_receive` (which serves open backorders first). Closing a
receipt records what came over or under the order as discrepancies; codes nobody recognised
are recorded as they are scanned into a receipt, and can become draft products.

The receiving screen keeps its running count outside the database (in the session): a scan
changes nothing until the receipt is posted. `receiving_scan` is therefore a pure lookup.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant, Vendor
from inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceivingDiscrepancy,
    StockMovement,
)
from inventory.pos_formats import SKU_MAX_LENGTH, SKU_RE, gtin_valid

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RECEIVING_PROCESS = "receiving"
CODE_MAX_LENGTH = 64

Status = PurchaseOrder.Status
# The purchase order's state machine (kept here: the model is shared with the stock core).
PURCHASE_ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.SENT, Status.CLOSED),
    Status.SENT: (Status.PARTIAL, Status.RECEIVED, Status.CLOSED),
    Status.PARTIAL: (Status.RECEIVED, Status.CLOSED),
    # More can arrive after all was received (an over-delivery), until the receipt closes.
    Status.RECEIVED: (Status.CLOSED,),
    Status.CLOSED: (),
}
RECEIVABLE = (Status.SENT, Status.PARTIAL, Status.RECEIVED)


class InvalidTransition(ValidationError):
    def __init__(self, *, purchase_order: PurchaseOrder, to_status: str) -> None:
        labels = dict(Status.choices)
        super().__init__(
            f"Purchase order {purchase_order.number} is {labels[purchase_order.status].lower()}; "
            f"it cannot become {labels[to_status].lower()}."
        )


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_cost: Decimal | None = None


def _purchase_order_transition(purchase_order: PurchaseOrder, to_status: str) -> None:
    """The one place a purchase order's status changes (the caller holds the row lock)."""
    if to_status not in PURCHASE_ORDER_TRANSITIONS[purchase_order.status]:
        raise InvalidTransition(purchase_order=purchase_order, to_status=to_status)
    purchase_order.status = to_status
    purchase_order.save(update_fields=["status"])


def _locked(purchase_order_id: int) -> PurchaseOrder:
    return (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("vendor", "location")
        .get(pk=purchase_order_id)
    )


def purchase_order_url(purchase_order: PurchaseOrder) -> str:
    return reverse("inventory:po_detail", kwargs={"po_id": purchase_order.pk})


@transaction.atomic
def purchase_order_create(
    *,
    vendor_id: int,
    location_id: int,
    lines: Iterable[LineInput],
    actor: User | None,
    number: str = "",
    expected_at: date | None = None,
) -> PurchaseOrder:
    """Draft a purchase order to a vendor, for goods arriving at one of the store's locations."""
    lines = list(lines)
    if not lines:
        raise ValidationError({"lines": "Add at least one line: a SKU and a quantity."})
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise ValidationError({"vendor": "Choose a vendor."})
    location = Location.objects.filter(pk=location_id, active=True).first()
    if location is None or location.kind == Location.Kind.VENDOR:
        raise ValidationError({"location": "Choose a store or warehouse for the goods to arrive."})
    number = number.strip()
    if number and PurchaseOrder.objects.filter(number=number).exists():
        raise ValidationError({"number": f"There is already a purchase order {number}."})

    skus = [line.sku for line in lines]
    duplicates = sorted(sku for sku, n in Counter(skus).items() if n > 1)
    if duplicates:
        raise ValidationError({"lines": f"Each SKU once per order: {', '.join(duplicates)}."})
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=skus)}
    unknown = [sku for sku in skus if sku not in variants]
    if unknown:
        raise ValidationError({"lines": f"No item with the SKU {', '.join(unknown)}."})
    bad = [line.sku for line in lines if line.quantity <= 0]
    if bad:
        raise ValidationError({"lines": f"Order at least one of {', '.join(bad)}."})

    purchase_order = PurchaseOrder.objects.create(
        vendor=vendor,
        location=location,
        # A placeholder until the row has its id, which numbers it without a race.
        number=number or f"new-{uuid.uuid4().hex}",
        expected_at=expected_at,
        created_by=actor,
    )
    if not number:
        purchase_order.number = f"PO-{purchase_order.pk:05d}"
        purchase_order.save(update_fields=["number"])
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=purchase_order,
            variant=variants[line.sku],
            quantity_ordered=line.quantity,
            unit_cost=line.unit_cost,
        )
        for line in lines
    )
    return purchase_order


def _due_at(expected_at: date | None) -> datetime | None:
    if expected_at is None:
        return None
    # Due by the end of the expected day, in the store's time zone.
    due = timezone.make_aware(datetime.combine(expected_at, time(23, 59)))
    return max(due, timezone.now())


@transaction.atomic
def purchase_order_send(*, purchase_order_id: int, actor: User | None) -> PurchaseOrder:
    """Mark a purchase order sent to its vendor, and put it in the receiving queue."""
    from opsdesk.processes.services import work_item_open

    purchase_order = _locked(purchase_order_id)
    _purchase_order_transition(purchase_order, Status.SENT)
    when = f", expected {purchase_order.expected_at:%a %d %b}" if purchase_order.expected_at else ""
    work_item_open(
        process=RECEIVING_PROCESS,
        title=f"Receive {purchase_order.number} from {purchase_order.vendor}{when}",
        link=purchase_order_url(purchase_order),
        source=purchase_order,
        due_at=_due_at(purchase_order.expected_at),
    )
    return purchase_order


# Scanning ---------------------------------------------------------------------------------


@dataclass
class ReceivingDraft:
    """What the receiving screen has counted so far for one purchase order (not yet posted).

    `key` names this count: posting the same key twice puts nothing in stock twice.
    """

    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    counts: dict[int, int] = field(default_factory=dict)  # variant id -> units
    unknown: dict[str, int] = field(default_factory=dict)  # scanned code -> times
    log: list[dict] = field(default_factory=list)  # newest first, a few entries

    LOG_LENGTH = 12

    def to_session(self) -> dict:
        return {
            "key": self.key,
            "counts": {str(k): v for k, v in self.counts.items()},
            "unknown": dict(self.unknown),
            "log": self.log[: self.LOG_LENGTH],
        }

    @classmethod
    def from_session(cls, data: Mapping | None) -> ReceivingDraft:
        if not data:
            return cls()
        return cls(
            key=str(data.get("key") or uuid.uuid4().hex),
            counts={int(k): int(v) for k, v in (data.get("counts") or {}).items()},
            unknown={str(k): int(v) for k, v in (data.get("unknown") or {}).items()},
            log=list(data.get("log") or []),
        )

    @property
    def is_empty(self) -> bool:
        return not self.counts and not self.unknown

    @property
    def unknown_codes(self) -> list[str]:
        return [code for code, times in self.unknown.items() for _ in range(times)]


@dataclass(frozen=True)
class ScanResult:
    outcome: str  # "counted", "unknown", "not_on_order" or "empty"
    message: str
    variant_id: int | None = None
    code: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "counted"


def _variant_label(variant: Variant) -> str:
    options = getattr(variant, "options_label", "")
    title = variant.product.title
    return f"{variant.sku} {title}{' — ' + options if options else ''}"


def receiving_scan(*, purchase_order_id: int, code: str, draft: ReceivingDraft) -> ScanResult:
    """Count one unit of a scanned barcode or typed SKU into `draft` (nothing is saved).

    The code is looked up among the order's lines by barcode, then SKU (exact, then
    ignoring case). A code that is not on the order is flagged and kept in the draft, to be
    recorded as an unknown item when the receipt is posted.
    """
    code = " ".join(code.split())[:CODE_MAX_LENGTH]
    if not code:
        return ScanResult(outcome="empty", message="Scan a barcode or type a SKU.")
    lines = list(
        PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id)
        .filter(Q(variant__barcode=code) | Q(variant__sku__iexact=code))
        .select_related("variant__product")
    )
    line = next((ln for ln in lines if ln.variant.barcode == code), None)
    line = line or next((ln for ln in lines if ln.variant.sku == code), None)
    line = line or (lines[0] if lines else None)
    if line is not None:
        variant = line.variant
        draft.counts[variant.pk] = draft.counts.get(variant.pk, 0) + 1
        counted = draft.counts[variant.pk]
        message = f"{_variant_label(variant)}: {counted} counted of {line.quantity_ordered} ordered"
        result = ScanResult(outcome="counted", message=message, variant_id=variant.pk, code=code)
    else:
        draft.unknown[code] = draft.unknown.get(code, 0) + 1
        elsewhere = (
            Variant.objects.filter(Q(barcode=code) | Q(sku__iexact=code))
            .select_related("product")
            .first()
        )
        if elsewhere is not None:
            result = ScanResult(
                outcome="not_on_order",
                message=f"{code} is {_variant_label(elsewhere)}, which is not on this order. "
                "Set it aside; it is recorded as an unknown item.",
                variant_id=elsewhere.pk,
                code=code,
            )
        else:
            result = ScanResult(
                outcome="unknown",
                message=f"{code} is not a barcode or SKU opsdesk knows. Set the item aside; "
                "it is recorded as an unknown item.",
                code=code,
            )
    draft.log.insert(0, {"code": code, "outcome": result.outcome, "message": result.message})
    del draft.log[ReceivingDraft.LOG_LENGTH :]
    return result


def receiving_count_adjust(
    *, purchase_order_id: int, variant_id: int | None, code: str, delta: int, draft: ReceivingDraft
) -> ReceivingDraft:
    """Correct the draft count of one line (or one unknown code) by `delta`, not below zero."""
    if variant_id is not None:
        if not PurchaseOrderLine.objects.filter(
            purchase_order_id=purchase_order_id, variant_id=variant_id
        ).exists():
            raise ValidationError("That item is not on this purchase order.")
        count = max(draft.counts.get(variant_id, 0) + delta, 0)
        if count:
            draft.counts[variant_id] = count
        else:
            draft.counts.pop(variant_id, None)
    elif code:
        count = max(draft.unknown.get(code, 0) + delta, 0)
        if count:
            draft.unknown[code] = count
        else:
            draft.unknown.pop(code, None)
    return draft


# Receipts ---------------------------------------------------------------------------------


def _stock_receive(**kwargs) -> None:
    from inventory.services.stock import stock_receive

    stock_receive(**kwargs)


def _already_posted(purchase_order: PurchaseOrder, receipt_key: str) -> bool:
    if not receipt_key:
        return False
    po_type = ContentType.objects.get_for_model(PurchaseOrder)
    return (
        StockMovement.objects.filter(
            source_type=po_type, source_id=purchase_order.pk, reason__endswith=f"[{receipt_key}]"
        ).exists()
        or purchase_order.discrepancies.filter(note__endswith=f"[{receipt_key}]").exists()
    )


def _receipt_status(purchase_order: PurchaseOrder, lines: list[PurchaseOrderLine]) -> str:
    ordered = [line for line in lines if line.quantity_ordered > 0]
    if ordered and all(line.quantity_received >= line.quantity_ordered for line in ordered):
        return Status.RECEIVED
    if any(line.quantity_received for line in lines):
        return Status.PARTIAL
    return purchase_order.status


def _work_item_close(purchase_order: PurchaseOrder, actor: User | None) -> None:
    from opsdesk.processes.models import WorkItem
    from opsdesk.processes.services import work_item_close

    items = WorkItem.objects.filter(
        process__key=RECEIVING_PROCESS,
        source_type=ContentType.objects.get_for_model(PurchaseOrder),
        source_id=purchase_order.pk,
        status=WorkItem.Status.OPEN,
    ).values_list("pk", flat=True)
    for item_id in items:
        work_item_close(item_id=item_id, actor=actor)


@transaction.atomic
def receipt_post(
    *,
    purchase_order_id: int,
    counts: Mapping[int, int],
    unknown_codes: Iterable[str],
    actor: User | None,
    close: bool,
    receipt_key: str = "",
) -> PurchaseOrder:
    """Post what was counted: the units go into stock at the order's location.

    `counts` maps variant ids on the order to units counted; `unknown_codes` lists each scan
    of a code not on the order (repeats count). With `close`, the receipt is finished: each
    line whose received quantity differs from the order is recorded as over or under, and
    the order leaves the receiving queue. The order's row is locked for the whole receipt,
    and a `receipt_key` posted before changes nothing the second time.
    """
    purchase_order = _locked(purchase_order_id)
    if _already_posted(purchase_order, receipt_key):
        return purchase_order
    if purchase_order.status not in RECEIVABLE:
        if purchase_order.status == Status.DRAFT:
            raise ValidationError(
                f"Purchase order {purchase_order.number} is still a draft: mark it sent first."
            )
        raise ValidationError(f"Purchase order {purchase_order.number} is already closed.")
    lines = list(purchase_order.lines.select_for_update().order_by("pk"))
    by_variant = {line.variant_id: line for line in lines}
    stray = sorted(set(counts) - set(by_variant))
    if stray:
        raise ValidationError("Some counted items are not on this purchase order.")
    if any(quantity < 0 for quantity in counts.values()):
        raise ValidationError("A count cannot be negative.")
    tag = f" [{receipt_key}]" if receipt_key else ""

    for variant_id, quantity in sorted(counts.items()):
        if quantity <= 0:
            continue
        line = by_variant[variant_id]
        _stock_receive(
            variant_id=variant_id,
            location_id=purchase_order.location_id,
            quantity=quantity,
            actor=actor,
            source=purchase_order,
            reason=f"Received on {purchase_order.number}{tag}",
        )
        line.quantity_received += quantity
        line.save(update_fields=["quantity_received"])

    for code, times in Counter(
        " ".join(c.split())[:CODE_MAX_LENGTH] for c in unknown_codes
    ).items():
        if not code:
            continue
        known = Variant.objects.filter(Q(barcode=code) | Q(sku__iexact=code)).first()
        where = (
            f"In the catalog as {known.sku}, not on this order." if known else "Not in the catalog."
        )
        ReceivingDiscrepancy.objects.create(
            purchase_order=purchase_order,
            kind=ReceivingDiscrepancy.Kind.UNKNOWN,
            scanned_code=code,
            expected=0,
            received=times,
            note=f"{where}{tag}"[:255],
            recorded_by=actor,
        )

    if close:
        for line in lines:
            if line.quantity_ordered == 0 or line.quantity_received == line.quantity_ordered:
                continue
            over = line.quantity_received > line.quantity_ordered
            ReceivingDiscrepancy.objects.create(
                purchase_order=purchase_order,
                line=line,
                kind=ReceivingDiscrepancy.Kind.OVER if over else ReceivingDiscrepancy.Kind.UNDER,
                expected=line.quantity_ordered,
                received=line.quantity_received,
                note=f"Recorded when the receipt was closed.{tag}",
                recorded_by=actor,
            )
        _purchase_order_transition(purchase_order, Status.CLOSED)
        _work_item_close(purchase_order, actor)
    else:
        status = _receipt_status(purchase_order, lines)
        if status != purchase_order.status:
            _purchase_order_transition(purchase_order, status)
    return purchase_order


@transaction.atomic
def receiving_unknown_resolve(
    *,
    discrepancy_id: int,
    actor: User | None,
    title: str = "",
    price: Decimal | None = None,
    sku: str = "",
) -> PurchaseOrderLine:
    """Take an unknown item into stock: as the catalog item its code names, or as a new draft.

    A code the catalog knows (an item that was not on the order) is received as that item. A
    code nobody knows needs a title and a price: it becomes a draft product in the data-entry
    queue (its barcode the scanned code when that is a valid GTIN). Either way the units join
    the order as a line with nothing ordered, and go into stock at the order's location.
    """
    discrepancy = ReceivingDiscrepancy.objects.select_for_update().get(pk=discrepancy_id)
    if discrepancy.kind != ReceivingDiscrepancy.Kind.UNKNOWN:
        raise ValidationError("Only unknown items are taken in this way.")
    if discrepancy.line_id is not None:
        raise ValidationError("This item has already been taken into stock.")
    purchase_order = _locked(discrepancy.purchase_order_id)
    code = discrepancy.scanned_code
    variant = Variant.objects.filter(Q(barcode=code) | Q(sku__iexact=code)).first()
    if variant is None:
        variant = _draft_create(code=code, sku=sku, title=title, price=price, actor=actor)
        outcome = f"Draft {variant.sku} created for the data-entry queue."
    else:
        outcome = f"Received as {variant.sku}."
    line, _ = PurchaseOrderLine.objects.select_for_update().get_or_create(
        purchase_order=purchase_order, variant=variant, defaults={"quantity_ordered": 0}
    )
    _stock_receive(
        variant_id=variant.pk,
        location_id=purchase_order.location_id,
        quantity=discrepancy.received,
        actor=actor,
        source=purchase_order,
        reason=f"Unknown item {code} received on {purchase_order.number}",
    )
    line.quantity_received += discrepancy.received
    line.save(update_fields=["quantity_received"])
    discrepancy.line = line
    discrepancy.note = f"{discrepancy.note} {outcome}".strip()[:255]
    discrepancy.save(update_fields=["line", "note"])
    return line


def _draft_create(
    *, code: str, sku: str, title: str, price: Decimal | None, actor: User | None
) -> Variant:
    from catalog.services import product_create_draft

    title = title.strip()
    errors = {}
    if not title:
        errors["title"] = "Give the item a title."
    if price is None or price < 0:
        errors["price"] = "Give the item a price (0 or more)."
    is_gtin = gtin_valid(code)
    sku = sku.strip() or (f"RCV-{code}" if is_gtin else code)
    if len(sku) > SKU_MAX_LENGTH or not SKU_RE.fullmatch(sku):
        errors["sku"] = "Give the item a SKU: letters, digits and - . _ / #."
    elif Variant.objects.filter(sku=sku).exists():
        errors["sku"] = f"The SKU {sku} is taken."
    if errors:
        raise ValidationError(errors)
    return product_create_draft(
        sku=sku,
        title=title,
        price=price,
        barcode=code if is_gtin else "",
        source="receiving",
        actor=actor,
    )
