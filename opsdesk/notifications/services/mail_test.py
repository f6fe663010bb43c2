"""The "Send a test message" button."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.validators import validate_email

from opsdesk.notifications.emails import mail_test_message
from opsdesk.notifications.models import MailTest
from opsdesk.notifications.services.delivery import error_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


def mail_test_send(*, to: str, actor: User | None) -> MailTest:
    """Send a test message through the configured mailer now, and record whether it went.

    Synchronous on purpose: an admin presses the button and waits for the answer.
    """
    validate_email(to)
    try:
        mail_test_message(to=to, actor=actor).send()
    except Exception as exc:  # any failure is the answer the admin asked for
        logger.warning("test message to %s failed: %s", to, exc)
        return MailTest.objects.create(to=to, ok=False, error=error_text(exc), actor=actor)
    return MailTest.objects.create(to=to, ok=True, actor=actor)
