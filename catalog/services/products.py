"""Products: create, edit, status transitions, publishing, and the calls inventory makes."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.exceptions import InvalidTransition, PublishRefused
from catalog.models import Category, Product, ProductEvent, Variant, Vendor
from catalog.richtext import description_sanitize, description_text_length
from catalog.rules import web_ready_problems
from catalog.services._common import event_record, money_str, product_lock
from catalog.services.queue import queue_sync

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

TITLE_MAX = Product._meta.get_field("title").max_length


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "A product needs a title."})
    if len(title) > TITLE_MAX:
        raise ValidationError({"title": f"A title has at most {TITLE_MAX} characters."})
    return title


def _category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    try:
        return Category.objects.get(pk=category_id)
    except Category.DoesNotExist:
        raise ValidationError({"category": "That category does not exist."}) from None


def _vendor(vendor_id: int | None) -> Vendor | None:
    if vendor_id is None:
        return None
    try:
        return Vendor.objects.get(pk=vendor_id)
    except Vendor.DoesNotExist:
        raise ValidationError({"vendor": "That vendor does not exist."}) from None


@transaction.atomic
def product_create(
    *,
    title: str,
    description: str = "",
    category_id: int | None = None,
    vendor_id: int | None = None,
    actor: User | None,
    source: str = "staff",
    notify: bool = True,
) -> Product:
    """Create a draft product; it enters the data-entry queue until it is web-ready and verified.

    `notify=False` is for bulk loads (the demo store, imports): the queue item is opened
    without a message to the on-duty staff for each product.
    """
    html = description_sanitize(description)
    product = Product.objects.create(
        title=_clean_title(title),
        description=html,
        description_chars=description_text_length(html),
        category=_category(category_id),
        vendor=_vendor(vendor_id),
        status=Product.Status.DRAFT,
        created_from=source[:40],
    )
    event_record(product, type=ProductEvent.Type.CREATED, actor=actor, data={"source": source})
    return queue_sync(product, actor=actor, notify=notify)


@transaction.atomic
def product_update(
    *,
    product_id: int,
    title: str,
    description: str,
    category_id: int | None,
    vendor_id: int | None,
    actor: User | None,
) -> Product:
    """Edit a product's web data; the description is sanitized before it is stored."""
    product = product_lock(product_id)
    html = description_sanitize(description)
    new = {
        "title": _clean_title(title),
        "description": html,
        "category_id": _category(category_id).pk if category_id is not None else None,
        "vendor_id": _vendor(vendor_id).pk if vendor_id is not None else None,
    }
    changed = [name for name, value in new.items() if getattr(product, name) != value]
    if not changed:
        return product
    for name, value in new.items():
        setattr(product, name, value)
    product.description_chars = description_text_length(html)
    product.save()
    event_record(
        product,
        type=ProductEvent.Type.EDITED,
        actor=actor,
        data={"changed": [name.removesuffix("_id") for name in changed]},
    )
    return queue_sync(product, actor=actor)


@transaction.atomic
def product_transition(
    *,
    product_id: int,
    to_status: str,
    actor: User | None,
    event_type: str = ProductEvent.Type.STATUS_CHANGED,
    data: dict | None = None,
) -> Product:
    """Move a product to another status: the one place that writes Product.status.

    Leaving the sellable statuses takes the product off the web (recorded as its own event);
    the data-entry queue follows the new status.
    """
    product = product_lock(product_id)
    if to_status not in Product.ALLOWED_TRANSITIONS.get(product.status, ()):
        raise InvalidTransition(product=product, to_status=to_status)
    from_status, product.status = product.status, to_status
    fields = ["status", "updated_at"]
    unpublished = product.published and to_status not in Product.PUBLISHABLE_STATUSES
    if unpublished:
        product.published = False
        fields.append("published")
    product.save(update_fields=fields)
    event_record(
        product,
        type=event_type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data,
    )
    if unpublished:
        event_record(
            product,
            type=ProductEvent.Type.UNPUBLISHED,
            actor=actor,
            data={"reason": f"status changed to {to_status}"},
        )
    return queue_sync(product, actor=actor)


