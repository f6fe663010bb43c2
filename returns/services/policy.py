"""The return policy: every change is a new, published version."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import Category, Product
from returns.models import RefundMethod, ReturnPolicy

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REASON_CODE_MAX = 40
LABEL_MAX = 120


@dataclass
class PolicyReason:
    code: str
    label: str
    restocking_fee_percent: Decimal = Decimal("0")
    receive_first: bool = True


@dataclass
class PolicyData:
    """What staff set; a new version is made from it."""

    window_days: int
    reasons: list[PolicyReason]
    refund_methods: list[str]
    condition_required: str = "Unused, with its tags, in its original packaging."
    return_shipping_paid_by: str = ReturnPolicy.ShippingPaidBy.CUSTOMER
    final_sale_category_ids: list[int] = field(default_factory=list)
    final_sale_product_ids: list[int] = field(default_factory=list)
    refund_approval_threshold: Decimal = Decimal("200.00")
    public_requests_per_hour: int = 10
    extra_terms: str = ""


def policy_current() -> ReturnPolicy | None:
    """The policy that applies now: the newest published version."""
    return ReturnPolicy.objects.filter(published_at__isnull=False).order_by("-version").first()


def _check(data: PolicyData) -> dict:
    errors: dict[str, str] = {}
    if not isinstance(data.window_days, int) or not 0 <= data.window_days <= 3650:
        errors["window_days"] = "The return window is a whole number of days, 0 to 3650."
    if not data.reasons:
        errors["reasons"] = "Give at least one return reason."
    codes: set[str] = set()
    reasons = []
    for reason in data.reasons:
        code = (reason.code or "").strip().lower()
        label = (reason.label or "").strip()
        if not code or not label:
            errors["reasons"] = "Every reason needs a code and a label."
            continue
        if len(code) > REASON_CODE_MAX or len(label) > LABEL_MAX:
            errors["reasons"] = f"Keep reason codes under {REASON_CODE_MAX} characters."
            continue
        if code in codes:
            errors["reasons"] = f"The reason {code!r} is listed twice."
            continue
        codes.add(code)
        try:
            fee = Decimal(str(reason.restocking_fee_percent or 0))
        except InvalidOperation:
            fee = Decimal("-1")
        if not Decimal("0") <= fee <= Decimal("100") or fee != fee.quantize(Decimal("0.01")):
            errors["reasons"] = f"The restocking fee of {label!r} is a percent from 0 to 100."
            continue
        reasons.append(
            {
                "code": code,
                "label": label,
                "restocking_fee_percent": str(fee),
                "receive_first": bool(reason.receive_first),
            }
        )
    methods = list(dict.fromkeys(data.refund_methods))
    if not methods:
        errors["refund_methods"] = "Offer at least one refund method."
    elif any(m not in RefundMethod.values for m in methods):
        errors["refund_methods"] = "Unknown refund method."
    if data.return_shipping_paid_by not in ReturnPolicy.ShippingPaidBy.values:
        errors["return_shipping_paid_by"] = "Say who pays the return shipping."
    condition = (data.condition_required or "").strip()
    if not condition or len(condition) > 255:
        errors["condition_required"] = "Say in what condition items must come back."
    try:
        threshold = Decimal(str(data.refund_approval_threshold))
    except InvalidOperation:
        threshold = Decimal("-1")
    if threshold < 0:
        errors["refund_approval_threshold"] = "The approval threshold is an amount of 0 or more."
    if not 1 <= int(data.public_requests_per_hour or 0) <= 1000:
        errors["public_requests_per_hour"] = "Allow 1 to 1000 public requests an hour."
    categories = sorted(set(data.final_sale_category_ids))
    products = sorted(set(data.final_sale_product_ids))
    if len(categories) != Category.objects.filter(pk__in=categories).count():
        errors["final_sale_category_ids"] = "One of the final-sale categories does not exist."
    if len(products) != Product.objects.filter(pk__in=products).count():
        errors["final_sale_product_ids"] = "One of the final-sale products does not exist."
    if errors:
        raise ValidationError(errors)
    return {
        "window_days": data.window_days,
        "reasons": reasons,
        "refund_methods": methods,
        "return_shipping_paid_by": data.return_shipping_paid_by,
        "condition_required": condition,
        "refund_approval_threshold": threshold.quantize(Decimal("0.01")),
        "public_requests_per_hour": int(data.public_requests_per_hour),
        "final_sale_category_ids": categories,
        "final_sale_product_ids": products,
        "extra_terms": (data.extra_terms or "").strip()[:10000],
    }


def policy_publish(*, data: PolicyData, actor: User | None) -> ReturnPolicy:
    """Publish a new version of the return policy; older returns keep the version they had."""
    fields = _check(data)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                latest = ReturnPolicy.objects.aggregate(v=Max("version"))["v"] or 0
                return ReturnPolicy.objects.create(
                    version=latest + 1,
                    published_at=timezone.now(),
                    created_by=actor,
                    **fields,
                )
        except IntegrityError:
            # Two people published at once: the version number is taken; take the next.
            continue
    raise ValidationError("Someone else is publishing the policy; try again.")


def policy_data_from(policy: ReturnPolicy) -> PolicyData:
    """A version's settings, to edit into the next one."""
    return PolicyData(
        window_days=policy.window_days,
        reasons=[
            PolicyReason(
                code=r["code"],
                label=r["label"],
                restocking_fee_percent=Decimal(r.get("restocking_fee_percent") or 0),
                receive_first=bool(r.get("receive_first", True)),
            )
            for r in policy.reasons
        ],
        refund_methods=list(policy.refund_methods),
        condition_required=policy.condition_required,
        return_shipping_paid_by=policy.return_shipping_paid_by,
        final_sale_category_ids=list(policy.final_sale_category_ids),
        final_sale_product_ids=list(policy.final_sale_product_ids),
        refund_approval_threshold=policy.refund_approval_threshold,
        public_requests_per_hour=policy.public_requests_per_hour,
        extra_terms=policy.extra_terms,
    )
