import pytest

from opsdesk.celery import app as celery_app
from opsdesk.notifications.models import EmailDelivery
from opsdesk.notifications.tasks import (
    delivery_send_task,
    delivery_sweep_task,
    digest_send_due_task,
)
from tests.notifications.factories import EmailDeliveryFactory

pytestmark = pytest.mark.django_db


def test_beat_schedule_names_registered_notification_tasks():
    celery_app.loader.import_default_modules()
    names = {
        entry["task"]
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"].startswith("notifications.")
    }

    assert names == {"notifications.delivery_sweep_task", "notifications.digest_send_due_task"}
    assert names <= set(celery_app.tasks)
    assert "notifications.delivery_send_task" in celery_app.tasks


def test_delivery_send_task_sends_the_delivery_once_however_often_it_runs(mailoutbox):
    delivery = EmailDeliveryFactory()

    delivery_send_task(delivery.pk)
    delivery_send_task(delivery.pk)

    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == EmailDelivery.Status.SENT


def test_delivery_sweep_task_sends_pending_deliveries_once(mailoutbox):
    EmailDeliveryFactory.create_batch(2)

    delivery_sweep_task()
    delivery_sweep_task()

    assert len(mailoutbox) == 2


def test_digest_send_due_task_sends_one_digest_per_person_once(mailoutbox):
    delivery = EmailDeliveryFactory(mode="digest")
    EmailDeliveryFactory(mode="digest", notification__recipient=delivery.notification.recipient)

    digest_send_due_task()
    digest_send_due_task()

    assert len(mailoutbox) == 1
