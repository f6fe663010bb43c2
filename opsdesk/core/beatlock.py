"""Only one Celery beat may run.

On PostgreSQL, beat holds a session advisory lock on a connection of its own for its whole
life; the lock goes with the process, however it ends. Elsewhere (the embedded SQLite
default), an exclusive lock on a file beside the schedule does the same.
"""

import fcntl
import logging
from pathlib import Path

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

BEAT_LOCK_KEY = 0x6F707364  # "opsd"
_held: list[object] = []  # keeps the lock's connection or file open for the process's life


class BeatAlreadyRunning(SystemExit):
    pass


def beat_lock_acquire() -> None:
    """Take the single-beat lock or stop this process with a clear message."""
    db = connections["default"]
    if db.vendor == "postgresql":
        conn = db.get_new_connection(db.get_connection_params())
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY])
            (got,) = cursor.fetchone()
        if not got:
            conn.close()
            _refuse()
        _held.append(conn)
    else:
        path = Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            _refuse()
        _held.append(handle)
    logger.info("beat: holding the single-beat lock")


def _refuse() -> None:
    message = "Another celery beat is already running for this opsdesk; this one stops."
    logger.error(message)
    raise BeatAlreadyRunning(message)
