"""Customer e-mails: rendering, sending once after commit, retries, the sweep, resending."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from opsdesk.processes.models import WorkItem
from orders import tasks_fulfillment
from orders.models import CustomerNotice, NoticeTemplate, OrderEvent, Shipment
from orders.services import notices
from orders.services.fulfillment import shipment_transition
from orders.services.notices import (
    customer_notice_queue,
    customer_notice_resend,
    customer_notice_send,
    customer_notice_sweep,
)
from orders.services.picking import shipment_ship
from tests.orders.factories import OrderFactory
from tests.orders.fulfillment_factories import (
    approved_order,
    ensure_carrier,
    stocked_variant,
    warehouse,
)

S = Shipment.Status


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Notice ids handed to the broker, instead of sending them."""
    ids: list[int] = []
    monkeypatch.setattr(tasks_fulfillment.customer_notice_send_task, "delay", ids.append)
    return ids


@pytest.fixture
def shipped(db, enqueued, django_capture_on_commit_callbacks, settings):
    """A shipped shipment whose notice has been queued (not sent)."""
    settings.STORE_NAME = "Corner & Co"
    settings.STORE_REPLY_TO = "help@corner.example"
    settings.DEFAULT_FROM_EMAIL = "shop@corner.example"
    mug = stocked_variant(warehouse(), sku="MUG-1")
    order = approved_order([(mug, 2)], number="#7001", email="ada@example.com")
    shipment = order.shipments.get()
    for status in (S.PICKING, S.PICKED, S.PACKED):
        shipment_transition(shipment_id=shipment.pk, to_status=status, actor=None)
    carrier = ensure_carrier("ups")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = shipment_ship(
            shipment_id=shipment.pk, carrier_id=carrier.pk, tracking_number="1Z 999", actor=None
        )
    return shipment


def test_shipping_queues_the_notice_and_enqueues_it_after_commit(shipped, enqueued):
    notice = CustomerNotice.objects.get(shipment=shipped)
    assert enqueued == [notice.pk]
    assert notice.status == CustomerNotice.Status.PENDING
    assert notice.kind == "shipped"
    assert notice.to == "ada@example.com"
    event = shipped.order.events.get(type=OrderEvent.Type.NOTICE)
    assert event.data["notice"] == notice.pk
    assert event.data["kind"] == "shipped"


def test_shipping_notice_text_and_links(shipped):
    notice = CustomerNotice.objects.get(shipment=shipped)
    customer_notice_send(notice_id=notice.pk)

    (message,) = mail.outbox
    assert message.subject == "Your order #7001 has shipped"
    assert message.to == ["ada@example.com"]
    assert message.from_email == "Corner & Co <shop@corner.example>"
    assert message.reply_to == ["help@corner.example"]
    assert "#7001" in message.body
    assert "2 x Item MUG-1 (MUG-1)" in message.body
    assert "Carrier: UPS" in message.body
    assert "Tracking number: 1Z999" in message.body
    assert "https://www.ups.com/track?tracknum=1Z999" in message.body
    assert "Corner & Co" in message.body  # plain text is not HTML-escaped
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="https://www.ups.com/track?tracknum=1Z999"' in html
    assert "Corner &amp; Co" in html
    notice.refresh_from_db()
    assert notice.status == CustomerNotice.Status.SENT
    assert notice.sent_at is not None


def test_sending_twice_sends_once(shipped):
    notice = CustomerNotice.objects.get(shipment=shipped)
    assert customer_notice_send(notice_id=notice.pk) is not None
    assert customer_notice_send(notice_id=notice.pk) is None
    tasks_fulfillment.customer_notice_send_task.run(notice.pk)
    assert len(mail.outbox) == 1


def test_admin_template_replaces_the_default(shipped, enqueued):
    NoticeTemplate.objects.create(
        kind="shipped",
        subject="Shipped: {{ order.number }}",
        body_text="Track at {{ tracking_url }} & smile",
        body_html="<p>{{ carrier.name }} <b>{{ shipment.tracking_number }}</b></p>",
    )
    notice = customer_notice_queue(kind="shipped", order=shipped.order, shipment=shipped)
    assert notice.subject == "Shipped: #7001"
    assert notice.body_text == "Track at https://www.ups.com/track?tracknum=1Z999 & smile"
    assert notice.body_html == "<p>UPS <b>1Z999</b></p>"


