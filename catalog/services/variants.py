"""Variants (SKUs): add, edit, and what the POS last reported about each one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product, ProductEvent, Variant
from catalog.services._common import event_record, money_str, product_lock
from catalog.services.queue import queue_sync
from opsdesk.core.bulk import insert_many, update_many

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SKU_MAX = Variant._meta.get_field("sku").max_length
POS_BATCH = 1000
# What a variant edit compares and records.
VARIANT_FIELDS = (
    "sku",
    "barcode",
    "option_values",
    "retail_price",
    "compare_at_price",
    "unit_cost",
    "weight_grams",
    "low_stock_threshold",
)


def variant_validate(variant: Variant) -> None:
    """Field rules, the barcode check digit, compare-at above retail, unique SKU and barcode.

    Raises one ValidationError with every problem, keyed by field.
    """
    errors: dict[str, list] = {}
    variant.sku = (variant.sku or "").strip()
    variant.barcode = (variant.barcode or "").strip()
    if not variant.sku:
        errors["sku"] = ["A variant needs a SKU."]
    elif any(c.isspace() for c in variant.sku):
        errors["sku"] = [f"A SKU has no spaces: “{variant.sku}”."]
    elif len(variant.sku) > SKU_MAX:
        errors["sku"] = [f"A SKU has at most {SKU_MAX} characters."]
    try:
        variant.full_clean(exclude=["product"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    others = Variant.objects.exclude(pk=variant.pk).select_related("product")
    if "sku" not in errors:
        clash = others.filter(sku=variant.sku).first()
        if clash is not None:
            errors["sku"] = [f"SKU {variant.sku} is already used by “{clash.product.title}”."]
    if variant.barcode and "barcode" not in errors:
        clash = others.filter(barcode=variant.barcode).first()
        if clash is not None:
            errors["barcode"] = [
                f"Barcode {variant.barcode} is already on SKU {clash.sku} "
                f"(“{clash.product.title}”)."
            ]
    if errors:
        raise ValidationError(errors)


def _save(variant: Variant) -> Variant:
    variant_validate(variant)
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        # A concurrent save took the SKU or barcode between the check and the insert.
        raise ValidationError(
            "Another variant with this SKU or barcode was saved just now; check and try again."
        ) from None
    return variant


def _snapshot(variant: Variant) -> dict:
    out = {}
    for name in VARIANT_FIELDS:
        value = getattr(variant, name)
        out[name] = money_str(value) if isinstance(value, Decimal) else value
    return out


@transaction.atomic
def variant_create(
    *,
    product_id: int,
    sku: str,
    retail_price: Decimal,
    barcode: str = "",
    option_values: dict | None = None,
    compare_at_price: Decimal | None = None,
    unit_cost: Decimal | None = None,
    weight_grams: int | None = None,
    low_stock_threshold: int = 0,
    actor: User | None,
) -> Variant:
    """Add a variant (SKU) to a product."""
    product = product_lock(product_id)
    variant = _save(
        Variant(
            product=product,
            sku=sku,
            barcode=barcode,
            option_values=option_values or {},
            retail_price=retail_price,
            compare_at_price=compare_at_price,
            unit_cost=unit_cost,
            weight_grams=weight_grams,
            low_stock_threshold=low_stock_threshold,
        )
    )
    event_record(
        product,
        type=ProductEvent.Type.VARIANT_ADDED,
        actor=actor,
        data={"sku": variant.sku, "retail_price": money_str(variant.retail_price)},
    )
    queue_sync(product, actor=actor)
    return variant


@transaction.atomic
def variant_update(
    *,
    variant_id: int,
    sku: str,
    retail_price: Decimal,
    barcode: str = "",
    option_values: dict | None = None,
    compare_at_price: Decimal | None = None,
    unit_cost: Decimal | None = None,
    weight_grams: int | None = None,
    low_stock_threshold: int = 0,
    actor: User | None,
) -> Variant:
    """Edit a variant's SKU, barcode, options and prices; the changes are recorded."""
    product_id = Variant.objects.values_list("product_id", flat=True).get(pk=variant_id)
    product = product_lock(product_id)
    variant = Variant.objects.select_for_update().get(pk=variant_id)
    before = _snapshot(variant)
    variant.sku = sku
    variant.barcode = barcode
    variant.option_values = option_values or {}
    variant.retail_price = retail_price
    variant.compare_at_price = compare_at_price
    variant.unit_cost = unit_cost
    variant.weight_grams = weight_grams
    variant.low_stock_threshold = low_stock_threshold
    variant_validate(variant)
    after = _snapshot(variant)
    changes = {k: [before[k], after[k]] for k in VARIANT_FIELDS if before[k] != after[k]}
    if not changes:
        return variant
    _save(variant)
    event_record(
        product,
        type=ProductEvent.Type.VARIANT_EDITED,
        actor=actor,
        data={"sku": variant.sku, "changes": changes},
    )
    queue_sync(product, actor=actor)
    return variant


