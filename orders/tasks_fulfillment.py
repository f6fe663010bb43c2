"""Thin Celery wrappers around the fulfillment services (customer e-mails, shipments)."""

from celery import shared_task

from orders.services.fulfillment import shipments_create_missing
from orders.services.notices import customer_notice_send, customer_notice_sweep


# No autoretry: a failed attempt goes back to the database with its back-off and the sweep
# sends it when due; retries held in the broker could outlive its visibility timeout.
@shared_task(name="orders.customer_notice_send_task", acks_late=True)
def customer_notice_send_task(notice_id: int) -> None:
    customer_notice_send(notice_id=notice_id)


@shared_task(name="orders.customer_notice_sweep_task", acks_late=True)
def customer_notice_sweep_task() -> None:
    customer_notice_sweep()


@shared_task(name="orders.shipments_create_missing_task", acks_late=True)
def shipments_create_missing_task() -> None:
    shipments_create_missing()