def test_customer_text_is_escaped_in_html(db, enqueued):
    order = OrderFactory(number="#<b>1</b>", shipping_address={"first_name": "<script>x</script>"})
    notice = customer_notice_queue(kind="shipped", order=order, context={})
    assert "<script>" not in notice.body_html
    assert "&lt;script&gt;" in notice.body_html


def test_template_name_chooses_other_default_files(db, enqueued, tmp_path, settings):
    folder = tmp_path / "somewhere" / "notices"
    folder.mkdir(parents=True)
    (folder / "hello.txt").write_text(
        "Subject: Hi {{ order.number }}\n\nHello from {{ store_name }}"
    )
    (folder / "hello.html").write_text("<p>Hello</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0].get("DIRS", [])]}
    ]
    settings.STORE_NAME = "Shop"
    order = OrderFactory(number="#9")
    notice = customer_notice_queue(
        kind="hello", order=order, context={}, template_name="somewhere/notices/hello"
    )
    assert notice.subject == "Hi #9"
    assert notice.body_text == "Hello from Shop"


def test_order_without_email_is_refused(db, enqueued):
    order = OrderFactory(email="")
    with pytest.raises(ValidationError, match="no e-mail address"):
        customer_notice_queue(kind="shipped", order=order, context={})
    assert not CustomerNotice.objects.exists()


def test_shipping_an_order_without_email_still_ships(db, enqueued):
    mug = stocked_variant(warehouse())
    order = approved_order([(mug, 1)], email="", customer=None)
    shipment = order.shipments.get()
    for status in (S.PICKING, S.PICKED, S.PACKED):
        shipment_transition(shipment_id=shipment.pk, to_status=status, actor=None)
    shipment = shipment_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="Z1", actor=None
    )
    assert shipment.status == S.SHIPPED
    assert not CustomerNotice.objects.exists()
    assert order.events.get(type=OrderEvent.Type.NOTICE).data["status"] == "not sent"


@pytest.mark.django_db(transaction=True)
def test_notice_of_a_rolled_back_transaction_is_never_sent(enqueued):
    order = OrderFactory(email="ada@example.com")
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_notice_queue(kind="shipped", order=order, context={})
        raise RuntimeError("the step failed after the notice was written")
    assert enqueued == []
    assert not CustomerNotice.objects.exists()
    assert customer_notice_sweep() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_after_commit_finds_its_row(monkeypatch):
    """The task runs the moment it is enqueued (as a fast worker would): the row is there."""
    monkeypatch.setattr(
        tasks_fulfillment.customer_notice_send_task,
        "delay",
        lambda notice_id: tasks_fulfillment.customer_notice_send_task.run(notice_id),
    )
    for _ in range(100):
        order = OrderFactory(email="ada@example.com")
        customer_notice_queue(kind="shipped", order=order, context={})
    assert len(mail.outbox) == 100
    assert set(CustomerNotice.objects.values_list("status", flat=True)) == {"sent"}


def test_transient_failure_backs_off_then_fails(shipped, monkeypatch):
    notice = CustomerNotice.objects.get(shipment=shipped)

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    before = timezone.now()
    notice = customer_notice_send(notice_id=notice.pk)
    assert notice.status == CustomerNotice.Status.PENDING
    assert notice.attempts == 1
    assert notice.next_attempt_at >= before + timedelta(seconds=59)
    assert "gone" in notice.last_error
    for _ in range(notices.MAX_ATTEMPTS - 1):
        notice = customer_notice_send(notice_id=notice.pk, now=notice.next_attempt_at)
    assert notice.status == CustomerNotice.Status.FAILED
    assert notice.attempts == notices.MAX_ATTEMPTS
    # Now it is work for a person: check the address, then resend (which closes the item).
    item = WorkItem.objects.get(process__key="shipping_notice", status=WorkItem.Status.OPEN)
    assert item.link == reverse("orders:shipment_detail", args=[shipped.pk])
    monkeypatch.undo()
    customer_notice_resend(notice_id=notice.pk, actor=None)
    item.refresh_from_db()
    assert item.status == WorkItem.Status.DONE


