"""Catalog tasks: thin wrappers that load ids and call services."""

from celery import shared_task

from catalog.services import (
    accuracy_snapshot_take_daily,
    product_sold_out_unpublish,
    web_ready_queue_reconcile,
)
from opsdesk.core.sweeps import sweep_claim_now


@shared_task(name="catalog.product_sold_out_unpublish_task", acks_late=True)
def product_sold_out_unpublish_task(product_id: int) -> None:
    """For inventory to enqueue on commit when a discontinued product's stock reaches zero."""
    product_sold_out_unpublish(product_id=product_id)


@shared_task(name="catalog.accuracy_snapshot_take_daily_task")
def accuracy_snapshot_take_daily_task() -> int | None:
    """Scheduled every beat period; takes at most one snapshot per day."""
    snapshot = accuracy_snapshot_take_daily()
    return snapshot.pk if snapshot is not None else None


@shared_task(name="catalog.web_ready_queue_reconcile_task")
def web_ready_queue_reconcile_task() -> int:
    """Scheduled every beat period: opens queue items a bulk change left missing."""
    if not sweep_claim_now(name="catalog-queue-reconcile"):
        return 0
    return web_ready_queue_reconcile()
