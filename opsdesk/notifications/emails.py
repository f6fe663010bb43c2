"""Building the e-mails (text and HTML): pure functions, no sending and no writes.

Every message carries the store's name, a Reply-To the staff can answer, and a Message-ID
derived from what it carries, so a message sent again after a retry is recognisable.
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from opsdesk.notifications.models import EmailDelivery, Notification


def absolute_url(link: str) -> str:
    """`link` as an address that works from a mail client: SITE_URL + path, or as given."""
    if not link:
        return ""
    if link.startswith(("https://", "http://")):
        return link
    return f"{settings.SITE_URL}/{link.lstrip('/')}"


def _message_id(local_part: str) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "opsdesk"
    return f"<{local_part}@{host}>"


def delivery_message_id(delivery_id: int) -> str:
    return _message_id(f"opsdesk-delivery-{delivery_id}")


def digest_message_id(*, user_id: int, delivery_ids: Sequence[int]) -> str:
    return _message_id(
        f"opsdesk-digest-{user_id}-{min(delivery_ids)}-{max(delivery_ids)}-{len(delivery_ids)}"
    )


def _one_line(text: str) -> str:
    # Mail headers must not contain line breaks; a subject from elsewhere might.
    return " ".join(str(text).split())


def _base_context() -> dict:
    return {
        "store_name": settings.STORE_NAME,
        "site_url": settings.SITE_URL,
        "inbox_url": absolute_url(reverse("notifications:inbox")),
        "preferences_url": absolute_url(reverse("notifications:preferences")),
    }


def _build(
    *, template: str, subject: str, to: str, context: dict, headers: dict[str, str]
) -> EmailMultiAlternatives:
    context = _base_context() | context | {"subject": subject}
    message = EmailMultiAlternatives(
        subject=_one_line(f"[{settings.STORE_NAME}] {subject}"),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.STORE_REPLY_TO],
        headers={"Auto-Submitted": "auto-generated", **headers},
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    return message


def notification_message(*, delivery: EmailDelivery) -> EmailMultiAlternatives:
    """The e-mail for one immediate delivery (its notification must be loaded with it)."""
    notification: Notification = delivery.notification
    return _build(
        template="notification",
        subject=notification.subject,
        to=delivery.to,
        context={
            "notification": notification,
            "recipient": notification.recipient,
            "process": notification.process,
            "link_url": absolute_url(notification.link),
        },
        headers={
            "Message-ID": delivery_message_id(delivery.pk),
            "X-Opsdesk-Delivery": str(delivery.pk),
        },
    )


def digest_message(
    *, to: str, recipient, deliveries: Sequence[EmailDelivery]
) -> EmailMultiAlternatives:
    """One e-mail listing several digest deliveries of one person, oldest first."""
    count = len(deliveries)
    items = [
        {
            "notification": delivery.notification,
            "link_url": absolute_url(delivery.notification.link),
        }
        for delivery in deliveries
    ]
    ids = [delivery.pk for delivery in deliveries]
    return _build(
        template="digest",
        subject=f"{count} notification{'s' if count != 1 else ''} in the last hour",
        to=to,
        context={"recipient": recipient, "items": items, "count": count},
        headers={
            "Message-ID": digest_message_id(user_id=recipient.pk, delivery_ids=ids),
            "X-Opsdesk-Digest": ",".join(str(i) for i in ids),
        },
    )


def mail_test_message(*, to: str, actor) -> EmailMultiAlternatives:
    """The "Send a test message" e-mail."""
    return _build(
        template="mail_test",
        subject="Test message",
        to=to,
        context={"actor": actor, "from_email": settings.DEFAULT_FROM_EMAIL},
        headers={},
    )
