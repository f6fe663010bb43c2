"""Drop ship: the vendor ships the parcel.

pending -> vendor_pending (purchase order e-mailed, with a signed link) -> vendor_confirmed
(the vendor confirms on its page) -> shipped (the vendor, or staff, enters the tracking
number; the customer gets the shipping notice).

The vendor's page needs no login: its address carries the shipment id signed with the
project's secret (django.core.signing, a salt of its own) and a timestamp, so a link stops
working after settings.DROP_SHIP_LINK_DAYS and a changed one never works.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from opsdesk.processes.models import Process
from orders.models import Carrier, Shipment
from orders.services import flows

if TYPE_CHECKING:
    from django.contrib.auth.models import User

METHOD = "drop_ship"
LINK_SALT = "orders.dropship.vendor-link"
REMINDER_BATCH = 200
TRACKING_MAX = 100
TRACKING_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]*$")
# The vendor has not answered yet: no confirmation, or no tracking number.
WAITING = (Shipment.Status.VENDOR_PENDING, Shipment.Status.VENDOR_CONFIRMED)


class VendorLinkInvalid(ValidationError):
    """A vendor link that was changed, or has expired."""

    def __init__(self, *, expired: bool) -> None:
        self.expired = expired
        super().__init__(
            "This link has expired. Ask the store to send a new one."
            if expired
            else "This link is not valid. Open it exactly as it was sent, or ask the store "
            "for a new one.",
            code="link_expired" if expired else "link_invalid",
        )


def link_days() -> int:
    return settings.DROP_SHIP_LINK_DAYS


def vendor_link_token(shipment: Shipment) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign_object(
        {"s": shipment.pk, "v": shipment.vendor_id}
    )


def vendor_link_url(shipment: Shipment) -> str:
    path = reverse("orders:vendor_shipment", kwargs={"token": vendor_link_token(shipment)})
    return f"{settings.SITE_URL}{path}"


def vendor_link_shipment_id(token: str) -> int:
    """The shipment a vendor link names; VendorLinkInvalid when it is changed or expired."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        value = signer.unsign_object(token, max_age=timedelta(days=link_days()))
    except signing.SignatureExpired:
        raise VendorLinkInvalid(expired=True) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise VendorLinkInvalid(expired=False) from None
    if not isinstance(value, dict) or not isinstance(value.get("s"), int):
        raise VendorLinkInvalid(expired=False)
    # A shipment moved to another vendor no longer answers to the first vendor's link.
    if not Shipment.objects.filter(pk=value["s"], method=METHOD, vendor_id=value.get("v")).exists():
        raise VendorLinkInvalid(expired=False)
    return value["s"]


def tracking_url(carrier: Carrier | None, tracking_number: str) -> str:
    if carrier is None or not tracking_number:
        return ""
    return carrier.tracking_url_template.replace("{tracking}", quote(tracking_number, safe=""))


def _vendor_email(shipment: Shipment) -> str:
    vendor = shipment.vendor
    if vendor is None:
        raise ValidationError(f"Shipment {shipment.number} has no vendor to send it to.")
    if not vendor.email:
        raise ValidationError(
            f"Vendor {vendor.name} has no e-mail address; add one to the vendor first."
        )
    return vendor.email


def _queue_vendor_notice(
    shipment: Shipment, *, kind: str, actor: User | None, reminder: bool = False
) -> None:
    flows.notice_queue(
        kind=kind,
        shipment=shipment,
        to=_vendor_email(shipment),
        actor=actor,
        context={
            "vendor_name": shipment.vendor.name,
            "ship_to": shipment.ship_to,
            "vendor_link": vendor_link_url(shipment),
            "link_days": link_days(),
            "confirmed": shipment.status == Shipment.Status.VENDOR_CONFIRMED,
            "reminder_number": shipment.vendor_reminders_sent if reminder else 0,
        },
    )


def _lock(shipment_id: int) -> Shipment:
    return flows.lock_shipment(shipment_id, method=METHOD)


@transaction.atomic
def dropship_send_to_vendor(*, shipment_id: int, actor: User | None) -> Shipment:
    """Send a drop-ship shipment's purchase order to its vendor, with the vendor's link."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.PENDING, doing="sent to the vendor")
    _vendor_email(shipment)
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.VENDOR_PENDING,
        actor=actor,
        note=f"Purchase order sent to {shipment.vendor.name}",
        vendor_notified_at=timezone.now(),
    )
    _queue_vendor_notice(shipment, kind="vendor_order", actor=actor)
    return shipment


@transaction.atomic
def dropship_link_resend(*, shipment_id: int, actor: User | None) -> Shipment:
    """Send the vendor the purchase order again, with a fresh link."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, *WAITING, doing="sent to the vendor again")
    _vendor_email(shipment)
    # The reminders count from now on.
    shipment.last_reminder_at = timezone.now()
    shipment.save(update_fields=["last_reminder_at", "updated_at"])
    flows.shipment_event(
        shipment, type="vendor_link_resent", actor=actor, data={"to": shipment.vendor.email}
    )
    _queue_vendor_notice(shipment, kind="vendor_order", actor=actor)
    return shipment


