"""Thin Celery wrappers around the intake services; beat starts the sweep (opsdesk/celery.py).

The fulfillment tasks live in tasks_fulfillment and tasks_flows, imported here so that
Celery's autodiscovery (which reads `tasks` modules) registers them.
"""

from celery import shared_task

from orders import tasks_flows, tasks_fulfillment  # noqa: F401  (found by autodiscovery here)
from orders.services.intake import deliveries_build_pending, delivery_build_sweep


# No autoretry: a build that fails for a passing reason leaves its delivery ACCEPTED with
# the attempt counted, and the sweep builds it later (a countdown held in the broker could
# outlive the Redis visibility timeout and be delivered twice).
@shared_task(name="orders.deliveries_build_task", acks_late=True)
def deliveries_build_task() -> None:
    deliveries_build_pending()


@shared_task(name="orders.delivery_build_sweep_task", acks_late=True)
def delivery_build_sweep_task() -> None:
    delivery_build_sweep()
