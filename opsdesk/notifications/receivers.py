"""Notifications for what the domain apps report through their signals.

The domain apps never import notifications (DESIGN.md): they send signals inside their
transactions, and these receivers tell whoever is on duty for the process concerned.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse

from catalog.models import Variant
from inventory import signals as stock_signals
from inventory.models import Backorder
from opsdesk.notifications.services import notify

OUT_OF_STOCK = "out_of_stock"
# Low stock is for whoever receives and orders stock.
LOW_STOCK = "receiving"


def _lines(backorders: list[Backorder]) -> str:
    return "\n".join(f"- {b.quantity} × {b.variant.sku}" for b in backorders)


def _backordered(backorders: list[Backorder], reference: str) -> None:
    order = f" {reference}" if reference else ""
    notify(
        process=OUT_OF_STOCK,
        subject=f"Backordered: order{order}, {len(backorders)} line(s)",
        body=f"Not enough stock to reserve order{order}; it waits as a whole:\n"
        + _lines(backorders),
        link=backorders[0].get_absolute_url(),
    )


def _filled(backorders: list[Backorder]) -> None:
    first = backorders[0]
    order = f" of {first.reference}" if first.reference else ""
    notify(
        process=OUT_OF_STOCK,
        subject=f"Backorder{order} reserved: stock is available now",
        body=f"These backordered lines{order} are reserved now and can be fulfilled:\n"
        + _lines(backorders),
        link=first.get_absolute_url(),
    )


@receiver(stock_signals.backorder_opened, sender=Backorder)
def backorder_opened(
    sender: type, backorders: list[Backorder], reference: str, **kwargs: Any
) -> None:
    # After commit: the sender holds the order's stock levels locked and should finish fast.
    transaction.on_commit(partial(_backordered, backorders, reference), robust=True)


@receiver(stock_signals.backorders_filled, sender=Backorder)
def backorders_filled(sender: type, backorders: list[Backorder], **kwargs: Any) -> None:
    transaction.on_commit(partial(_filled, backorders), robust=True)


@receiver(stock_signals.low_stock_found, sender=Variant)
def low_stock_found(sender: type, variants: list[Variant], **kwargs: Any) -> None:
    """In the sender's transaction: the day's claim and its notice are written together."""
    lines = "\n".join(
        f"- {v.sku} {v.product.title}: {v.sellable} available (threshold {v.low_stock_threshold})"
        for v in variants
    )
    count = len(variants)
    notify(
        process=LOW_STOCK,
        subject=f"Low stock: {count} SKU{'s' if count != 1 else ''}",
        body=f"At or below their low-stock threshold today:\n{lines}",
        link=f"{reverse('inventory:stock_list')}?low=1",
    )
