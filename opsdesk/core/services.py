from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from opsdesk.core.models import SecurityEvent


@transaction.atomic
def login_lockout_clear(*, attempt_id: int, actor: AbstractBaseUser | None) -> SecurityEvent:
    """Unlock one user at one address after a lockout, and record who did it."""
    attempt = AccessAttempt.objects.get(pk=attempt_id)
    axes_reset(ip=attempt.ip_address, username=attempt.username)
    return SecurityEvent.objects.create(
        type=SecurityEvent.Type.UNLOCKED,
        username=attempt.username or "",
        ip_address=attempt.ip_address,
        actor=actor,
    )
