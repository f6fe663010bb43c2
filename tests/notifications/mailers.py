"""Mail backends for tests: MAILERS={"default": {"BACKEND": backend_path(FailingBackend)}}."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


def backend_path(cls: type) -> str:
    # Derived, so it holds however pytest named this module.
    return f"{cls.__module__}.{cls.__qualname__}"


class FailingBackend(BaseEmailBackend):
    """A mail server that is down: every send raises an SMTP error."""

    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (test)")


class BrokenBackend(BaseEmailBackend):
    """A bug rather than an outage: not an OSError, so not worth retrying."""

    def send_messages(self, messages):
        raise ValueError("cannot render this message (test)")
