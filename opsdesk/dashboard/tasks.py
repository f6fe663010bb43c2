from celery import shared_task

from opsdesk.dashboard.services import daily_summary_send


# The name is fixed: beat's schedule in opsdesk/celery.py refers to it.
@shared_task(name="dashboard.daily_summary_send_task", acks_late=True)
def daily_summary_send_task() -> None:
    daily_summary_send()
