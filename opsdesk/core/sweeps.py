"""Claiming a scheduled sweep's period, so that each sweep runs once per period.

Beat takes a lock too (opsdesk.core.beatlock), but the claim is what holds if two beats
run anyway, or a message is delivered twice.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from opsdesk.core.models import SweepRun


def sweep_period(*, every_seconds: int, now: datetime | None = None) -> str:
    """The label of the period `now` falls in, for a sweep run every `every_seconds`."""
    now = now or timezone.now()
    return str(int(now.timestamp()) // max(every_seconds, 1))


def sweep_claim(*, name: str, period: str) -> bool:
    """Claim `name` for `period`; False when another run already has it."""
    try:
        with transaction.atomic():
            SweepRun.objects.create(name=name, period=period)
    except IntegrityError:
        return False
    return True


def sweep_claim_now(*, name: str) -> bool:
    """Claim `name` for the current beat period (settings.SWEEP_INTERVAL seconds)."""
    from django.conf import settings

    return sweep_claim(name=name, period=sweep_period(every_seconds=settings.SWEEP_INTERVAL))