@dataclass(frozen=True)
class VariantPosData:
    """One SKU as the POS reported it. An empty name or a None archived flag means the
    report did not say (a plain CSV has neither): the last known value is kept."""

    sku: str
    name: str
    price: Decimal | None
    archived: bool | None = None


@dataclass(frozen=True)
class VariantPosRow:
    """What the POS write needs of a variant as it is now."""

    id: int
    product_id: int
    retail_price: Decimal
    pos_name: str
    pos_archived: bool


POS_FIELDS = ["retail_price", "pos_price", "pos_name", "pos_archived"]


def _pos_rows_lock(skus: list[str]) -> dict[str, VariantPosRow]:
    rows: dict[str, VariantPosRow] = {}
    for start in range(0, len(skus), POS_BATCH):
        batch = (
            Variant.objects.filter(sku__in=skus[start : start + POS_BATCH])
            .order_by("pk")
            .select_for_update(of=("self",))
            .values_list("sku", "pk", "product_id", "retail_price", "pos_name", "pos_archived")
        )
        for sku, *values in batch:
            rows[sku] = VariantPosRow(*values)
    return rows


def variant_pos_update_many(
    *,
    items: Iterable[VariantPosData],
    synced_at: datetime | None = None,
    apply_price: bool = True,
    actor: User | None = None,
    locked: Mapping[str, VariantPosRow] | None = None,
) -> int:
    """Record the POS's name, price and archived flag for each known SKU (the accuracy page
    compares them with the web data); with `apply_price`, the POS price becomes the retail
    price, since the POS owns prices. Returns how many variants were updated.

    Unknown SKUs are skipped (create them first with product_create_draft). A caller that
    has already read the variants under lock in this transaction (the POS sync) passes them
    as `locked`, by SKU, and they are not read again. Written with opsdesk.core.bulk (COPY
    and one UPDATE on PostgreSQL, fast at 50,000 rows); a price change is recorded on its
    product's timeline, and products whose price crossed zero are re-checked for the
    data-entry queue. Runs in the caller's transaction (a POS sync applies a whole file at
    once).
    """
    synced_at = synced_at or timezone.now()
    wanted: dict[str, VariantPosData] = {}
    for item in items:
        if item.price is not None and item.price < 0:
            raise ValidationError(f"The POS price of {item.sku} is negative ({item.price}).")
        wanted[item.sku.strip()] = item
    with transaction.atomic():
        current = locked if locked is not None else _pos_rows_lock(list(wanted))
        rows = []
        events = []
        requeue: set[int] = set()
        for sku, item in wanted.items():
            v = current.get(sku)
            if v is None:
                continue
            price = v.retail_price
            if apply_price and item.price is not None and item.price != v.retail_price:
                if (v.retail_price <= 0) != (item.price <= 0):
                    requeue.add(v.product_id)
                events.append(
                    (
                        v.product_id,
                        {
                            "sku": sku,
                            "retail_price": [money_str(v.retail_price), money_str(item.price)],
                        },
                    )
                )
                price = item.price
            name = (item.name or v.pos_name)[:255]
            archived = item.archived if item.archived is not None else v.pos_archived
            rows.append((v.id, price, item.price, name, archived))
        update_many(
            Variant, POS_FIELDS, rows, same={"pos_synced_at": synced_at, "updated_at": synced_at}
        )
        insert_many(
            ProductEvent,
            ["product_id", "data"],
            events,
            same={
                "type": ProductEvent.Type.POS_UPDATED.value,
                "actor_id": actor.pk if actor is not None else None,
                "created_at": synced_at,
            },
        )
        for product_id in sorted(requeue):
            product = Product.objects.select_for_update(of=("self",)).get(pk=product_id)
            queue_sync(product, actor=actor)
    return len(rows)
