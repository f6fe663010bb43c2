"""Records lockouts (django-axes) as security events. Connected in CoreConfig.ready()."""

from axes.signals import user_locked_out
from django.dispatch import receiver

from opsdesk.core.models import SecurityEvent


@receiver(user_locked_out, dispatch_uid="opsdesk_core_locked_out")
def _record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    SecurityEvent.objects.create(
        type=SecurityEvent.Type.LOCKED_OUT, username=username or "", ip_address=ip_address
    )
