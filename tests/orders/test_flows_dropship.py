"""Drop ship: purchase order to the vendor, the vendor's signed page, tracking, reminders."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.roles import Role
from orders.models import CustomerNotice, Order, Shipment, ShipmentEvent
from orders.services.dropship import (
    LINK_SALT,
    VendorLinkInvalid,
    dropship_link_resend,
    dropship_send_to_vendor,
    dropship_ship,
    dropship_vendor_confirm,
    vendor_link_shipment_id,
    vendor_link_token,
    vendor_reminders_send,
)
from orders.tasks_flows import vendor_reminders_send_task
from tests.orders.fulfillment_factories import ensure_carrier
from tests.orders.test_flows_support import (
    S,
    dropship_shipment,
    pickup_shipment,
    send_mail_now,
    sent_to,
)

pytestmark = pytest.mark.django_db
VENDOR = "orders@potter.example"


def sent(shipment: Shipment) -> Shipment:
    return dropship_send_to_vendor(shipment_id=shipment.pk, actor=None)


# Purchase order ----------------------------------------------------------------------------


def test_send_to_vendor_e_mails_items_address_and_a_working_link(
    role_user, monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    clerk = role_user(Role.FULFILLMENT)
    shipment = dropship_shipment()
    with django_capture_on_commit_callbacks(execute=True):
        shipment = dropship_send_to_vendor(shipment_id=shipment.pk, actor=clerk)
    assert shipment.status == S.VENDOR_PENDING and shipment.vendor_notified_at is not None
    assert ShipmentEvent.objects.get(shipment=shipment, to_status=S.VENDOR_PENDING).actor == clerk
    (message,) = sent_to(VENDOR)
    assert shipment.number in message.subject and settings.STORE_NAME in message.subject
    line = shipment.lines.get()
    assert f"3 x {line.order_line.title}" in message.body
    assert "12 Analytical Row" in message.body and "62701" in message.body
    link = next(w for w in message.body.split() if w.startswith(settings.SITE_URL))
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert vendor_link_shipment_id(token) == shipment.pk
    assert link in message.alternatives[0][0]
    assert message.reply_to == [settings.STORE_REPLY_TO]


def test_send_to_vendor_is_not_e_mailed_when_the_transaction_rolls_back(
    monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    shipment = dropship_shipment()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        dropship_send_to_vendor(shipment_id=shipment.pk, actor=None)
        raise RuntimeError("later failure")
    assert callbacks == [] and mail.outbox == []
    assert Shipment.objects.get(pk=shipment.pk).status == S.PENDING


def test_send_to_vendor_without_e_mail_address_is_refused():
    shipment = dropship_shipment(vendor_email="")
    with pytest.raises(ValidationError, match="has no e-mail address"):
        sent(shipment)
    assert Shipment.objects.get(pk=shipment.pk).status == S.PENDING


def test_send_twice_is_refused_but_the_link_can_be_resent(django_capture_on_commit_callbacks):
    shipment = sent(dropship_shipment())
    with pytest.raises(ValidationError, match="cannot be sent to the vendor"):
        sent(shipment)
    dropship_link_resend(shipment_id=shipment.pk, actor=None)
    assert CustomerNotice.objects.filter(shipment=shipment, kind="vendor_order").count() == 2
    assert ShipmentEvent.objects.filter(shipment=shipment, type="vendor_link_resent").exists()


def test_resend_is_refused_before_sending_and_after_shipping():
    shipment = dropship_shipment()
    with pytest.raises(ValidationError, match="cannot be sent to the vendor again"):
        dropship_link_resend(shipment_id=shipment.pk, actor=None)
    shipment = sent(shipment)
    dropship_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="1Z9", actor=None
    )
    with pytest.raises(ValidationError):
        dropship_link_resend(shipment_id=shipment.pk, actor=None)


def test_flow_refuses_another_method():
    shipment = pickup_shipment(status=S.PENDING)
    with pytest.raises(ValidationError, match="not a drop ship shipment"):
        dropship_send_to_vendor(shipment_id=shipment.pk, actor=None)


# Confirm and ship --------------------------------------------------------------------------


def test_vendor_confirms_then_ships_and_the_customer_gets_the_notice(
    monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    carrier = ensure_carrier()
    shipment = sent(dropship_shipment())
    shipment = dropship_vendor_confirm(shipment_id=shipment.pk)
    assert shipment.status == S.VENDOR_CONFIRMED and shipment.vendor_confirmed_at
    with django_capture_on_commit_callbacks(execute=True):
        shipment = dropship_ship(
            shipment_id=shipment.pk,
            carrier_id=carrier.pk,
            tracking_number=" 1z999 aa1 ",
            actor=None,
        )
    assert shipment.status == S.SHIPPED
    assert shipment.tracking_number == "1Z999 AA1" and shipment.carrier == carrier
    assert Order.objects.get(pk=shipment.order_id).status == Order.Status.FULFILLED
    (message,) = sent_to(shipment.order.email)
    assert "has shipped" in message.subject
    assert "https://www.ups.com/track?tracknum=1Z999%20AA1" in message.body


def test_ship_straight_from_vendor_pending_is_allowed():
    shipment = sent(dropship_shipment())
    shipment = dropship_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="X1", actor=None
    )
    assert shipment.status == S.SHIPPED and shipment.vendor_confirmed_at is not None


def test_confirm_is_refused_before_sending_and_twice():
    shipment = dropship_shipment()
    with pytest.raises(ValidationError, match="cannot be confirmed"):
        dropship_vendor_confirm(shipment_id=shipment.pk)
    sent(shipment)
    dropship_vendor_confirm(shipment_id=shipment.pk)
    with pytest.raises(ValidationError, match="cannot be confirmed"):
        dropship_vendor_confirm(shipment_id=shipment.pk)


@pytest.mark.parametrize(
    ("tracking", "message"),
    [("", "Enter the tracking number"), ("<script>", "only letters"), ("9" * 101, "at most")],
)
def test_ship_refuses_a_bad_tracking_number(tracking, message):
    shipment = sent(dropship_shipment())
    with pytest.raises(ValidationError, match=message):
        dropship_ship(
            shipment_id=shipment.pk,
            carrier_id=ensure_carrier().pk,
            tracking_number=tracking,
            actor=None,
        )
    assert Shipment.objects.get(pk=shipment.pk).status == S.VENDOR_PENDING


def test_ship_refuses_an_unknown_carrier_and_a_pending_shipment():
    shipment = dropship_shipment()
    with pytest.raises(ValidationError, match="carrier"):
        dropship_ship(shipment_id=shipment.pk, carrier_id=999_999, tracking_number="1", actor=None)
    with pytest.raises(ValidationError, match="cannot be marked shipped"):
        dropship_ship(
            shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="1", actor=None
        )


def test_shipping_twice_is_refused_and_notifies_once():
    shipment = sent(dropship_shipment())
    carrier = ensure_carrier()
    dropship_ship(shipment_id=shipment.pk, carrier_id=carrier.pk, tracking_number="A1", actor=None)
    with pytest.raises(ValidationError, match="cannot be marked shipped"):
        dropship_ship(
            shipment_id=shipment.pk, carrier_id=carrier.pk, tracking_number="B2", actor=None
        )
    assert CustomerNotice.objects.filter(shipment=shipment, kind="shipped").count() == 1
    assert Shipment.objects.get(pk=shipment.pk).tracking_number == "A1"


# Signed links ------------------------------------------------------------------------------


def test_a_tampered_link_is_refused():
    shipment = sent(dropship_shipment())
    token = vendor_link_token(shipment)
    other = signing.TimestampSigner(salt="another-salt").sign_object({"s": shipment.pk, "v": 1})
    for bad in (token[:-2] + "xx", token.replace(":", ";", 1), other, "nonsense"):
        with pytest.raises(VendorLinkInvalid) as refused:
            vendor_link_shipment_id(bad)
        assert refused.value.expired is False


def test_an_expired_link_is_refused(settings):
    settings.DROP_SHIP_LINK_DAYS = 14
    shipment = sent(dropship_shipment())
    old = timezone.now() - timedelta(days=15)
    signer = signing.TimestampSigner(salt=LINK_SALT)
    signer.timestamp = lambda: signing.b62_encode(int(old.timestamp()))
    token = signer.sign_object({"s": shipment.pk, "v": shipment.vendor_id})
    with pytest.raises(VendorLinkInvalid) as refused:
        vendor_link_shipment_id(token)
    assert refused.value.expired is True


def test_a_link_for_another_vendor_is_refused():
    shipment = sent(dropship_shipment())
    token = signing.TimestampSigner(salt=LINK_SALT).sign_object(
        {"s": shipment.pk, "v": shipment.vendor_id + 1000}
    )
    with pytest.raises(VendorLinkInvalid):
        vendor_link_shipment_id(token)


def test_the_link_points_at_the_vendor_page():
    shipment = sent(dropship_shipment())
    assert reverse("orders:vendor_shipment", kwargs={"token": vendor_link_token(shipment)})


# Reminders ---------------------------------------------------------------------------------


def notified_hours_ago(shipment: Shipment, hours: float) -> None:
    Shipment.objects.filter(pk=shipment.pk).update(
        vendor_notified_at=timezone.now() - timedelta(hours=hours)
    )


def test_vendor_is_reminded_after_the_target_time_once_per_period(
    monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    late = sent(dropship_shipment(vendor_email="late@vendor.example"))
    on_time = sent(dropship_shipment(vendor_email="quick@vendor.example"))
    notified_hours_ago(late, 49)  # drop ship's target: 48 hours
    notified_hours_ago(on_time, 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert vendor_reminders_send() == 1
        assert vendor_reminders_send() == 0
    (message,) = sent_to("late@vendor.example")
    assert message.subject.startswith("Reminder: purchase order")
    assert "not yet had your confirmation" in message.body
    assert settings.SITE_URL in message.body
    late.refresh_from_db()
    assert late.vendor_reminders_sent == 1
    # A target period later, the next one.
    assert vendor_reminders_send(now=timezone.now() + timedelta(hours=48, minutes=1)) == 2


def test_a_confirmed_vendor_is_reminded_of_the_tracking_number():
    shipment = sent(dropship_shipment())
    dropship_vendor_confirm(shipment_id=shipment.pk)
    notified_hours_ago(shipment, 50)
    assert vendor_reminders_send() == 1
    notice = CustomerNotice.objects.get(shipment=shipment, kind="vendor_reminder")
    assert "no tracking number" in notice.body_text


def test_shipped_or_cancelled_are_not_reminded():
    shipped = sent(dropship_shipment(vendor_email="a@vendor.example"))
    dropship_ship(
        shipment_id=shipped.pk, carrier_id=ensure_carrier().pk, tracking_number="Z", actor=None
    )
    notified_hours_ago(shipped, 100)
    assert vendor_reminders_send() == 0


def test_the_vendor_task_is_safe_to_run_twice():
    shipment = sent(dropship_shipment())
    notified_hours_ago(shipment, 49)
    vendor_reminders_send_task()
    vendor_reminders_send_task()
    assert CustomerNotice.objects.filter(shipment=shipment, kind="vendor_reminder").count() == 1
