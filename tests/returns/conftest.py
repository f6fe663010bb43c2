import pytest

from tests.returns.factories import publish_policy


@pytest.fixture
def policy(db):
    return publish_policy()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
