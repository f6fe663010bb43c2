import pytest

from opsdesk.core.roles import Role
from opsdesk.notifications import tasks
from tests.notifications.factories import ProcessFactory, UserFactory


@pytest.fixture
def process(db):
    return ProcessFactory()


@pytest.fixture
def reviewer(db):
    return UserFactory(username="riley", roles=[Role.ORDER_REVIEWER])


@pytest.fixture
def packer(db):
    return UserFactory(username="pat", roles=[Role.FULFILLMENT])


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Delivery ids handed to the broker (delivery_send_task.delay), instead of sending them."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.delivery_send_task, "delay", ids.append)
    return ids
