"""Thin Celery wrappers around the pickup and drop-ship sweeps; beat starts them.

Both sweeps are safe to run twice or at once: each shipment is claimed under a row lock and
its last-reminder time moves forward with the reminder, so it is reminded once a period.
"""

from celery import shared_task

from orders.services.dropship import vendor_reminders_send
from orders.services.pickup import pickup_reminders_send


@shared_task(name="orders.pickup_reminders_send_task", acks_late=True)
def pickup_reminders_send_task() -> dict[str, int]:
    return pickup_reminders_send()


@shared_task(name="orders.vendor_reminders_send_task", acks_late=True)
def vendor_reminders_send_task() -> int:
    return vendor_reminders_send()
