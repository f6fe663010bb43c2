"""Return requests: eligibility under the policy, then requested, approved or declined,
waiting for the item, received (scanned), inspected line by line, refunded, closed.

A return is asked for under the order's row lock, so two requests for the same units (staff
on the phone, the customer on the form) cannot both pass the "delivered minus already
returned" check. Each step locks the return's row, checks the move against
ReturnRequest.ALLOWED_TRANSITIONS, and writes the timeline (the return's and the order's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory.models import Location
from orders.models import Order, OrderLine, Shipment, ShipmentLine
from returns.models import (
    Refund,
    RefundLine,
    RefundMethod,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
)
from returns.money import ZERO, LineIn, Quote, order_shares, refund_quote
from returns.services.common import (
    REASON_MAX,
    REFUNDS_PROCESS,
    RETURNS_PROCESS,
    TEXT_MAX,
    clean_text,
    lock_order,
    lock_return,
    notice_send,
    queue_close,
    queue_next,
    queue_open,
    return_event,
    return_transition,
)
from returns.services.policy import policy_current
from returns.services.refunds import refund_create
from returns.signals import return_line_inspected

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The customer has the units of these shipments.
WITH_CUSTOMER = (Shipment.Status.SHIPPED, Shipment.Status.DELIVERED, Shipment.Status.PICKED_UP)
# Orders whose payment was taken and not all given back.
RETURNABLE_PAYMENT = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)
# How long a return may wait for the customer's parcel before it is late in the queue.
AWAITING_ITEM_TARGET = timedelta(days=21)


@dataclass
class LineEligibility:
    """What of one order line can be returned, and if nothing, why."""

    line: OrderLine
    delivered: int
    returned: int
    received_at: datetime | None
    window_ends: datetime | None
    final_sale: bool
    refusal: str

    @property
    def returnable(self) -> int:
        return 0 if self.refusal else max(self.delivered - self.returned, 0)


def _line_label(line: OrderLine) -> str:
    return f"{line.title} ({line.sku})" if line.sku else line.title


def return_eligibility(
    *, order: Order, policy: ReturnPolicy, at: datetime | None = None
) -> list[LineEligibility]:
    """Per line of the order: delivered, already returned, the window, final sale, and the
    reason it cannot be returned (empty when some units can). Four queries."""
    at = at or timezone.now()
    lines = list(order.lines.select_related("variant__product").order_by("id"))
    delivered: dict[int, int] = defaultdict(int)
    received: dict[int, datetime] = {}
    shipped = ShipmentLine.objects.filter(
        shipment__order=order, shipment__status__in=WITH_CUSTOMER
    ).values_list(
        "order_line_id",
        "quantity",
        "shipment__delivered_at",
        "shipment__picked_up_at",
        "shipment__shipped_at",
    )
    for line_id, quantity, delivered_at, picked_up_at, shipped_at in shipped:
        delivered[line_id] += quantity
        when = delivered_at or picked_up_at or shipped_at
        if when is not None and (line_id not in received or when > received[line_id]):
            received[line_id] = when
    returned = dict(
        ReturnLine.objects.filter(
            order_line__order=order, return_request__status__in=ReturnRequest.ACTIVE
        )
        .values_list("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    final_products = set(policy.final_sale_product_ids)
    final_categories = set(policy.final_sale_category_ids)
    result = []
    for line in lines:
        product = line.variant.product if line.variant_id else None
        final_sale = product is not None and (
            product.pk in final_products or product.category_id in final_categories
        )
        got = delivered.get(line.pk, 0)
        back = returned.get(line.pk, 0)
        when = received.get(line.pk)
        ends = when + timedelta(days=policy.window_days) if when is not None else None
        label = _line_label(line)
        if final_sale:
            refusal = f"{label} is a final-sale item and cannot be returned."
        elif got == 0:
            refusal = f"{label} has not been delivered yet."
        elif ends is not None and at > ends:
            refusal = (
                f"{label} was delivered on {timezone.localtime(when):%Y-%m-%d}; the "
                f"{policy.window_days}-day return window ended on "
                f"{timezone.localtime(ends):%Y-%m-%d}."
            )
        elif back >= got:
            refusal = f"All {got} delivered unit(s) of {label} are already being returned."
        else:
            refusal = ""
        result.append(
            LineEligibility(
                line=line,
                delivered=got,
                returned=back,
                received_at=when,
                window_ends=ends,
                final_sale=final_sale,
                refusal=refusal,
            )
        )
    return result


def _order_refusal(order: Order) -> str:
    if order.payment_status in RETURNABLE_PAYMENT:
        return ""
    if order.payment_status == Order.PaymentStatus.REFUNDED:
        return f"Order {order.number} is already fully refunded."
    if order.payment_status == Order.PaymentStatus.REFUND_DUE:
        return f"Order {order.number} was cancelled; its refund is already in the refunds queue."
    return (
        f"Order {order.number} is {order.get_payment_status_display().lower()}: "
        "nothing was paid, so there is nothing to return for a refund."
    )


@transaction.atomic
def return_request_create(
    *,
    order_id: int,
    lines: dict[int, int],
    reason: str,
    actor: User | None,
    source: str = ReturnRequest.Source.STAFF,
    customer_note: str = "",
    refund_method: str = RefundMethod.ORIGINAL,
) -> ReturnRequest:
    """Open a return of some units of an order, if the policy allows it; every refusal says
    why, and nothing is written."""
    customer_note = clean_text(
        customer_note, field="customer_note", what="the note", required=False, limit=TEXT_MAX
    )
    order = lock_order(order_id)
    policy = policy_current()
    if policy is None:
        raise ValidationError("No return policy is published yet, so no return can be opened.")
    refusal = _order_refusal(order)
    if refusal:
        raise ValidationError(refusal)
    policy_reason = policy.reason(reason)
    if policy_reason is None:
        raise ValidationError({"reason": "Choose one of the return reasons of the policy."})
    if refund_method not in policy.refund_methods:
        offered = ", ".join(RefundMethod(m).label.lower() for m in policy.refund_methods)
        raise ValidationError({"refund_method": f"The policy offers: {offered}."})
    if source not in ReturnRequest.Source.values:
        raise ValidationError("Unknown source of the request.")
    wanted = {int(k): int(v) for k, v in lines.items() if int(v) != 0}
    if any(v < 0 for v in wanted.values()):
        raise ValidationError({"lines": "Quantities to return are whole numbers, not negative."})
    if not wanted:
        raise ValidationError({"lines": "Choose at least one item and how many come back."})
    eligibility = {e.line.pk: e for e in return_eligibility(order=order, policy=policy)}
    problems = []
    for line_id, quantity in wanted.items():
        found = eligibility.get(line_id)
        if found is None:
            problems.append(f"Line {line_id} is not on order {order.number}.")
        elif found.refusal:
            problems.append(found.refusal)
        elif quantity > found.returnable:
            problems.append(
                f"{_line_label(found.line)}: {quantity} asked, but only {found.returnable} "
                f"can be returned ({found.delivered} delivered, {found.returned} already "
                "being returned)."
            )
    if problems:
        raise ValidationError(problems)
    ret = ReturnRequest.objects.create(
        order=order,
        policy=policy,
        source=source,
        reason=policy_reason["code"],
        customer_note=customer_note,
        refund_method=refund_method,
        receive_first=bool(policy_reason.get("receive_first", True)),
        restocking_fee_percent=Decimal(policy_reason.get("restocking_fee_percent") or "0"),
        requested_by=actor,
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(return_request=ret, order_line_id=line_id, quantity=quantity)
        for line_id, quantity in sorted(wanted.items())
    )
    return_event(
        ret,
        type=ReturnEvent.Type.REQUESTED,
        actor=actor,
        to_status=ret.status,
        data={"source": source, "reason": ret.reason, "policy_version": policy.version},
    )
    queue_open(
        process=RETURNS_PROCESS,
        source=ret,
        title=f"Return {ret.number} on order {order.number}: approve or decline",
        link=ret.get_absolute_url(),
    )
    return ret


def _lines_context(ret: ReturnRequest) -> dict:
    return {"return_lines": list(ret.lines.select_related("order_line"))}


@transaction.atomic
def return_approve(*, return_id: int, actor: User | None) -> ReturnRequest:
    """Approve a return: the customer gets the approval and, if the item must come back first,
    the return instructions; otherwise it goes straight to the refunds queue."""
    ret = lock_return(return_id)
    to_status = (
        ReturnRequest.Status.AWAITING_ITEM if ret.receive_first else ReturnRequest.Status.APPROVED
    )
    return_transition(ret, to_status=to_status, actor=actor, event_type=ReturnEvent.Type.APPROVED)
    context = {**_lines_context(ret), "policy": ret.policy}
    notice_send(kind="return_approved", ret=ret, order=ret.order, actor=actor, context=context)
    if ret.receive_first:
        notice_send(
            kind="return_instructions", ret=ret, order=ret.order, actor=actor, context=context
        )
        queue_next(
            process=RETURNS_PROCESS,
            source=ret,
            title=f"Return {ret.number}: receive the parcel (order {ret.order.number})",
            link=ret.get_absolute_url(),
            actor=actor,
            due_at=timezone.now() + AWAITING_ITEM_TARGET,
        )
    else:
        queue_next(
            process=REFUNDS_PROCESS,
            source=ret,
            title=f"Return {ret.number}: refund (no return needed, order {ret.order.number})",
            link=ret.get_absolute_url(),
            actor=actor,
        )
    return ret


@transaction.atomic
def return_decline(*, return_id: int, actor: User | None, reason: str) -> ReturnRequest:
    """Decline a return, telling the customer why."""
    reason = clean_text(reason, field="reason", what="the reason", required=True, limit=REASON_MAX)
    ret = lock_return(return_id)
    return_transition(
        ret,
        to_status=ReturnRequest.Status.DECLINED,
        actor=actor,
        event_type=ReturnEvent.Type.DECLINED,
        data={"reason": reason},
    )
    ret.decline_reason = reason
    ret.save(update_fields=["decline_reason", "updated_at"])
    queue_close(source=ret, actor=actor)
    notice_send(
        kind="return_declined",
        ret=ret,
        order=ret.order,
        actor=actor,
        context={**_lines_context(ret), "reason": reason},
    )
    return ret


@transaction.atomic
def return_receive(*, return_id: int, actor: User | None) -> ReturnRequest:
    """Record the customer's parcel as received (scanned at the desk); inspection is next."""
    ret = lock_return(return_id)
    return_transition(
        ret,
        to_status=ReturnRequest.Status.RECEIVED,
        actor=actor,
        event_type=ReturnEvent.Type.RECEIVED,
    )
    notice_send(
        kind="return_received", ret=ret, order=ret.order, actor=actor, context=_lines_context(ret)
    )
    queue_next(
        process=RETURNS_PROCESS,
        source=ret,
        title=f"Return {ret.number}: inspect the items (order {ret.order.number})",
        link=ret.get_absolute_url(),
        actor=actor,
    )
    return ret


