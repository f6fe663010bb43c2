"""Thin Celery wrappers around the inventory sweeps; beat starts them (opsdesk/celery.py)."""

from celery import shared_task

from inventory import tasks_pos  # noqa: F401 - Celery discovers only tasks.py; this registers them
from inventory.services import low_stock_check, reservation_expire_due
from opsdesk.core.sweeps import sweep_claim_now


# No period claim: each hold is released under its own lock and re-checked, so a second run
# in one period does nothing twice, and a skipped period would only delay releases.
@shared_task(name="inventory.reservation_expire_due_task", acks_late=True)
def reservation_expire_due_task() -> int:
    return reservation_expire_due()


@shared_task(name="inventory.low_stock_check_task", acks_late=True)
def low_stock_check_task() -> int:
    if not sweep_claim_now(name="low-stock"):
        return 0
    return low_stock_check()
