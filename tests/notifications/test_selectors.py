import pytest

from opsdesk.notifications.models import NotificationPreference
from opsdesk.notifications.selectors import (
    delivery_counts_by_status,
    notification_list_for_inbox,
    notification_preference_modes,
    notification_unread_count,
)
from opsdesk.processes.models import Process
from tests.notifications.factories import EmailDeliveryFactory, NotificationFactory, ProcessFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [2, 30])
def test_inbox_list_takes_one_query_however_many_rows(reviewer, rows, django_assert_num_queries):
    for _ in range(rows):
        NotificationFactory(recipient=reviewer, process=ProcessFactory())

    with django_assert_num_queries(1):
        page = list(notification_list_for_inbox(user=reviewer)[:25])
        names = [n.process.name for n in page]

    assert len(names) == min(rows, 25)


def test_inbox_list_is_newest_first_and_only_the_users_own(reviewer, packer):
    older = NotificationFactory(recipient=reviewer)
    newer = NotificationFactory(recipient=reviewer)
    NotificationFactory(recipient=packer)

    assert list(notification_list_for_inbox(user=reviewer)) == [newer, older]


def test_unread_count_counts_only_unread_of_the_user(reviewer, packer):
    NotificationFactory.create_batch(2, recipient=reviewer)
    NotificationFactory(recipient=reviewer, read_at="2026-01-01T00:00Z")
    NotificationFactory(recipient=packer)

    assert notification_unread_count(user=reviewer) == 2


def test_preference_modes_list_every_process_with_the_default_when_unset(
    reviewer, django_assert_num_queries
):
    chosen = ProcessFactory()
    NotificationPreference.objects.create(user=reviewer, process=chosen, mode="digest")

    with django_assert_num_queries(1):
        modes = {p.pk: p.notification_mode for p in notification_preference_modes(user=reviewer)}

    assert set(modes) == set(Process.objects.values_list("pk", flat=True))
    assert modes.pop(chosen.pk) == "digest"
    assert set(modes.values()) <= {"immediate"}


def test_delivery_counts_include_every_status():
    EmailDeliveryFactory.create_batch(2)
    EmailDeliveryFactory(status="failed")

    assert delivery_counts_by_status() == {"pending": 2, "sending": 0, "sent": 0, "failed": 1}
