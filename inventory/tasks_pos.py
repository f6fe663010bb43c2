"""Thin Celery wrappers for the POS sync; the names are fixed so beat and the sweep find them.

Celery autodiscovers `inventory/tasks.py`, which imports this module.
"""

from celery import shared_task

from inventory.services.pos_sync import (
    pos_push_keys_purge,
    pos_sync_apply,
    pos_sync_preview,
    pos_sync_runs_resume,
)

# A large file takes longer than the global limits allow a task (60 s soft, 90 s hard).
LONG = {"soft_time_limit": 600, "time_limit": 660}


@shared_task(name="inventory.pos_sync_preview_task", acks_late=True, **LONG)
def pos_sync_preview_task(run_id: int) -> None:
    pos_sync_preview(run_id=run_id)


@shared_task(name="inventory.pos_sync_apply_task", acks_late=True, **LONG)
def pos_sync_apply_task(run_id: int, actor_id: int | None) -> None:
    pos_sync_apply(run_id=run_id, actor_id=actor_id)


@shared_task(name="inventory.pos_sync_runs_resume_task", acks_late=True)
def pos_sync_runs_resume_task() -> None:
    pos_sync_runs_resume()


@shared_task(name="inventory.pos_push_keys_purge_task", acks_late=True)
def pos_push_keys_purge_task() -> None:
    pos_push_keys_purge()
