"""Sessions read from the cache and kept in the database.

Django's cached_db store reads a session from the cache (Redis) rather than the database on
every request. This one also passes over a cache that cannot be reached: the database holds
every session, so staff stay logged in while Redis is down (R18), each page a little slower.
"""

import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            return super().load()
        except Exception:  # the cache refused the copy it was given: read the database
            logger.warning("Session cache unavailable; reading the session from the database")
            return DatabaseStore.load(self)

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except Exception:
            return DatabaseStore.exists(self, session_key)

    def delete(self, session_key=None):
        try:
            super().delete(session_key)
        except Exception:
            # Deleted from the database (which super() does first), not from the cache: the
            # cached copy lives on until its expiry. Said loudly, as a logout that half worked.
            logger.exception("Session deleted from the database but not from the cache")
