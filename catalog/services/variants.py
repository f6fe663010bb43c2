"""Variants (SKUs): add, edit, and what the POS last reported about each one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Product, ProductEvent, Variant
from catalog.services._common import event_record, money_str, product_lock
from catalog.services.queue import queue_sync

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
    """One SKU as the POS reported it."""

    sku: str
    name: str
    price: Decimal | None
    archived: bool = False


POS_FIELDS = ["pos_name", "pos_price", "pos_archived", "pos_synced_at", "retail_price"]
POS_WRITE_CHUNK = 2000


def _pos_fields_write(variants: list[Variant]) -> None:
    """Write the POS fields of many variants.

    On PostgreSQL one UPDATE ... FROM (VALUES ...) per chunk: Django's bulk_update builds a
    CASE with a branch per row for each field, which grows with the square of the batch.
    """
    if not variants:
        return
    if connection.vendor != "postgresql":
        Variant.objects.bulk_update(variants, [*POS_FIELDS, "updated_at"], batch_size=500)
        return
    table = connection.ops.quote_name(Variant._meta.db_table)
    row = "(%s::bigint, %s::varchar, %s::numeric, %s::boolean, %s::timestamptz, %s::numeric)"
    with connection.cursor() as cursor:
        for start in range(0, len(variants), POS_WRITE_CHUNK):
            chunk = variants[start : start + POS_WRITE_CHUNK]
            params = [
                value
                for v in chunk
                for value in (
                    v.pk,
                    v.pos_name,
                    v.pos_price,
                    v.pos_archived,
                    v.pos_synced_at,
                    v.retail_price,
                )
            ]
            cursor.execute(
                f"UPDATE {table} AS v SET pos_name = d.pos_name, pos_price = d.pos_price, "  # noqa: S608 - the table name is the model's; values are parameters
                "pos_archived = d.pos_archived, pos_synced_at = d.pos_synced_at, "
                "retail_price = d.retail_price, updated_at = d.pos_synced_at "
                f"FROM (VALUES {', '.join([row] * len(chunk))}) "
                "AS d(id, pos_name, pos_price, pos_archived, pos_synced_at, retail_price) "
                "WHERE v.id = d.id",
                params,
            )


def variant_pos_update_many(
    *,
    items: Iterable[VariantPosData],
    synced_at: datetime | None = None,
    apply_price: bool = True,
    actor: User | None = None,
) -> int:
    """Record the POS's name, price and archived flag for each known SKU (the accuracy page
    compares them with the web data); with `apply_price`, the POS price becomes the retail
    price, since the POS owns prices. Returns how many variants were updated.

    Unknown SKUs are skipped (create them first with product_create_draft). Written in
    batches (one UPDATE per 2,000 rows on PostgreSQL); a price change is recorded on its
    product's timeline, and products whose price crossed zero are re-checked for the
    data-entry queue. Runs in the caller's transaction (a POS sync applies a whole file at
    once).
    """
    synced_at = synced_at or timezone.now()
    wanted = {}
    for item in items:
        if item.price is not None and item.price < 0:
            raise ValidationError(f"The POS price of {item.sku} is negative ({item.price}).")
        wanted[item.sku.strip()] = item
    updated = 0
    requeue: set[int] = set()
    skus = list(wanted)
    with transaction.atomic():
        for start in range(0, len(skus), POS_BATCH):
            batch = Variant.objects.filter(sku__in=skus[start : start + POS_BATCH]).order_by("pk")
            changed: list[Variant] = []
            events: list[ProductEvent] = []
            for variant in batch.select_for_update(of=("self",)):
                item = wanted[variant.sku]
                variant.pos_name = (item.name or "")[:255]
                variant.pos_price = item.price
                variant.pos_archived = item.archived
                variant.pos_synced_at = synced_at
                if apply_price and item.price is not None and item.price != variant.retail_price:
                    if (variant.retail_price <= 0) != (item.price <= 0):
                        requeue.add(variant.product_id)
                    events.append(
                        ProductEvent(
                            product_id=variant.product_id,
                            type=ProductEvent.Type.POS_UPDATED,
                            actor=actor,
                            data={
                                "sku": variant.sku,
                                "retail_price": [
                                    money_str(variant.retail_price),
                                    money_str(item.price),
                                ],
                            },
                        )
                    )
                    variant.retail_price = item.price
                changed.append(variant)
            _pos_fields_write(changed)
            ProductEvent.objects.bulk_create(events)
            updated += len(changed)
        for product_id in sorted(requeue):
            product = Product.objects.select_for_update(of=("self",)).get(pk=product_id)
            queue_sync(product, actor=actor)
    return updated