def product_publish(*, product_id: int, actor: User | None) -> Product:
    """Show an active, web-ready product on the web store; otherwise refuse with the reasons.

    A refusal is recorded (PUBLISH_REFUSED, with the reasons) and committed before
    PublishRefused is raised, so the timeline shows who tried and why it failed.
    """
    with transaction.atomic():
        product = product_lock(product_id)
        if product.published:
            return product
        reasons: list[str] = []
        if product.status != Product.Status.ACTIVE:
            reasons.append(
                f"Only an active product can be published; this one is "
                f"{product.get_status_display().lower()}."
            )
        reasons += web_ready_problems(product)
        if reasons:
            event_record(
                product,
                type=ProductEvent.Type.PUBLISH_REFUSED,
                actor=actor,
                data={"reasons": reasons},
            )
        else:
            product.published = True
            product.published_at = timezone.now()
            product.save(update_fields=["published", "published_at", "updated_at"])
            event_record(product, type=ProductEvent.Type.PUBLISHED, actor=actor)
            return product
    raise PublishRefused(product=product, reasons=reasons)


@transaction.atomic
def product_unpublish(*, product_id: int, actor: User | None, reason: str = "") -> Product:
    """Take a product off the web store; it keeps its status. Safe to call twice."""
    product = product_lock(product_id)
    if not product.published:
        return product
    product.published = False
    product.save(update_fields=["published", "updated_at"])
    event_record(
        product,
        type=ProductEvent.Type.UNPUBLISHED,
        actor=actor,
        data={"reason": reason} if reason else {},
    )
    return product


def _available_units(product: Product) -> int:
    StockLevel = apps.get_model("inventory", "StockLevel")
    total = StockLevel.objects.filter(variant__product=product).aggregate(
        n=Sum(F("on_hand") - F("reserved"))
    )["n"]
    return total or 0


@transaction.atomic
def product_sold_out_unpublish(*, product_id: int) -> Product:
    """Unpublish a discontinued product whose stock has run out (inventory calls this).

    It re-reads the stock (on hand minus reserved, all locations, all variants) and does
    nothing while any unit is left, or when the product is not discontinued or not on the
    web, so calling it late, early or twice is safe. Locks only the product row.
    """
    product = product_lock(product_id)
    if product.status != Product.Status.DISCONTINUED or not product.published:
        return product
    available = _available_units(product)
    if available > 0:
        logger.info("product %s still has %s units; left on the web", product.pk, available)
        return product
    product.published = False
    product.save(update_fields=["published", "updated_at"])
    event_record(
        product,
        type=ProductEvent.Type.UNPUBLISHED,
        actor=None,
        data={"reason": "sold_out", "detail": "Discontinued and out of stock."},
    )
    return product


def variant_is_reservable(variant: Variant) -> bool:
    """Whether inventory may reserve units of this variant for an order.

    Not for an archived product, nor for a discontinued one that has left the web (it sold
    out); a discontinued product still published is selling its last units and may be.
    """
    product = variant.product
    if product.status == Product.Status.ARCHIVED:
        return False
    if product.status == Product.Status.DISCONTINUED:
        return product.published
    return True


@transaction.atomic
def product_create_draft(
    *,
    sku: str,
    title: str,
    price: Decimal | None,
    barcode: str = "",
    source: str,
    actor: User | None,
    notify: bool = True,
) -> Variant:
    """Create a draft product with one variant for an item the POS or receiving brought in.

    It lands in the data-entry queue (on-duty staff notified unless `notify=False`). When the
    SKU already exists, that variant is returned unchanged, so a repeated sync or scan (or two
    at once) creates one product.
    """
    from catalog.services.variants import variant_validate

    sku = (sku or "").strip()
    existing = Variant.objects.select_related("product").filter(sku=sku).first()
    if existing is not None:
        return existing
    if price is not None and price < 0:
        raise ValidationError({"retail_price": f"The price of {sku} is negative ({price})."})
    title = " ".join((title or "").split())[:TITLE_MAX] or f"New item {sku}"
    try:
        with transaction.atomic():
            product = Product.objects.create(
                title=title, status=Product.Status.DRAFT, created_from=source[:40]
            )
            variant = Variant(
                product=product,
                sku=sku,
                barcode=(barcode or "").strip(),
                retail_price=price if price is not None else Decimal("0.00"),
            )
            variant_validate(variant)
            variant.save()
    except IntegrityError:
        # Another transaction created the SKU first (it waited for that one to commit).
        existing = Variant.objects.select_related("product").filter(sku=sku).first()
        if existing is None:
            raise
        return existing
    event_record(
        product,
        type=ProductEvent.Type.CREATED,
        actor=actor,
        data={
            "source": source,
            "sku": sku,
            "barcode": variant.barcode,
            "price": money_str(price),
        },
    )
    queue_sync(product, actor=actor, notify=notify)
    return variant
