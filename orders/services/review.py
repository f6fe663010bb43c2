"""Order review: claim, approve, hold, release, cancel, comment, and bulk approval.

Every service locks the order's row first, so two reviewers acting on one order act one
after the other. A claimed order is acted on only by whoever claimed it, until someone
takes it over explicitly (the take-over is on the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opsdesk.processes.models import WorkItem
from opsdesk.processes.services import (
    work_item_claim,
    work_item_close,
    work_item_open,
    work_items_open_many,
)
from orders.exceptions import InvalidTransition, OrderClaimed
from orders.models import Order, OrderEvent
from orders.services.fulfillment import order_shipments_cancel, shipments_create_for_order
from orders.services.transitions import order_transition
from orders.signals import order_approved, order_cancelled

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REVIEW_PROCESS = "order_review"
FRAUD_PROCESS = "fraud_review"
# Orders a person still has to decide on.
OPEN_STATUSES = (Order.Status.RECEIVED, Order.Status.AWAITING_REVIEW, Order.Status.ON_HOLD)
# A paid order that is cancelled owes the customer their money.
REFUNDABLE = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)
REASON_MAX = 255
COMMENT_MAX = 2000


def user_label(user: User | None) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.get_username()


def _lock(order_id: int) -> Order:
    return (
        Order.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=order_id)
    )


def _check_claim(order: Order, actor: User | None) -> None:
    if order.claimed_by_id is not None and actor is not None and order.claimed_by_id != actor.pk:
        raise OrderClaimed(order=order, claimed_by_label=user_label(order.claimed_by))


def _reason(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Say why the order is {what}."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


# Work items --------------------------------------------------------------------------------


def _review_title(order: Order) -> str:
    return f"Order {order.number}"


def review_work_item_open(
    order: Order, *, process: str = REVIEW_PROCESS, notify: bool = True
) -> WorkItem:
    """Put the order in a process's queue (its on-duty staff are notified)."""
    return work_item_open(
        process=process,
        title=_review_title(order),
        link=order.get_absolute_url(),
        source=order,
        notify_on_duty=notify,
    )


def review_work_items_open_many(
    orders: list[Order], *, process: str = REVIEW_PROCESS, titles: list[str] | None = None
) -> None:
    """Put many orders in a process's queue at once; whoever is on duty gets one notice."""
    titles = titles or [_review_title(order) for order in orders]
    work_items_open_many(
        process=process,
        items=[
            (title, order.get_absolute_url(), order)
            for order, title in zip(orders, titles, strict=True)
        ],
    )


def _open_work_item_ids(order: Order, *, process: str | None = None) -> list[int]:
    items = WorkItem.objects.filter(
        source_type=ContentType.objects.get_for_model(Order),
        source_id=order.pk,
        status=WorkItem.Status.OPEN,
    )
    if process is not None:
        items = items.filter(process__key=process)
    return list(items.values_list("pk", flat=True))


def work_items_close(
    order: Order,
    *,
    actor: User | None,
    status: str = WorkItem.Status.DONE,
    process: str | None = None,
) -> int:
    """Take the order out of the review (and fraud review) queues."""
    ids = _open_work_item_ids(order, process=process)
    for item_id in ids:
        work_item_close(item_id=item_id, actor=actor, status=status)
    return len(ids)


# Claiming ----------------------------------------------------------------------------------


@transaction.atomic
def order_claim(*, order_id: int, actor: User, take_over: bool = False) -> Order:
    """Claim an order so no one else works on it; `take_over` takes it from a colleague."""
    order = _lock(order_id)
    if order.status not in OPEN_STATUSES:
        raise ValidationError(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "there is nothing left to claim."
        )
    if order.claimed_by_id == actor.pk:
        return order
    data = {}
    if order.claimed_by_id is not None:
        if not take_over:
            raise OrderClaimed(order=order, claimed_by_label=user_label(order.claimed_by))
        data["taken_over_from"] = user_label(order.claimed_by)
    order.claimed_by, order.claimed_at = actor, timezone.now()
    order.save(update_fields=["claimed_by", "claimed_at", "updated_at"])
    OrderEvent.objects.create(order=order, type=OrderEvent.Type.CLAIMED, actor=actor, data=data)
    # The queue item shows the same person, where nobody holds it yet.
    for item_id in WorkItem.objects.filter(
        pk__in=_open_work_item_ids(order), claimed_by__isnull=True
    ).values_list("pk", flat=True):
        work_item_claim(item_id=item_id, actor=actor)
    return order


# Deciding ----------------------------------------------------------------------------------


def _check_lines_matched(order: Order) -> None:
    unmatched = list(order.lines.filter(variant__isnull=True).values_list("sku", "title"))
    if unmatched:
        sku, title = unmatched[0]
        raise ValidationError(
            f"Order {order.number} has {len(unmatched)} line(s) not matched to a product "
            f"(first: {sku or title}); match them before approving."
        )


@transaction.atomic
def order_approve(*, order_id: int, actor: User | None) -> Order:
    """Approve an order after review, so it goes on to fulfillment."""
    order = _lock(order_id)
    _check_claim(order, actor)
    if Order.Status.APPROVED in Order.ALLOWED_TRANSITIONS.get(order.status, ()):
        _check_lines_matched(order)
    order = order_transition(
        order_id=order.pk,
        to_status=Order.Status.APPROVED,
        actor=actor,
        event_type=OrderEvent.Type.APPROVED,
    )
    work_items_close(order, actor=actor)
    order_approved.send(sender=Order, order=order, actor=actor)
    shipments_create_for_order(order=order, actor=actor)
    return order


