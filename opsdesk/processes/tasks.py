from celery import shared_task

from opsdesk.core.sweeps import sweep_claim_now
from opsdesk.processes.services import process_review_due, work_item_escalate_late


@shared_task(name="processes.work_item_escalate_late_task")
def work_item_escalate_late_task() -> int:
    if not sweep_claim_now(name="target-times"):
        return 0
    return work_item_escalate_late()


@shared_task(name="processes.process_review_due_task")
def process_review_due_task() -> int:
    if not sweep_claim_now(name="review-cadence"):
        return 0
    return process_review_due()
