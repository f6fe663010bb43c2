"""Helpers shared by the catalog services: locking a product and writing its timeline."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from catalog.models import Product, ProductEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def product_lock(product_id: int) -> Product:
    """The product row, locked for the rest of the transaction (only its own row)."""
    return Product.objects.select_for_update(of=("self",)).get(pk=product_id)


def event_record(
    product: Product,
    *,
    type: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
) -> ProductEvent:
    return ProductEvent.objects.create(
        product=product,
        type=type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )


def money_str(value) -> str | None:
    """A money amount for event data, always with two decimals ("18.00")."""
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal("0.01")))
