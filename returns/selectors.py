"""Reads of returns: the queues (a fixed number of queries whatever their length), a return
with its lines and timeline, and the published policy as the website shows it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from catalog.models import Category, Product
from returns.models import (
    Refund,
    RefundMethod,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    StoreCreditAccount,
)

QUEUE_LIMIT = 200
OPEN_RETURN_STATUSES = (
    ReturnRequest.Status.REQUESTED,
    ReturnRequest.Status.APPROVED,
    ReturnRequest.Status.AWAITING_ITEM,
    ReturnRequest.Status.RECEIVED,
    ReturnRequest.Status.INSPECTED,
)
OPEN_REFUND_STATUSES = (Refund.Status.PENDING, Refund.Status.AWAITING_APPROVAL)


def return_list_for_queue(*, statuses: tuple[str, ...] = OPEN_RETURN_STATUSES) -> list:
    """Returns oldest first, with order and lines: two queries."""
    qs = (
        ReturnRequest.objects.filter(status__in=statuses)
        .select_related("order", "policy")
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
        )
        .order_by("created_at", "id")
    )
    return list(qs[:QUEUE_LIMIT])


def refund_list_for_queue(*, statuses: tuple[str, ...] = OPEN_REFUND_STATUSES) -> list:
    """Refunds waiting to be issued or approved, oldest first: one query."""
    qs = (
        Refund.objects.filter(status__in=statuses)
        .select_related("order", "return_request", "requested_by")
        .order_by("created_at", "id")
    )
    return list(qs[:QUEUE_LIMIT])


def return_get_for_detail(*, return_id: int) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_related("order", "policy", "exchange_order", "requested_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ReturnLine.objects.select_related(
                    "order_line", "location", "inspected_by"
                ),
            ),
            Prefetch("events", queryset=ReturnEvent.objects.select_related("actor")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
        )
        .get(pk=return_id)
    )


def refund_get_for_detail(*, refund_id: int) -> Refund:
    return (
        Refund.objects.select_related(
            "order", "return_request", "requested_by", "approved_by", "issued_by", "exchange_order"
        )
        .prefetch_related("lines__order_line")
        .get(pk=refund_id)
    )


def policies_all() -> QuerySet[ReturnPolicy]:
    return ReturnPolicy.objects.order_by("-version")


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" or {words[-1]}"


def policy_document(policy: ReturnPolicy) -> dict:
    """The policy in plain language, for the website: the same for the page and the JSON."""
    categories = list(
        Category.objects.filter(pk__in=policy.final_sale_category_ids)
        .order_by("name")
        .values_list("name", flat=True)
    )
    products = list(
        Product.objects.filter(pk__in=policy.final_sale_product_ids)
        .order_by("title")
        .values_list("title", flat=True)
    )
    methods = [RefundMethod(m).label for m in policy.refund_methods if m in RefundMethod.values]
    reasons = []
    for reason in policy.reasons:
        fee = Decimal(reason.get("restocking_fee_percent") or "0")
        fee_text = (
            f"A restocking fee of {fee.normalize():f}% is taken off the refund."
            if fee
            else "No restocking fee."
        )
        back_text = (
            "We refund you once the item is back with us."
            if reason.get("receive_first", True)
            else "You do not need to send the item back; we refund you once we approve."
        )
        reasons.append(
            {
                "code": reason["code"],
                "label": reason["label"],
                "restocking_fee_percent": str(fee),
                "item_must_be_returned_first": bool(reason.get("receive_first", True)),
                "text": f"{reason['label']}: {fee_text} {back_text}",
            }
        )
    paid_by = policy.get_return_shipping_paid_by_display()
    summary = [
        f"You can return items within {policy.window_days} days of delivery or pickup.",
        f"Items must come back in this condition: {policy.condition_required}",
        f"Return shipping is paid by {paid_by.lower()}.",
        "Refunds: " + _join([m.lower() for m in methods]) + ".",
    ]
    if categories or products:
        summary.append("Final sale, not returnable: " + ", ".join(categories + products) + ".")
    return {
        "published": True,
        "store": settings.STORE_NAME,
        "version": policy.version,
        "published_at": timezone.localtime(policy.published_at).isoformat()
        if policy.published_at
        else None,
        "window_days": policy.window_days,
        "condition_required": policy.condition_required,
        "return_shipping_paid_by": policy.return_shipping_paid_by,
        "refund_methods": list(policy.refund_methods),
        "refund_method_labels": methods,
        "final_sale_categories": categories,
        "final_sale_products": products,
        "reasons": reasons,
        "summary": summary,
        "extra_terms": policy.extra_terms,
    }


def store_credit_for(*, customer_id: int, limit: int = 50) -> tuple:
    """A customer's store credit account (None before any credit) and its latest entries."""
    account = StoreCreditAccount.objects.filter(customer_id=customer_id).first()
    if account is None:
        return None, []
    entries = list(
        account.entries.select_related("order", "refund", "actor").order_by("-created_at", "-id")[
            :limit
        ]
    )
    return account, entries
