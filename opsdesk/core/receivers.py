"""Records lockouts (django-axes) as security events. Connected in CoreConfig.ready()."""

from datetime import timedelta

from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from opsdesk.core.models import SecurityEvent


@receiver(user_locked_out, dispatch_uid="opsdesk_core_locked_out")
def _record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    # django-axes signals again on every attempt refused while locked: record the first.
    last = (
        SecurityEvent.objects.filter(
            username=username or "",
            ip_address=ip_address,
            type__in=[SecurityEvent.Type.LOCKED_OUT, SecurityEvent.Type.UNLOCKED],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    cooloff = timedelta(hours=settings.AXES_COOLOFF_TIME)
    if (
        last is not None
        and last.type == SecurityEvent.Type.LOCKED_OUT
        and last.created_at > timezone.now() - cooloff
    ):
        return
    SecurityEvent.objects.create(
        type=SecurityEvent.Type.LOCKED_OUT, username=username or "", ip_address=ip_address
    )
