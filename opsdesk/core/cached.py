"""Small, often-read tables kept in Django's cache (Redis), cleared when a row is saved.

A staff page asks for the same few rows on every view (a process's target time, the
channels of a filter): a cache read costs a fraction of a query. Each value is cleared by
the receivers of the model it comes from, and lives at most KEEP_SECONDS, so a change made
where no receiver ran (a queryset update, a race with a reader) lasts no longer than that.
When the cache cannot be reached, the value is read from the database.
"""

import logging
from collections.abc import Callable

from django.core.cache import cache

logger = logging.getLogger(__name__)

KEEP_SECONDS = 60


def cached[T](key: str, read: Callable[[], T]) -> T:
    """The value under `key`, or read() kept there."""
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("cache unavailable; reading %s from the database", key)
        return read()
    if value is None:
        value = read()
        try:
            cache.set(key, value, KEEP_SECONDS)
        except Exception:
            logger.warning("cache unavailable; %s not kept", key)
    return value


def forget(key: str) -> None:
    """Clear `key` (its rows changed); when the cache is down it expires on its own."""
    try:
        cache.delete(key)
    except Exception:
        logger.warning("cache unavailable; %s expires within %s s", key, KEEP_SECONDS)
