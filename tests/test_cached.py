"""Often-read rows kept in the cache: read once, cleared when their rows are saved, and read
from the database while the cache is down (opsdesk/core/cached.py)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from opsdesk.processes.selectors import process_target
from orders.selectors import channel_choices
from tests.orders.factories import ChannelFactory
from tests.processes.factories import process

pytestmark = pytest.mark.django_db

# Nothing listens on port 9 (discard): every cache call is refused.
CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_a_target_is_read_once_and_again_after_its_process_is_saved(django_assert_num_queries):
    review = process("order_review")
    with django_assert_num_queries(1):
        first = process_target("order_review")
    with django_assert_num_queries(0):
        assert process_target("order_review") == first
    review.target_minutes = 7
    review.save()
    with django_assert_num_queries(1):
        assert process_target("order_review") == timedelta(minutes=7)
    assert process_target("no_such_process") is None


def test_the_channels_are_read_once_and_again_after_a_channel_is_added(
    django_assert_num_queries,
):
    first = ChannelFactory(name="Alpha")
    with django_assert_num_queries(1):
        assert (first.pk, first.slug, "Alpha") in channel_choices()
    with django_assert_num_queries(0):
        channel_choices()
    second = ChannelFactory(name="Beta")
    with django_assert_num_queries(1):
        assert (second.pk, second.slug, "Beta") in channel_choices()


def test_while_the_cache_is_down_the_database_answers(django_assert_num_queries):
    review = process("order_review")
    with override_settings(CACHES=CACHE_DOWN):
        with django_assert_num_queries(1):
            assert process_target("order_review") == review.target
        review.target_minutes = 9
        review.save()  # clearing the cache fails quietly
        with django_assert_num_queries(1):
            assert process_target("order_review") == timedelta(minutes=9)