@transaction.atomic
def order_hold(*, order_id: int, actor: User | None, reason: str) -> Order:
    """Put an order on hold, with the reason, until someone releases or cancels it."""
    reason = _reason(reason, what="held")
    order = _lock(order_id)
    _check_claim(order, actor)
    order = order_transition(
        order_id=order.pk,
        to_status=Order.Status.ON_HOLD,
        actor=actor,
        event_type=OrderEvent.Type.HELD,
        data={"reason": reason},
    )
    order.hold_reason = reason
    order.save(update_fields=["hold_reason", "updated_at"])
    work_items_close(order, actor=actor, process=REVIEW_PROCESS)
    return order


@transaction.atomic
def order_release_hold(*, order_id: int, actor: User | None, note: str = "") -> Order:
    """Take an order off hold and back into the review queue."""
    note = (note or "").strip()[:REASON_MAX]
    order = _lock(order_id)
    _check_claim(order, actor)
    order = order_transition(
        order_id=order.pk,
        to_status=Order.Status.AWAITING_REVIEW,
        actor=actor,
        event_type=OrderEvent.Type.RELEASED,
        data={"note": note} if note else {},
    )
    order.hold_reason = ""
    order.save(update_fields=["hold_reason", "updated_at"])
    work_items_close(order, actor=actor, process=FRAUD_PROCESS)
    # The person releasing it is looking at it: no need to notify the queue again.
    review_work_item_open(order, notify=False)
    return order


@transaction.atomic
def order_cancel(*, order_id: int, actor: User | None, reason: str) -> Order:
    """Cancel an order: its stock goes back (reservations released, pending backorders
    cancelled), and a paid payment is due for refund."""
    # Imported here: build (the intake) calls this service too.
    from orders.services.build import order_stock_release

    reason = _reason(reason, what="cancelled")
    order = _lock(order_id)
    _check_claim(order, actor)
    if Order.Status.CANCELLED not in Order.ALLOWED_TRANSITIONS.get(order.status, ()):
        raise InvalidTransition(order=order, to_status=Order.Status.CANCELLED)
    # Shipments that have not left are cancelled (their stock goes back); one that has left
    # refuses the whole cancellation.
    shipments_cancelled = order_shipments_cancel(
        order=order, actor=actor, reason=f"Order {order.number} cancelled: {reason}"
    )
    # Through inventory's services (stock_release, backorder_cancel); first, so the event
    # below can say how much went back. One transaction: a failure undoes both.
    released = order_stock_release(
        order=order, actor=actor, reason=f"Order {order.number} cancelled: {reason}"
    )
    refund_due = order.payment_status in REFUNDABLE
    order = order_transition(
        order_id=order.pk,
        to_status=Order.Status.CANCELLED,
        actor=actor,
        event_type=OrderEvent.Type.CANCELLED,
        data={
            "reason": reason,
            "stock_released": released,
            "refund_due": refund_due,
            "shipments_cancelled": shipments_cancelled,
        },
    )
    if refund_due:
        order.payment_status = Order.PaymentStatus.REFUND_DUE
        order.save(update_fields=["payment_status", "updated_at"])
    work_items_close(order, actor=actor, status=WorkItem.Status.CANCELLED)
    order_cancelled.send(
        sender=Order, order=order, actor=actor, reason=reason, refund_due=refund_due
    )
    return order


@transaction.atomic
def order_comment(*, order_id: int, actor: User | None, text: str) -> OrderEvent:
    """Add a staff comment to an order's timeline."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the comment first."})
    if len(text) > COMMENT_MAX:
        raise ValidationError({"text": f"Keep a comment under {COMMENT_MAX} characters."})
    order = Order.objects.only("pk").get(pk=order_id)
    return OrderEvent.objects.create(
        order=order, type=OrderEvent.Type.COMMENTED, actor=actor, data={"text": text}
    )


# Bulk --------------------------------------------------------------------------------------


@dataclass
class Refusal:
    order_id: int
    number: str
    reason: str

    def __str__(self) -> str:
        label = f"Order {self.number}" if self.number else f"Order id {self.order_id}"
        return f"{label} was not approved: {self.reason}"


@dataclass
class BulkApproveResult:
    approved: list[Order] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def order_bulk_approve_low_risk(*, order_ids: list[int], actor: User | None) -> BulkApproveResult:
    """Approve many low-risk orders waiting for review; report each one it could not, and why.

    Each order is approved in its own transaction, so one refusal leaves the others approved.
    """
    result = BulkApproveResult()
    numbers = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "number"))
    for order_id in dict.fromkeys(order_ids):
        try:
            with transaction.atomic():
                order = _lock(order_id)
                if order.status != Order.Status.AWAITING_REVIEW:
                    raise ValidationError(
                        f"it is {order.get_status_display().lower()}, not awaiting review."
                    )
                if order.risk_level != "low":
                    raise ValidationError(
                        f"its risk is {order.risk_level or 'not assessed yet'}, not low."
                    )
                if order.review_reasons:
                    raise ValidationError(
                        "it waits for a person: " + "; ".join(map(str, order.review_reasons)) + "."
                    )
                result.approved.append(order_approve(order_id=order_id, actor=actor))
        except Order.DoesNotExist:
            result.refused.append(Refusal(order_id, "", "there is no such order."))
        except ValidationError as exc:
            reason = " ".join(exc.messages)
            if isinstance(exc, OrderClaimed):
                reason = f"{exc.claimed_by_label} has claimed it."
            result.refused.append(Refusal(order_id, numbers.get(order_id, ""), reason))
    return result
