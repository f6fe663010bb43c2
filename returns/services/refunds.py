"""Refunds: created, approved by a second person above the store's threshold, issued.

The rule that matters: the refunds of an order never add up to more than was paid. Every
service that creates or issues a refund locks the order's row first (select_for_update) and
adds up the order's refunds after it holds the lock, so two people refunding one order at
once are served one after the other and the second sees the first's refund. A refund that is
pending or waiting for approval holds its amount as if issued, so the sum is checked once,
when the refund is created.

opsdesk records refunds; it does not move money. A refund to the original payment carries
the payment provider's reference of the refund made there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse

from opsdesk.core.roles import Role, user_has_role
from orders.models import Order, OrderEvent
from returns.models import (
    Refund,
    RefundLine,
    RefundMethod,
    ReturnEvent,
    ReturnRequest,
    StoreCreditAccount,
    StoreCreditEntry,
)
from returns.money import ZERO, money
from returns.services.common import (
    REASON_MAX,
    REFUNDS_PROCESS,
    clean_text,
    lock_order,
    notice_send,
    now,
    queue_close,
    queue_open,
    return_transition,
)
from returns.signals import refund_issued

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Money was taken for these; a refund gives some of it back.
PAID_STATUSES = (
    Order.PaymentStatus.PAID,
    Order.PaymentStatus.PARTIALLY_REFUNDED,
    Order.PaymentStatus.REFUNDED,
    Order.PaymentStatus.REFUND_DUE,
)
APPROVER_ROLES = (Role.MANAGER, Role.OWNER, Role.ADMIN)
REFERENCE_MAX = 120


def order_amount_paid(order: Order) -> Decimal:
    """What the customer paid for the order (nothing while the payment is not taken)."""
    return order.total if order.payment_status in PAID_STATUSES else ZERO


def order_refund_sums(order_id: int) -> tuple[Decimal, Decimal]:
    """(held, issued): refunds holding an amount (pending, awaiting approval, issued), and
    those issued."""
    rows = dict(
        Refund.objects.filter(order_id=order_id, status__in=Refund.HOLDING)
        .values_list("status")
        .annotate(total=Sum("amount"))
        .values_list("status", "total")
    )
    held = sum(rows.values(), ZERO)
    return held, rows.get(Refund.Status.ISSUED, ZERO)


# Before any policy is published (refunds of cancelled orders can come first).
NO_POLICY_APPROVAL_THRESHOLD = Decimal("200.00")


def approval_threshold() -> Decimal:
    from returns.services.policy import policy_current

    policy = policy_current()
    if policy is not None:
        return policy.refund_approval_threshold
    return NO_POLICY_APPROVAL_THRESHOLD


def _amount(value: object) -> Decimal:
    if isinstance(value, float) or not isinstance(value, (Decimal, int, str)):
        raise ValidationError({"amount": "Give the amount as a decimal number of money."})
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise ValidationError({"amount": "Give the amount as a decimal number of money."}) from None
    if not amount.is_finite() or amount != money(amount):
        raise ValidationError({"amount": "Give the amount in whole cents."})
    if amount <= 0:
        raise ValidationError({"amount": "A refund is an amount above zero."})
    return money(amount)


def _record(refund: Refund, *, actor: User | None, step: str, **data) -> None:
    OrderEvent.objects.create(
        order_id=refund.order_id,
        type=OrderEvent.Type.REFUND,
        actor=actor,
        data={
            "refund": refund.pk,
            "amount": str(refund.amount),
            "method": refund.method,
            "step": step,
            **data,
        },
    )
    if refund.return_request_id is not None:
        ReturnEvent.objects.create(
            return_request_id=refund.return_request_id,
            type=ReturnEvent.Type.REFUND,
            actor=actor,
            data={"refund": refund.pk, "amount": str(refund.amount), "step": step, **data},
        )


def _refund_title(refund: Refund, order: Order, what: str) -> str:
    return f"{what}: {refund.amount} {refund.currency} on order {order.number}"


@transaction.atomic
def refund_create(
    *,
    order_id: int,
    amount: Decimal,
    method: str,
    actor: User | None,
    reason: str = "",
    return_request_id: int | None = None,
    lines: list[tuple[int, int, Decimal]] | None = None,
    lines_amount: Decimal | None = None,
    shipping_amount: Decimal = ZERO,
    restocking_fee: Decimal = ZERO,
    provider_reference: str = "",
    issue: bool = True,
) -> Refund:
    """Record a refund on an order; with `issue`, issue it at once (or send it for approval).

    Refused, changing nothing, when it would take the order's refunds above what was paid.
    `lines` are (order line id, units, amount) the refund pays back.
    """
    amount = _amount(amount)
    if method not in RefundMethod.values:
        raise ValidationError({"method": "Choose how the refund is paid."})
    reason = clean_text(reason, field="reason", what="the reason", required=False, limit=REASON_MAX)
    order = lock_order(order_id)
    paid = order_amount_paid(order)
    if paid <= 0:
        raise ValidationError(
            f"Order {order.number} is {order.get_payment_status_display().lower()}: "
            "nothing was paid, so there is nothing to refund."
        )
    held, _issued = order_refund_sums(order.pk)
    remaining = paid - held
    if amount > remaining:
        raise ValidationError(
            {
                "amount": f"Order {order.number}: {paid} {order.currency} was paid and "
                f"{held} is already refunded or waiting, so at most {remaining} can still be "
                f"refunded, not {amount}. Nothing was changed."
            }
        )
    refund = Refund.objects.create(
        order=order,
        return_request_id=return_request_id,
        method=method,
        amount=amount,
        lines_amount=lines_amount if lines_amount is not None else ZERO,
        shipping_amount=shipping_amount,
        restocking_fee=restocking_fee,
        currency=order.currency,
        reason=reason,
        requested_by=actor,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line_id=line_id, quantity=units, amount=value)
        for line_id, units, value in (lines or [])
    )
    _record(refund, actor=actor, step="requested", reason=reason)
    if issue:
        return _issue_or_ask(refund, order=order, actor=actor, reference=provider_reference)
    queue_open(
        process=REFUNDS_PROCESS,
        source=refund,
        title=_refund_title(refund, order, "Refund to issue"),
        link=reverse("returns:refund_detail", kwargs={"pk": refund.pk}),
    )
    return refund


def _issue_or_ask(refund: Refund, *, order: Order, actor: User | None, reference: str) -> Refund:
    """Issue a locked refund, or above the threshold send it for a second approval."""
    if refund.approved_by_id is None and refund.amount > approval_threshold():
        _move(refund, Refund.Status.AWAITING_APPROVAL)
        refund.save(update_fields=["status"])
        _record(refund, actor=actor, step="awaiting_approval")
        queue_close(source=refund, actor=actor)
        queue_open(
            process=REFUNDS_PROCESS,
            source=refund,
            title=_refund_title(refund, order, "Refund to approve"),
            link=reverse("returns:refund_detail", kwargs={"pk": refund.pk}),
        )
        return refund
    return _issue(refund, order=order, actor=actor, reference=reference)


def _move(refund: Refund, to_status: str) -> None:
    if to_status not in Refund.ALLOWED_TRANSITIONS.get(refund.status, ()):
        raise ValidationError(
            f"Refund {refund.pk} is {refund.get_status_display().lower()}; "
            f"it cannot become {Refund.Status(to_status).label.lower()}."
        )
    refund.status = to_status


def _issue(refund: Refund, *, order: Order, actor: User | None, reference: str) -> Refund:
    reference = clean_text(
        reference,
        field="provider_reference",
        what="the payment provider's refund reference",
        required=refund.method == RefundMethod.ORIGINAL,
        limit=REFERENCE_MAX,
    )
    _move(refund, Refund.Status.ISSUED)
    refund.provider_reference = reference
    refund.issued_by, refund.issued_at = actor, now()
    ret = None
    if refund.return_request_id is not None:
        ret = ReturnRequest.objects.select_for_update().get(pk=refund.return_request_id)
    if refund.method == RefundMethod.STORE_CREDIT:
        _credit_add(refund, order=order, actor=actor)
    elif refund.method == RefundMethod.EXCHANGE:
        refund.exchange_order = _exchange_order_create(ret, order=order, actor=actor)
    refund.save()
    held, issued = order_refund_sums(order.pk)
    pending = held - issued
    paid = order_amount_paid(order)
    before = order.payment_status
    if issued >= paid:
        order.payment_status = Order.PaymentStatus.REFUNDED
    elif before == Order.PaymentStatus.REFUND_DUE and pending > 0:
        pass  # still owed more: stays "to be refunded"
    else:
        order.payment_status = Order.PaymentStatus.PARTIALLY_REFUNDED
    if order.payment_status != before:
        order.save(update_fields=["payment_status", "updated_at"])
    _record(
        refund,
        actor=actor,
        step="issued",
        reference=reference,
        payment_status=order.payment_status,
    )
    queue_close(source=refund, actor=actor)
    if ret is not None:
        if ReturnRequest.Status.REFUNDED in ReturnRequest.ALLOWED_TRANSITIONS.get(ret.status, ()):
            return_transition(
                ret,
                to_status=ReturnRequest.Status.REFUNDED,
                actor=actor,
                event_type=ReturnEvent.Type.REFUND,
                data={"refund": refund.pk, "amount": str(refund.amount)},
            )
        queue_close(source=ret, actor=actor)
    notice_send(
        kind="refund_issued",
        ret=ret,
        order=order,
        actor=actor,
        context={"refund": refund, "method_label": refund.get_method_display()},
    )
    refund_issued.send(sender=Refund, refund=refund, actor=actor)
    return refund


def _lock_refund(refund_id: int) -> tuple[Refund, Order]:
    """Lock the refund's order, then the refund (the order every refund service uses)."""
    try:
        order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    except Refund.DoesNotExist:
        raise ValidationError(f"There is no refund with id {refund_id}.") from None
    order = lock_order(order_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    return refund, order


@transaction.atomic
def refund_issue(*, refund_id: int, actor: User | None, provider_reference: str = "") -> Refund:
    """Issue a refund waiting in the refunds queue (or send it for approval above the threshold)."""
    refund, order = _lock_refund(refund_id)
    if refund.status != Refund.Status.PENDING:
        raise ValidationError(
            f"Refund {refund.pk} is {refund.get_status_display().lower()}, "
            "not waiting to be issued."
        )
    return _issue_or_ask(refund, order=order, actor=actor, reference=provider_reference)


@transaction.atomic
def refund_approve(*, refund_id: int, actor: User, provider_reference: str = "") -> Refund:
    """Second approval of a refund above the threshold, by someone other than who asked."""
    refund, order = _lock_refund(refund_id)
    if refund.status != Refund.Status.AWAITING_APPROVAL:
        raise ValidationError(
            f"Refund {refund.pk} is {refund.get_status_display().lower()}, "
            "not waiting for approval."
        )
    if actor is None or not user_has_role(actor, *APPROVER_ROLES):
        raise ValidationError("A manager or the owner approves refunds above the threshold.")
    if refund.requested_by_id is not None and refund.requested_by_id == actor.pk:
        raise ValidationError(
            "A second person must approve this refund: you asked for it yourself."
        )
    refund.approved_by = actor
    _record(refund, actor=actor, step="approved")
    return _issue(refund, order=order, actor=actor, reference=provider_reference)


@transaction.atomic
def refund_cancel(*, refund_id: int, actor: User | None, reason: str) -> Refund:
    """Withdraw a refund not issued yet (rejected at approval, or entered by mistake)."""
    reason = clean_text(reason, field="reason", what="the reason", required=True, limit=REASON_MAX)
    refund, _order = _lock_refund(refund_id)
    _move(refund, Refund.Status.CANCELLED)
    refund.save(update_fields=["status"])
    _record(refund, actor=actor, step="cancelled", reason=reason)
    queue_close(source=refund, actor=actor, cancelled=True)
    return refund


@transaction.atomic
def refund_for_cancelled_order(*, order_id: int, actor: User | None, reason: str) -> Refund | None:
    """Put what is still owed on a cancelled order into the refunds queue, through the same
    path as any refund: every unit and the shipping not refunded yet."""
    from returns.services.requests import order_refund_quote

    order = lock_order(order_id)
    paid = order_amount_paid(order)
    held, _ = order_refund_sums(order.pk)
    if paid - held <= 0:
        return None
    quote = order_refund_quote(order=order, units=None, include_shipping=True)
    # Refunds by amount alone (goodwill) are not tied to lines: what is owed is what is left.
    amount = min(quote.amount, paid - held) if quote.amount > 0 else paid - held
    return refund_create(
        order_id=order.pk,
        amount=amount,
        method=RefundMethod.ORIGINAL,
        actor=actor,
        reason=f"Order cancelled: {reason}"[:REASON_MAX],
        lines=[(q.line_id, q.quantity, q.amount) for q in quote.lines],
        lines_amount=quote.lines_amount,
        shipping_amount=quote.shipping_amount,
        issue=False,
    )


# Store credit -------------------------------------------------------------------------------


def _credit_account(customer_id: int, currency: str) -> StoreCreditAccount:
    account, _ = StoreCreditAccount.objects.get_or_create(
        customer_id=customer_id, defaults={"currency": currency}
    )
    return StoreCreditAccount.objects.select_for_update().get(pk=account.pk)


def _credit_add(refund: Refund, *, order: Order, actor: User | None) -> None:
    if order.customer_id is None:
        raise ValidationError(
            f"Order {order.number} has no customer to hold store credit; refund another way."
        )
    account = _credit_account(order.customer_id, order.currency)
    account.balance += refund.amount
    account.save(update_fields=["balance", "updated_at"])
    StoreCreditEntry.objects.create(
        account=account,
        amount=refund.amount,
        balance_after=account.balance,
        refund=refund,
        order=order,
        note=f"Refund on order {order.number}",
        actor=actor,
    )


@transaction.atomic
def store_credit_redeem(
    *, customer_id: int, order_id: int, amount: Decimal, actor: User | None
) -> StoreCreditEntry:
    """Spend a customer's store credit on a later order."""
    amount = _amount(amount)
    order = Order.objects.get(pk=order_id)
    if order.customer_id != customer_id:
        raise ValidationError("Store credit pays only for the same customer's orders.")
    account = _credit_account(customer_id, order.currency)
    if amount > account.balance:
        raise ValidationError(
            {"amount": f"The customer has {account.balance} of store credit, not {amount}."}
        )
    account.balance -= amount
    account.save(update_fields=["balance", "updated_at"])
    return StoreCreditEntry.objects.create(
        account=account,
        amount=-amount,
        balance_after=account.balance,
        order=order,
        note=f"Spent on order {order.number}",
        actor=actor,
    )


# Exchange -----------------------------------------------------------------------------------


def _exchange_order_create(ret: ReturnRequest | None, *, order: Order, actor: User | None) -> Order:
    """A replacement order for the returned units, built and routed like a phone order."""
    from orders.services.imports import PhoneLine, PhoneOrder, phone_order_create

    if ret is None:
        raise ValidationError("An exchange replaces the items of a return; open a return first.")
    lines = [
        PhoneLine(
            sku=line.order_line.sku,
            quantity=line.quantity,
            unit_price=line.order_line.unit_price,
        )
        for line in ret.lines.select_related("order_line")
        if line.order_line.sku
    ]
    if not lines:
        raise ValidationError("The returned lines have no SKU to send again.")
    method = order.fulfillment_method
    if method not in (Order.Method.SHIP, Order.Method.STORE_PICKUP, Order.Method.LOCAL_DELIVERY):
        method = Order.Method.SHIP
    address = order.shipping_address or {}
    replacement = phone_order_create(
        data=PhoneOrder(
            lines=lines,
            method=method,
            email=order.email,
            first_name=str(address.get("first_name", "")),
            last_name=str(address.get("last_name", "")),
            phone=order.phone,
            billing_address=order.billing_address or {},
            shipping_address=address,
            pickup_location_id=order.pickup_location_id,
            payment_status=Order.PaymentStatus.PAID,
            note=f"Exchange for return {ret.number} of order {order.number}",
        ),
        actor=actor,
    )
    ret.exchange_order = replacement
    ret.save(update_fields=["exchange_order", "updated_at"])
    ReturnEvent.objects.create(
        return_request=ret,
        type=ReturnEvent.Type.EXCHANGE,
        actor=actor,
        data={"order": replacement.pk, "number": replacement.number},
    )
    return replacement
