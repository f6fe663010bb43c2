"""Sending e-mail deliveries: claim, back-off, lease, sweep, digest, retry, never twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from opsdesk.core.models import SweepRun
from opsdesk.core.sweeps import sweep_period
from opsdesk.notifications import services
from opsdesk.notifications.emails import delivery_message_id
from opsdesk.notifications.models import EmailDelivery
from opsdesk.notifications.services import (
    MAX_ATTEMPTS,
    SENDING_LEASE,
    delivery_retry,
    delivery_send,
    delivery_sweep,
    digest_send_due,
)
from tests.notifications.factories import EmailDeliveryFactory, NotificationFactory, UserFactory
from tests.notifications.mailers import BrokenBackend, FailingBackend, backend_path

pytestmark = pytest.mark.django_db

MAIL_SERVER_DOWN = {"default": {"BACKEND": backend_path(FailingBackend)}}
MAIL_BUG = {"default": {"BACKEND": backend_path(BrokenBackend)}}


def _reload(delivery: EmailDelivery) -> EmailDelivery:
    delivery.refresh_from_db()
    return delivery


# delivery_send --------------------------------------------------------------------------


@override_settings(
    SITE_URL="https://ops.example.com",
    STORE_NAME="Corner Shop",
    DEFAULT_FROM_EMAIL="shop@example.com",
    STORE_REPLY_TO="help@example.com",
)
def test_delivery_send_sends_the_templated_email_and_marks_it_sent(mailoutbox):
    delivery = EmailDeliveryFactory(
        notification__subject="New order #1001 to review",
        notification__body="Order #1001 from <b>Ann</b>",
        notification__link="/orders/1001/",
    )

    result = delivery_send(delivery_id=delivery.pk)

    assert (result.status, result.attempts, result.last_error) == ("sent", 1, "")
    assert result.sent_at is not None
    assert result.message_id == f"<opsdesk-delivery-{delivery.pk}@ops.example.com>"
    (message,) = mailoutbox
    assert message.subject == "[Corner Shop] New order #1001 to review"
    assert message.to == [delivery.to]
    assert message.from_email == "shop@example.com"
    assert message.reply_to == ["help@example.com"]
    assert message.extra_headers["Message-ID"] == result.message_id
    assert "https://ops.example.com/orders/1001/" in message.body
    html = message.alternatives[0].content
    assert 'href="https://ops.example.com/orders/1001/"' in html
    assert "Corner Shop" in html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in html  # the body is escaped in HTML


def test_delivery_send_twice_sends_once(mailoutbox):
    delivery = EmailDeliveryFactory()

    assert delivery_send(delivery_id=delivery.pk) is not None
    assert delivery_send(delivery_id=delivery.pk) is None

    assert len(mailoutbox) == 1
    assert _reload(delivery).attempts == 1


def test_delivery_send_leaves_a_delivery_that_is_not_due_yet(mailoutbox):
    delivery = EmailDeliveryFactory(next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert delivery_send(delivery_id=delivery.pk) is None
    assert mailoutbox == []
    assert _reload(delivery).status == "pending"


def test_delivery_send_leaves_digest_deliveries_to_the_digest(mailoutbox):
    delivery = EmailDeliveryFactory(mode="digest")

    assert delivery_send(delivery_id=delivery.pk) is None
    assert mailoutbox == []


def test_delivery_send_ignores_a_delivery_that_no_longer_exists(mailoutbox):
    assert delivery_send(delivery_id=987654) is None


@override_settings(MAILERS=MAIL_SERVER_DOWN)
def test_a_mail_server_error_returns_the_delivery_to_pending_with_a_backoff():
    delivery = EmailDeliveryFactory()
    before = timezone.now()

    result = delivery_send(delivery_id=delivery.pk)

    assert (result.status, result.attempts, result.claimed_at) == ("pending", 1, None)
    assert "SMTPServerDisconnected" in result.last_error
    assert before + timedelta(seconds=59) < result.next_attempt_at
    assert result.next_attempt_at < timezone.now() + timedelta(seconds=61)


@override_settings(MAILERS=MAIL_SERVER_DOWN)
def test_backoff_doubles_and_the_delivery_fails_after_the_last_attempt():
    delivery = EmailDeliveryFactory()
    waits = []
    for _ in range(MAX_ATTEMPTS):
        now = _reload(delivery).next_attempt_at
        result = delivery_send(delivery_id=delivery.pk, now=now)
        if result.status == "pending":
            waits.append(round((result.next_attempt_at - timezone.now()).total_seconds() / 60))

    assert waits == [1, 2, 4, 8]
    assert (result.status, result.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery_send(delivery_id=delivery.pk, now=timezone.now() + timedelta(days=1)) is None


@override_settings(MAILERS=MAIL_BUG)
def test_an_error_that_is_not_transient_fails_the_delivery_at_once():
    delivery = EmailDeliveryFactory()

    result = delivery_send(delivery_id=delivery.pk)

    assert (result.status, result.attempts) == ("failed", 1)
    assert "ValueError" in result.last_error


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_delivery_send_it_once(mailoutbox):
    delivery = EmailDeliveryFactory()
    start = threading.Barrier(2)
    results = []

    def worker():
        try:
            start.wait(5)
            results.append(delivery_send(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(r is None for r in results) == [False, True]
    assert len(mailoutbox) == 1
    assert _reload(delivery).status == "sent"


# The sweep ------------------------------------------------------------------------------


def test_sweep_sends_what_is_pending_and_due_and_leaves_the_rest(mailoutbox):
    due = EmailDeliveryFactory.create_batch(3)
    later = EmailDeliveryFactory(next_attempt_at=timezone.now() + timedelta(hours=1))
    digest = EmailDeliveryFactory(mode="digest")
    failed = EmailDeliveryFactory(status="failed", attempts=MAX_ATTEMPTS)

    assert delivery_sweep() == 3

    assert {_reload(d).status for d in due} == {"sent"}
    assert [_reload(d).status for d in (later, digest, failed)] == ["pending", "pending", "failed"]
    assert len(mailoutbox) == 3


def test_sweep_sends_everything_due_in_bounded_batches(monkeypatch, mailoutbox):
    monkeypatch.setattr(services.delivery, "SWEEP_BATCH", 3)
    EmailDeliveryFactory.create_batch(8)

    assert delivery_sweep() == 8
    assert len(mailoutbox) == 8


def test_sweep_runs_once_per_period(mailoutbox, settings):
    settings.SWEEP_INTERVAL = 60
    now = timezone.now()
    EmailDeliveryFactory(next_attempt_at=now - timedelta(seconds=1))

    assert delivery_sweep(now=now) == 1
    EmailDeliveryFactory(next_attempt_at=now - timedelta(seconds=1))
    assert delivery_sweep(now=now) == 0
    assert delivery_sweep(now=now + timedelta(seconds=60)) == 1

    assert SweepRun.objects.filter(name=services.DELIVERY_SWEEP).count() == 2
    assert SweepRun.objects.filter(
        name=services.DELIVERY_SWEEP, period=sweep_period(every_seconds=60, now=now)
    ).exists()


@override_settings(MAILERS=MAIL_SERVER_DOWN)
def test_sweep_moves_on_when_the_mail_server_is_down():
    deliveries = EmailDeliveryFactory.create_batch(2)

    assert delivery_sweep() == 0

    assert {(_reload(d).status, d.attempts) for d in deliveries} == {("pending", 1)}


def test_sweep_returns_a_delivery_stuck_in_sending_past_its_lease_and_sends_it(mailoutbox):
    now = timezone.now()
    stuck = EmailDeliveryFactory(
        status="sending", claimed_at=now - SENDING_LEASE - timedelta(seconds=1), attempts=1
    )
    busy = EmailDeliveryFactory(status="sending", claimed_at=now - timedelta(seconds=30))

    assert delivery_sweep(now=now) == 1

    stuck = _reload(stuck)
    assert (stuck.status, stuck.attempts) == ("sent", 3)  # the lost attempt counts
    assert _reload(busy).status == "sending"
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [delivery_message_id(stuck.pk)]


def test_a_delivery_that_keeps_killing_its_worker_ends_failed(mailoutbox):
    now = timezone.now()
    stuck = EmailDeliveryFactory(
        status="sending", claimed_at=now - SENDING_LEASE * 2, attempts=MAX_ATTEMPTS - 1
    )

    services.deliveries_release_stale(now=now)

    stuck = _reload(stuck)
    assert (stuck.status, stuck.attempts) == ("failed", MAX_ATTEMPTS)
    assert "worker stopped" in stuck.last_error


# Hourly digest --------------------------------------------------------------------------


def test_digest_sends_each_person_one_email_listing_their_digest_deliveries(mailoutbox):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    ann_rows = [
        EmailDeliveryFactory(mode="digest", notification__recipient=ann, notification__subject=s)
        for s in ("Order #1 to review", "Order #2 to review", "Return #7 received")
    ]
    bob_rows = EmailDeliveryFactory.create_batch(2, mode="digest", notification__recipient=bob)
    immediate = EmailDeliveryFactory(notification__recipient=ann)

    assert digest_send_due() == 2

    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bob@example.com"]
    ann_mail = next(m for m in mailoutbox if m.to == ["ann@example.com"])
    assert "3 notifications" in ann_mail.subject
    for subject in ("Order #1 to review", "Order #2 to review", "Return #7 received"):
        assert subject in ann_mail.body
        assert subject in ann_mail.alternatives[0].content
    assert {_reload(d).status for d in ann_rows + bob_rows} == {"sent"}
    assert len({d.message_id for d in ann_rows}) == 1
    assert ann_mail.extra_headers["Message-ID"] == ann_rows[0].message_id
    assert _reload(immediate).status == "pending"


def test_digest_runs_once_per_hour(mailoutbox):
    now = timezone.now().replace(minute=10)
    EmailDeliveryFactory(mode="digest", next_attempt_at=now - timedelta(minutes=5))

    assert digest_send_due(now=now) == 1
    EmailDeliveryFactory(mode="digest", next_attempt_at=now - timedelta(minutes=1))
    assert digest_send_due(now=now + timedelta(minutes=30)) == 0
    assert digest_send_due(now=now + timedelta(hours=1)) == 1

    assert len(mailoutbox) == 2


def test_digest_with_nothing_to_send_sends_nothing(mailoutbox):
    assert digest_send_due() == 0
    assert mailoutbox == []


@override_settings(MAILERS=MAIL_SERVER_DOWN)
def test_a_failed_digest_goes_with_the_next_hour():
    rows = EmailDeliveryFactory.create_batch(
        2, mode="digest", notification__recipient__username="xena"
    )

    assert digest_send_due() == 0

    assert {(_reload(d).status, d.attempts, d.mode) for d in rows} == {("pending", 1, "digest")}


# Retry from the admin -------------------------------------------------------------------


def test_retry_returns_a_failed_delivery_to_pending_and_enqueues_it(
    enqueued, django_capture_on_commit_callbacks, admin_user
):
    delivery = EmailDeliveryFactory(
        status="failed", attempts=MAX_ATTEMPTS, mode="digest", last_error="SMTP 550"
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = delivery_retry(delivery_id=delivery.pk, actor=admin_user)

    assert (result.status, result.mode, result.attempts) == ("pending", "immediate", 0)
    assert enqueued == [delivery.pk]


def test_retry_refuses_a_delivery_that_has_not_failed(enqueued, admin_user):
    from django.core.exceptions import ValidationError

    delivery = EmailDeliveryFactory(status="sent", sent_at=timezone.now())

    with pytest.raises(ValidationError):
        delivery_retry(delivery_id=delivery.pk, actor=admin_user)
    assert _reload(delivery).status == "sent"
    assert enqueued == []


def test_notification_factory_smoke():
    # Guards the factories the other tests rely on.
    assert NotificationFactory().recipient.email.endswith("@example.com")
