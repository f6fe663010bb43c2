"""Thin Celery wrappers around the services; the names are fixed (opsdesk/celery.py)."""

from celery import shared_task

from opsdesk.notifications.services import delivery_send, delivery_sweep, digest_send_due


# No autoretry: a failed attempt goes back to the database with its back-off, and the sweep
# sends it when it is due. Holding retries in the broker (countdown/ETA) would outlive the
# Redis visibility timeout and be delivered twice.
@shared_task(name="notifications.delivery_send_task", acks_late=True)
def delivery_send_task(delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task(name="notifications.delivery_sweep_task", acks_late=True)
def delivery_sweep_task() -> None:
    delivery_sweep()


@shared_task(name="notifications.digest_send_due_task", acks_late=True)
def digest_send_due_task() -> None:
    digest_send_due()