@transaction.atomic
def dropship_vendor_confirm(*, shipment_id: int, actor: User | None = None) -> Shipment:
    """Record that the vendor has the purchase order and will ship it."""
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, Shipment.Status.VENDOR_PENDING, doing="confirmed")
    return flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.VENDOR_CONFIRMED,
        actor=actor,
        note="Confirmed by the vendor" if actor is None else "Confirmed for the vendor",
        vendor_confirmed_at=timezone.now(),
    )


def _clean_tracking(tracking_number: str) -> str:
    tracking = " ".join((tracking_number or "").split()).upper()
    if not tracking:
        raise ValidationError({"tracking_number": "Enter the tracking number."})
    if len(tracking) > TRACKING_MAX:
        raise ValidationError(
            {"tracking_number": f"A tracking number has at most {TRACKING_MAX} characters."}
        )
    if not TRACKING_RE.match(tracking):
        raise ValidationError(
            {"tracking_number": "A tracking number has only letters, digits and dashes."}
        )
    return tracking


@transaction.atomic
def dropship_ship(
    *, shipment_id: int, carrier_id: int, tracking_number: str, actor: User | None
) -> Shipment:
    """Record the vendor's carrier and tracking number: shipped, and the customer is told."""
    tracking = _clean_tracking(tracking_number)
    carrier = Carrier.objects.filter(pk=carrier_id, active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": "Choose the carrier from the list."})
    shipment = _lock(shipment_id)
    flows.refuse_unless(shipment, *WAITING, doing="marked shipped")
    now = timezone.now()
    shipment = flows.shipment_transition(
        shipment_id=shipment.pk,
        to_status=Shipment.Status.SHIPPED,
        actor=actor,
        note=f"{carrier.name} {tracking}" + (" (from the vendor)" if actor is None else ""),
        carrier=carrier,
        tracking_number=tracking,
        shipped_at=now,
        shipped_by=actor,
        vendor_confirmed_at=shipment.vendor_confirmed_at or now,
    )
    flows.notice_queue(
        kind="shipped",
        shipment=shipment,
        actor=actor,
        context={
            "lines": _notice_lines(shipment),
            "carrier": carrier,
            "tracking_number": tracking,
            "tracking_url": tracking_url(carrier, tracking),
        },
    )
    return shipment


def _notice_lines(shipment: Shipment) -> list:
    # The shipping notice's template reads a line's own title as its fallback.
    lines = list(shipment.lines.select_related("order_line", "variant").order_by("pk"))
    for line in lines:
        line.title = line.order_line.title
    return lines


def vendor_reminders_send(*, now: datetime | None = None) -> int:
    """Remind vendors who have not answered within the drop-ship target time.

    At most one reminder per target period per shipment: each is claimed under a row lock
    (skip_locked) and the time of the last contact moves forward with it, so a second run,
    or two at once, send it once.
    """
    now = now or timezone.now()
    target = Process.objects.get(key=flows.DROP_SHIP_PROCESS).target
    due_before = now - target
    due = Q(last_reminder_at__lte=due_before) | Q(
        last_reminder_at__isnull=True, vendor_notified_at__lte=due_before
    )
    ids = list(
        Shipment.objects.filter(due, method=METHOD, status__in=WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)[:REMINDER_BATCH]
    )
    sent = 0
    for shipment_id in ids:
        with transaction.atomic():
            shipment = (
                Shipment.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order", "vendor")
                .filter(due, pk=shipment_id, method=METHOD, status__in=WAITING)
                .first()
            )
            if shipment is None or not (shipment.vendor and shipment.vendor.email):
                continue
            shipment.vendor_reminders_sent += 1
            shipment.last_reminder_at = now
            shipment.save(update_fields=["vendor_reminders_sent", "last_reminder_at", "updated_at"])
            flows.shipment_event(
                shipment,
                type="vendor_reminded",
                actor=None,
                data={"to": shipment.vendor.email, "reminder": shipment.vendor_reminders_sent},
            )
            _queue_vendor_notice(shipment, kind="vendor_reminder", actor=None, reminder=True)
            sent += 1
    return sent
