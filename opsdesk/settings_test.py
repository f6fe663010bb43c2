"""Test settings: the production settings, with fast hashing and no HTTPS redirect.

`make test` sets DATABASE_URL (a throwaway PostgreSQL cluster) and REDIS_URL (a throwaway
Redis); both must be real, so nothing here falls back to SQLite.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "t" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("MAIL_BACKEND", "locmem")

from opsdesk.settings import *  # noqa: F403
from opsdesk.settings import DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("Tests run on PostgreSQL: set DATABASE_URL (make test does).")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
