import pytest

from opsdesk.core.roles import Role
from tests.dashboard.factories import UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(
        username="olivia", first_name="Olivia", email="olivia@example.com", roles=[Role.OWNER]
    )


@pytest.fixture
def notify_calls(monkeypatch):
    """Record notify() calls instead of notifying."""
    calls: list[dict] = []

    def fake_notify(**kwargs):
        calls.append(kwargs)
        return []

    monkeypatch.setattr("opsdesk.dashboard.services.notify", fake_notify)
    return calls
