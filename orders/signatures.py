"""Webhook signatures: base64 HMAC-SHA256 of the raw request body, as Shopify
(X-Shopify-Hmac-Sha256) and WooCommerce (X-WC-Webhook-Signature) send it; the generic format
uses the same scheme in X-Opsdesk-Signature.

The digest is always computed over the bytes received, never over re-serialized JSON, and
compared in constant time. A channel's previous secret still verifies until its
previous_secret_valid_until, so deliveries signed before a rotation are not lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from orders.models import Channel

HEADERS = {
    "shopify": "X-Shopify-Hmac-Sha256",
    "woocommerce": "X-WC-Webhook-Signature",
    "generic": "X-Opsdesk-Signature",
}
SECRET_BYTES = 32


def secret_generate() -> str:
    """A new random channel secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def signature_compute(*, secret: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `body` under `secret`, as the stores send it."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _matches(secret: str, body: bytes, given: bytes) -> bool:
    expected = signature_compute(secret=secret, body=body).encode("ascii")
    return hmac.compare_digest(expected, given)


def signature_valid(
    *, channel: Channel, body: bytes, header_value: str | None, now: datetime | None = None
) -> bool:
    """Whether `header_value` signs `body` with the channel's secret, or with its previous
    secret while that is still within its grace period."""
    if not header_value or not channel.secret:
        return False
    try:
        given = header_value.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    if _matches(channel.secret, body, given):
        return True
    now = now or timezone.now()
    return bool(
        channel.previous_secret
        and channel.previous_secret_valid_until is not None
        and now < channel.previous_secret_valid_until
        and _matches(channel.previous_secret, body, given)
    )