def return_find_by_scan(code: str) -> ReturnRequest:
    """The return a scanned code names: its number (R00012), or an order number with one
    return waiting for its item."""
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": "Scan or type the return number."})
    upper = code.upper()
    if upper.startswith("R") and upper[1:].isdigit():
        found = ReturnRequest.objects.filter(pk=int(upper[1:])).first()
        if found is not None:
            return found
    waiting = list(
        ReturnRequest.objects.filter(
            order__number__in=[code, code.lstrip("#"), f"#{code.lstrip('#')}"],
            status__in=(ReturnRequest.Status.AWAITING_ITEM, ReturnRequest.Status.APPROVED),
        )[:2]
    )
    if len(waiting) == 1:
        return waiting[0]
    if len(waiting) > 1:
        raise ValidationError(
            {"code": f"Order {code} has several returns waiting: scan the return number."}
        )
    raise ValidationError({"code": f"No return waiting for its item matches {code!r}."})


@transaction.atomic
def return_line_inspect(
    *,
    return_line_id: int,
    outcome: str,
    actor: User | None,
    location_id: int | None = None,
    note: str = "",
) -> ReturnLine:
    """Decide what happens to a returned line: restock (a stock movement at a location),
    write off as damaged, or return to the vendor. Decided once; never restocked twice."""
    from inventory.services import stock_return_restock

    note = clean_text(note, field="note", what="the note", required=False, limit=REASON_MAX)
    try:
        return_id = ReturnLine.objects.values_list("return_request_id", flat=True).get(
            pk=return_line_id
        )
    except ReturnLine.DoesNotExist:
        raise ValidationError(f"There is no returned line with id {return_line_id}.") from None
    ret = lock_return(return_id)
    line = (
        ReturnLine.objects.select_for_update(of=("self",))
        .select_related("order_line")
        .get(pk=return_line_id)
    )
    if ret.status != ReturnRequest.Status.RECEIVED:
        raise ValidationError(
            f"Return {ret.number} is {ret.get_status_display().lower()}: lines are inspected "
            "once the parcel is received."
        )
    if line.outcome != ReturnLine.Outcome.PENDING:
        raise ValidationError(
            f"{_line_label(line.order_line)} was already inspected: "
            f"{line.get_outcome_display().lower()}."
        )
    valid = (
        ReturnLine.Outcome.RESTOCK,
        ReturnLine.Outcome.WRITE_OFF,
        ReturnLine.Outcome.RETURN_TO_VENDOR,
    )
    if outcome not in valid:
        raise ValidationError({"outcome": "Choose restock, write off or return to vendor."})
    data: dict = {"line": line.pk, "outcome": outcome, "quantity": line.quantity}
    if outcome == ReturnLine.Outcome.RESTOCK:
        location = (
            Location.objects.filter(pk=location_id, active=True).first() if location_id else None
        )
        if location is None:
            raise ValidationError({"location": "Choose the location the units go back to."})
        if line.order_line.variant_id is None:
            raise ValidationError(
                f"{_line_label(line.order_line)} is not matched to a product: "
                "it cannot be restocked."
            )
        stock_return_restock(
            variant_id=line.order_line.variant_id,
            location_id=location.pk,
            quantity=line.quantity,
            actor=actor,
            source=line,
        )
        line.location = location
        data["location"] = location.name
    line.outcome = outcome
    line.inspection_note = note
    line.inspected_by, line.inspected_at = actor, timezone.now()
    line.save()
    if note:
        data["note"] = note
    return_event(ret, type=ReturnEvent.Type.INSPECTED, actor=actor, data=data)
    return_line_inspected.send(sender=ReturnRequest, return_line=line, outcome=outcome, actor=actor)
    if not ret.lines.filter(outcome=ReturnLine.Outcome.PENDING).exists():
        return_transition(
            ret,
            to_status=ReturnRequest.Status.INSPECTED,
            actor=actor,
            event_type=ReturnEvent.Type.INSPECTED,
            data={"all_lines": True},
        )
        queue_next(
            process=REFUNDS_PROCESS,
            source=ret,
            title=f"Return {ret.number}: refund (order {ret.order.number})",
            link=ret.get_absolute_url(),
            actor=actor,
        )
    return line


