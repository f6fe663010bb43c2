"""Writes of opsdesk.notifications: notify, send e-mail, mark read, preferences, mail test.

E-mail is durable: notify() writes an EmailDelivery row in the caller's transaction and only
then (on commit) hands its id to the broker. Whatever the broker loses, the sweep finds in
the database; whoever sends a row claims it first with one conditional UPDATE, so it is
sent once.
"""

from opsdesk.notifications.services.delivery import (
    BACKOFF_BASE,
    BACKOFF_MAX,
    DELIVERY_SWEEP,
    MAX_ATTEMPTS,
    SENDING_LEASE,
    deliveries_release_stale,
    delivery_retry,
    delivery_send,
    delivery_sweep,
)
from opsdesk.notifications.services.digest import DIGEST_SWEEP, digest_send, digest_send_due
from opsdesk.notifications.services.inbox import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_save,
)
from opsdesk.notifications.services.mail_test import mail_test_send
from opsdesk.notifications.services.notify import notify

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "DELIVERY_SWEEP",
    "DIGEST_SWEEP",
    "MAX_ATTEMPTS",
    "SENDING_LEASE",
    "deliveries_release_stale",
    "delivery_retry",
    "delivery_send",
    "delivery_sweep",
    "digest_send",
    "digest_send_due",
    "mail_test_send",
    "notification_mark_all_read",
    "notification_mark_read",
    "notification_preferences_save",
    "notify",
]
