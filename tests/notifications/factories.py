import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.notifications.models import EmailDelivery, Notification
from opsdesk.processes.models import Process


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"notified{n}")
    first_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=role)[0])


class ProcessFactory(factory.django.DjangoModelFactory):
    """A process of its own (keys the seeded catalogue does not use)."""

    class Meta:
        model = Process
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"test-process-{n}")
    name = factory.Sequence(lambda n: f"Test process {n}")
    owner_role = factory.LazyFunction(lambda: Group.objects.get_or_create(name=Role.MANAGER)[0])
    target_minutes = 30


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    process = factory.SubFactory(ProcessFactory)
    subject = factory.Sequence(lambda n: f"Something happened #{n}")
    body = "Details of what happened."
    link = "/processes/"


class EmailDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailDelivery

    notification = factory.SubFactory(NotificationFactory)
    to = factory.LazyAttribute(lambda d: d.notification.recipient.email)
    next_attempt_at = factory.LazyFunction(timezone.now)