@transaction.atomic
def return_close(*, return_id: int, actor: User | None, note: str = "") -> ReturnRequest:
    """Close a return: after its refund, or after inspection when nothing is refunded."""
    note = clean_text(note, field="note", what="the note", required=False, limit=REASON_MAX)
    ret = lock_return(return_id)
    return_transition(
        ret,
        to_status=ReturnRequest.Status.CLOSED,
        actor=actor,
        event_type=ReturnEvent.Type.CLOSED,
        data={"note": note} if note else {},
    )
    queue_close(source=ret, actor=actor)
    return ret


@transaction.atomic
def return_cancel(*, return_id: int, actor: User | None, reason: str) -> ReturnRequest:
    """Withdraw a return before its parcel arrives (the customer changed their mind)."""
    reason = clean_text(reason, field="reason", what="the reason", required=True, limit=REASON_MAX)
    ret = lock_return(return_id)
    return_transition(
        ret,
        to_status=ReturnRequest.Status.CANCELLED,
        actor=actor,
        event_type=ReturnEvent.Type.CANCELLED,
        data={"reason": reason},
    )
    queue_close(source=ret, actor=actor, cancelled=True)
    return ret


# Refund amounts -----------------------------------------------------------------------------


def order_refund_quote(
    *,
    order: Order,
    units: dict[int, int] | None,
    include_shipping: bool,
    fee_percent: Decimal = ZERO,
) -> Quote:
    """The refund of `units` (order line id -> units; None = every unit not refunded yet):
    their share of the total after discounts, with tax, optional shipping, less the fee."""
    lines = list(order.lines.order_by("id"))
    shares = order_shares(
        total=order.total,
        shipping_total=order.shipping_total,
        taxes_included=order.taxes_included,
        lines=[
            LineIn(
                id=line.pk,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
            )
            for line in lines
        ],
    )
    holding = RefundLine.objects.filter(refund__order=order, refund__status__in=Refund.HOLDING)
    already = dict(
        holding.values_list("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    shipping_already = (
        Refund.objects.filter(order=order, status__in=Refund.HOLDING).aggregate(
            s=Sum("shipping_amount")
        )["s"]
        or ZERO
    )
    if units is None:
        units = {line.pk: line.quantity - already.get(line.pk, 0) for line in lines}
    try:
        return refund_quote(
            shares=shares,
            units=units,
            already_units=already,
            include_shipping=include_shipping,
            shipping_already=shipping_already,
            fee_percent=fee_percent,
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def return_refund_quote(*, ret: ReturnRequest, include_shipping: bool) -> Quote:
    """What refunding a return gives back, shown before it is issued."""
    units = {line.order_line_id: line.quantity for line in ret.lines.all()}
    return order_refund_quote(
        order=ret.order,
        units=units,
        include_shipping=include_shipping,
        fee_percent=ret.restocking_fee_percent,
    )


@transaction.atomic
def return_refund(
    *,
    return_id: int,
    actor: User | None,
    include_shipping: bool = False,
    provider_reference: str = "",
) -> Refund:
    """Refund a return by the method it asked for (or send it for approval above the threshold)."""
    try:
        order_id = ReturnRequest.objects.values_list("order_id", flat=True).get(pk=return_id)
    except ReturnRequest.DoesNotExist:
        raise ValidationError(f"There is no return with id {return_id}.") from None
    lock_order(order_id)
    ret = lock_return(return_id)
    if ReturnRequest.Status.REFUNDED not in ReturnRequest.ALLOWED_TRANSITIONS.get(ret.status, ()):
        need = "received and inspected" if ret.receive_first else "approved"
        raise ValidationError(
            f"Return {ret.number} is {ret.get_status_display().lower()}: it is refunded once "
            f"it is {need}."
        )
    if ret.refunds.filter(status__in=Refund.HOLDING).exists():
        raise ValidationError(f"Return {ret.number} already has a refund.")
    quote = return_refund_quote(ret=ret, include_shipping=include_shipping)
    if quote.amount <= 0:
        raise ValidationError(f"Return {ret.number} comes to nothing to refund.")
    return refund_create(
        order_id=order_id,
        amount=quote.amount,
        method=ret.refund_method,
        actor=actor,
        reason=f"Return {ret.number}: {ret.reason_label}"[:REASON_MAX],
        return_request_id=ret.pk,
        lines=[(q.line_id, q.quantity, q.amount) for q in quote.lines],
        lines_amount=quote.lines_amount,
        shipping_amount=quote.shipping_amount,
        restocking_fee=quote.restocking_fee,
        provider_reference=provider_reference,
        issue=True,
    )
