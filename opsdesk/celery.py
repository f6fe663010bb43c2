"""The Celery app, and beat's schedule in code.

Every entry is a short sweep; what people change (a process's cadence, the time of the
owner's daily summary) is data the sweeps read. Each sweep also claims its period in the
database (opsdesk.core.sweeps), so a second beat started by mistake cannot run one twice.
"""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings")

app = Celery("opsdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_sweeps(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    every = settings.SWEEP_INTERVAL
    sender.conf.beat_schedule = {
        "target-times": {"task": "processes.work_item_escalate_late_task", "schedule": every},
        "review-cadence": {"task": "processes.process_review_due_task", "schedule": every},
        "pending-deliveries": {"task": "notifications.delivery_sweep_task", "schedule": every},
        "hourly-digests": {"task": "notifications.digest_send_due_task", "schedule": every},
        "daily-summary": {"task": "dashboard.daily_summary_send_task", "schedule": every},
        "catalog-accuracy": {
            "task": "catalog.accuracy_snapshot_take_daily_task",
            "schedule": every,
        },
        "web-ready-queue": {"task": "catalog.web_ready_queue_reconcile_task", "schedule": every},
        "reservation-expiry": {"task": "inventory.reservation_expire_due_task", "schedule": every},
        "low-stock": {"task": "inventory.low_stock_check_task", "schedule": every},
        "pos-sync-resume": {"task": "inventory.pos_sync_runs_resume_task", "schedule": every},
        "pos-push-keys": {"task": "inventory.pos_push_keys_purge_task", "schedule": 3600},
        "order-intake": {"task": "orders.delivery_build_sweep_task", "schedule": every},
        "customer-notices": {"task": "orders.customer_notice_sweep_task", "schedule": every},
        "missing-shipments": {"task": "orders.shipments_create_missing_task", "schedule": every},
        "pickup-reminders": {"task": "orders.pickup_reminders_send_task", "schedule": every},
        "vendor-reminders": {"task": "orders.vendor_reminders_send_task", "schedule": every},
    }


@beat_init.connect
def _only_one_beat(sender: object, **kwargs: object) -> None:
    from opsdesk.core.beatlock import beat_lock_acquire

    beat_lock_acquire()
