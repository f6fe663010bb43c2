"""Test settings: the production settings, with fast hashing and no HTTPS redirect.

`make test` sets DATABASE_URL (a throwaway PostgreSQL cluster) and REDIS_URL (a throwaway
Redis); both must be real, so nothing here falls back to SQLite.
"""

import os
import re

# Under pytest-xdist each worker has its own database (pytest-django adds _gw0, _gw1 ...) and
# here its own Redis database, so one worker's Celery never takes another's tasks. Set in
# the environment, so the worker and beat subprocesses that tests start inherit it.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _db = 1 + int(_xdist_worker[2:]) % 15
    os.environ["REDIS_URL"] = re.sub(r"(/\d+)?$", f"/{_db}", os.environ["REDIS_URL"], count=1)

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "t" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("MAIL_BACKEND", "locmem")

from opsdesk.settings import *  # noqa: E402,F403  (after the environment above)
from opsdesk.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("Tests run on PostgreSQL: set DATABASE_URL (make test does).")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
