import pytest
from django.urls import reverse

from opsdesk.notifications.models import EmailDelivery
from tests.notifications.factories import EmailDeliveryFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["notification", "emaildelivery", "notificationpreference", "mailtest"]
)
def test_every_model_has_a_read_only_admin_list(admin_client, model):
    EmailDeliveryFactory()

    response = admin_client.get(reverse(f"admin:notifications_{model}_changelist"))

    assert response.status_code == 200
    assert admin_client.get(reverse(f"admin:notifications_{model}_add")).status_code == 403


def test_admin_retry_now_requeues_failed_deliveries_and_skips_the_rest(
    admin_client, enqueued, django_capture_on_commit_callbacks
):
    failed = EmailDeliveryFactory(status="failed", attempts=5)
    pending = EmailDeliveryFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_emaildelivery_changelist"),
            {"action": "retry_now", "_selected_action": [failed.pk, pending.pk]},
            follow=True,
        )

    content = response.content.decode()
    assert "1 queued to be sent again." in content
    assert "1 skipped" in content
    assert EmailDelivery.objects.get(pk=failed.pk).status == "pending"
    assert enqueued == [failed.pk]
