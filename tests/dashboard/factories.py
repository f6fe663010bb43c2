"""Factories for the dashboard's tests; people and work items come from tests.processes."""

from datetime import UTC, datetime

import factory

from opsdesk.notifications.models import EmailDelivery, Notification
from tests.processes.factories import UserFactory, WorkItemFactory, process

__all__ = [
    "EmailDeliveryFactory",
    "NotificationFactory",
    "UserFactory",
    "WorkItemFactory",
    "aware",
    "process",
]


def aware(*args: int) -> datetime:
    """A UTC datetime: aware(2026, 3, 10, 11, 30)."""
    return datetime(*args, tzinfo=UTC)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    process = factory.LazyFunction(process)
    subject = factory.Sequence(lambda n: f"Notification {n}")


class EmailDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailDelivery

    notification = factory.SubFactory(NotificationFactory)
    to = factory.LazyAttribute(lambda d: d.notification.recipient.email)
    status = EmailDelivery.Status.PENDING