def test_other_errors_fail_at_once(shipped, monkeypatch):
    notice = CustomerNotice.objects.get(shipment=shipped)

    def broken(self, *args, **kwargs):
        raise ValueError("bad header")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    assert customer_notice_send(notice_id=notice.pk).status == CustomerNotice.Status.FAILED


def test_sweep_sends_what_the_broker_never_carried_and_recovers_stale(shipped):
    notice = CustomerNotice.objects.get(shipment=shipped)
    stale = CustomerNotice.objects.create(
        order=shipped.order,
        kind="shipped",
        to="ada@example.com",
        subject="Stale",
        body_text="x",
        status=CustomerNotice.Status.SENDING,
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    assert customer_notice_sweep() == 2
    assert {m.subject for m in mail.outbox} == {notice.subject, "Stale"}
    stale.refresh_from_db()
    assert stale.status == CustomerNotice.Status.SENT
    assert stale.attempts == 2  # the lost attempt counts
    assert customer_notice_sweep(now=timezone.now() + timedelta(minutes=5)) == 0


def test_sweep_runs_once_per_period(shipped):
    CustomerNotice.objects.create(
        order=shipped.order, kind="shipped", to="ada@example.com", subject="Late", body_text="x"
    )
    now = timezone.now()
    # A second beat (or the same message twice) in the same period does nothing.
    assert customer_notice_sweep(now=now) == 2
    CustomerNotice.objects.create(
        order=shipped.order, kind="shipped", to="ada@example.com", subject="Later", body_text="x"
    )
    assert customer_notice_sweep(now=now) == 0
    assert customer_notice_sweep(now=now + timedelta(minutes=5)) == 1


def test_sweep_leaves_a_live_sending_row_alone(shipped):
    CustomerNotice.objects.filter(shipment=shipped).update(
        status=CustomerNotice.Status.SENDING,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert customer_notice_sweep() == 0
    assert mail.outbox == []


def test_broker_down_leaves_the_notice_to_the_sweep(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    def down(notice_id):
        raise OSError("connection refused")

    monkeypatch.setattr(tasks_fulfillment.customer_notice_send_task, "delay", down)
    order = OrderFactory(email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        notice = customer_notice_queue(kind="shipped", order=order, context={})
    notice.refresh_from_db()
    assert notice.status == CustomerNotice.Status.PENDING
    tasks_fulfillment.customer_notice_sweep_task.run()
    assert len(mail.outbox) == 1


def test_resend_writes_a_new_notice_and_sends_it(
    shipped, enqueued, role_user, django_capture_on_commit_callbacks
):
    clerk = role_user("Customer service")
    first = CustomerNotice.objects.get(shipment=shipped)
    customer_notice_send(notice_id=first.pk)
    with django_capture_on_commit_callbacks(execute=True):
        again = customer_notice_resend(notice_id=first.pk, actor=clerk)
    assert again.pk != first.pk
    assert enqueued[-1] == again.pk
    assert (again.subject, again.body_text, again.to) == (first.subject, first.body_text, first.to)
    assert again.requested_by == clerk
    customer_notice_send(notice_id=again.pk)
    assert len(mail.outbox) == 2
    event = shipped.order.events.filter(type=OrderEvent.Type.NOTICE).latest("pk")
    assert event.data["resend_of"] == first.pk
    assert event.actor == clerk


def test_resend_refused_while_the_first_is_still_pending(shipped):
    first = CustomerNotice.objects.get(shipment=shipped)
    with pytest.raises(ValidationError, match="still being sent"):
        customer_notice_resend(notice_id=first.pk, actor=None)
    assert CustomerNotice.objects.count() == 1


def test_resend_of_unknown_notice_is_refused(db):
    with pytest.raises(ValidationError, match="no customer e-mail"):
        customer_notice_resend(notice_id=999999, actor=None)
