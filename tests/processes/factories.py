from datetime import time

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from opsdesk.processes.models import Process, Shift, ShiftChange, WorkItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=role)[0])


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shift

    user = factory.SubFactory(UserFactory)
    weekday = 0
    start = time(9)
    end = time(17)


class ShiftChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShiftChange

    user = factory.SubFactory(UserFactory)
    kind = ShiftChange.Kind.TIME_OFF


def process(key: str = "order_review") -> Process:
    """A process from the seeded catalogue."""
    return Process.objects.get(key=key)


class WorkItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkItem

    process = factory.LazyFunction(process)
    title = factory.Sequence(lambda n: f"Item {n}")
    due_at = factory.Faker("future_datetime", tzinfo=__import__("datetime").UTC)
