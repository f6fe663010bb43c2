import queue
import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from kombu.exceptions import OperationalError as BrokerOperationalError

from opsdesk.notifications import services, tasks
from opsdesk.notifications.models import (
    EmailDelivery,
    MailTest,
    Notification,
    NotificationPreference,
)
from opsdesk.notifications.services import (
    mail_test_send,
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_save,
    notify,
)
from tests.notifications.factories import NotificationFactory, ProcessFactory
from tests.notifications.mailers import FailingBackend, backend_path

pytestmark = pytest.mark.django_db


def _notify(process, users=None, **kwargs):
    return notify(
        process=process,
        subject=kwargs.pop("subject", "New order #1001 to review"),
        body=kwargs.pop("body", "Order #1001, $120.00, from a new customer."),
        link=kwargs.pop("link", "/orders/1001/"),
        users=users,
        **kwargs,
    )


# notify: who gets what ------------------------------------------------------------------


def test_notify_files_one_notification_and_one_pending_email_per_given_user(
    process, reviewer, packer, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notifications = _notify(process, users=[reviewer, packer], actor=packer)

    assert {n.recipient for n in notifications} == {reviewer, packer}
    assert all(n.process == process and n.actor == packer for n in notifications)
    deliveries = EmailDelivery.objects.filter(notification__in=notifications)
    assert {(d.to, d.mode, d.status, d.attempts) for d in deliveries} == {
        (reviewer.email, "immediate", "pending", 0),
        (packer.email, "immediate", "pending", 0),
    }
    assert len(callbacks) == 1
    assert sorted(enqueued) == sorted(d.pk for d in deliveries)


def test_notify_without_users_routes_to_whoever_is_on_duty(process, reviewer, packer, enqueued):
    # Nobody has a shift now, so the contract falls back to the process's primary.
    process.primary = reviewer
    process.save()

    notifications = _notify(process)

    assert [n.recipient for n in notifications] == [reviewer]


def test_notify_accepts_the_process_key(process, reviewer, enqueued):
    notifications = _notify(process.key, users=[reviewer])

    assert notifications[0].process == process


def test_notify_skips_duplicates_inactive_people_and_none(process, reviewer, packer, enqueued):
    packer.is_active = False
    packer.save()

    notifications = _notify(process, users=[reviewer, None, reviewer, packer])

    assert [n.recipient for n in notifications] == [reviewer]


def test_notify_gives_someone_without_an_address_the_inbox_only(process, reviewer, enqueued):
    reviewer.email = ""
    reviewer.save()

    notifications = _notify(process, users=[reviewer])

    assert len(notifications) == 1
    assert not EmailDelivery.objects.exists()


def test_notify_with_nobody_to_notify_creates_nothing(process, enqueued):
    assert _notify(process, users=[]) == []
    assert not Notification.objects.exists()


def test_notify_keeps_a_long_subject_to_its_column(process, reviewer, enqueued):
    notifications = _notify(process, users=[reviewer], subject="x" * 400)

    assert len(notifications[0].subject) == 255


# notify: preferences --------------------------------------------------------------------


def test_notify_sends_no_email_to_someone_who_chose_none(
    process, reviewer, packer, enqueued, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(user=reviewer, process=process, mode="none")

    with django_capture_on_commit_callbacks(execute=True):
        _notify(process, users=[reviewer, packer])

    assert Notification.objects.filter(recipient=reviewer).count() == 1
    assert list(EmailDelivery.objects.values_list("to", flat=True)) == [packer.email]


def test_notify_holds_digest_email_for_the_hourly_digest_without_enqueueing(
    process, reviewer, enqueued, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(user=reviewer, process=process, mode="digest")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _notify(process, users=[reviewer])

    delivery = EmailDelivery.objects.get()
    assert (delivery.mode, delivery.status) == ("digest", "pending")
    assert callbacks == []
    assert enqueued == []


def test_notify_reads_the_preference_of_that_process_only(process, reviewer, enqueued):
    other = ProcessFactory()
    NotificationPreference.objects.create(user=reviewer, process=other, mode="none")

    _notify(process, users=[reviewer])

    assert EmailDelivery.objects.get().mode == "immediate"


# notify: transactions and the broker ---------------------------------------------------


def test_notify_in_a_transaction_that_rolls_back_leaves_nothing_and_sends_nothing(
    process, reviewer, enqueued, django_capture_on_commit_callbacks, mailoutbox
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _notify(process, users=[reviewer])
        raise RuntimeError("the caller's work failed")

    assert callbacks == []
    assert enqueued == []
    assert not Notification.objects.exists()
    assert not EmailDelivery.objects.exists()
    assert mailoutbox == []


def test_notify_enqueues_only_after_the_callers_commit(
    process, reviewer, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        _notify(process, users=[reviewer])
        assert enqueued == []

    assert enqueued == []
    callbacks[0]()
    assert enqueued == [EmailDelivery.objects.get().pk]


def test_notify_survives_an_unreachable_broker_and_leaves_the_rows_pending(
    process, reviewer, packer, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def broker_down(delivery_id):
        calls.append(delivery_id)
        raise BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.delivery_send_task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        notifications = _notify(process, users=[reviewer, packer])

    assert len(notifications) == 2
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {"pending"}
    assert len(calls) == 1  # it stops asking a broker that is down


RACES = 1_000


@pytest.mark.django_db(transaction=True)
def test_tasks_racing_their_own_commit_always_find_their_rows(
    process, reviewer, mailoutbox, monkeypatch
):
    """R19: a worker that picks a task up the instant the caller commits finds the committed
    row, 1,000 times over. Four worker threads with their own connections stand in for
    Celery's, each taking ids from the queue as soon as they are enqueued."""
    errors: list[BaseException] = []
    pending: queue.Queue = queue.Queue()

    def work():
        try:
            while (delivery_id := pending.get()) is not None:
                try:
                    assert services.delivery_send(delivery_id=delivery_id) is not None
                except BaseException as exc:
                    errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    monkeypatch.setattr(tasks.delivery_send_task, "delay", pending.put)
    try:
        for n in range(RACES):
            with transaction.atomic():
                _notify(process, users=[reviewer], subject=f"Order {n}")
    finally:
        for _ in workers:
            pending.put(None)
        for worker in workers:
            worker.join(60)

    assert errors == []
    assert EmailDelivery.objects.filter(status="sent").count() == RACES
    assert len(mailoutbox) == RACES


# Inbox ----------------------------------------------------------------------------------


def test_mark_read_marks_only_that_notification(reviewer):
    first, second = NotificationFactory.create_batch(2, recipient=reviewer)

    notification = notification_mark_read(notification_id=first.pk, actor=reviewer)

    assert notification.is_read
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None


def test_mark_read_keeps_the_first_read_time(reviewer):
    notification = NotificationFactory(recipient=reviewer)
    first = notification_mark_read(notification_id=notification.pk, actor=reviewer).read_at

    again = notification_mark_read(notification_id=notification.pk, actor=reviewer)

    assert again.read_at == first


def test_mark_read_refuses_someone_elses_notification(reviewer, packer):
    notification = NotificationFactory(recipient=packer)

    with pytest.raises(Notification.DoesNotExist):
        notification_mark_read(notification_id=notification.pk, actor=reviewer)
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_marks_only_the_actors_unread(reviewer, packer):
    NotificationFactory.create_batch(3, recipient=reviewer)
    NotificationFactory(recipient=packer)

    assert notification_mark_all_read(actor=reviewer) == 3
    assert notification_mark_all_read(actor=reviewer) == 0
    assert Notification.objects.filter(read_at__isnull=True).get().recipient == packer


# Preferences ----------------------------------------------------------------------------


def test_preferences_save_creates_and_then_updates_one_row_per_process(reviewer):
    first, second = ProcessFactory.create_batch(2)

    notification_preferences_save(
        user=reviewer, modes={first.pk: "digest", second.pk: "none"}, actor=reviewer
    )
    notification_preferences_save(user=reviewer, modes={first.pk: "immediate"}, actor=reviewer)

    assert dict(
        NotificationPreference.objects.filter(user=reviewer).values_list("process", "mode")
    ) == {first.pk: "immediate", second.pk: "none"}


def test_preferences_save_refuses_an_unknown_mode_and_changes_nothing(reviewer, process):
    with pytest.raises(ValidationError):
        notification_preferences_save(user=reviewer, modes={process.pk: "weekly"}, actor=reviewer)
    assert not NotificationPreference.objects.exists()


def test_preferences_save_refuses_an_unknown_process(reviewer):
    with pytest.raises(ValidationError):
        notification_preferences_save(user=reviewer, modes={987654: "none"}, actor=reviewer)


# Mail test ------------------------------------------------------------------------------


@override_settings(
    STORE_NAME="Corner Shop",
    DEFAULT_FROM_EMAIL="shop@example.com",
    STORE_REPLY_TO="help@example.com",
)
def test_mail_test_send_sends_now_and_records_success(reviewer, mailoutbox):
    result = mail_test_send(to="owner@example.com", actor=reviewer)

    assert (result.ok, result.to, result.actor, result.error) == (
        True,
        "owner@example.com",
        reviewer,
        "",
    )
    assert MailTest.objects.filter(ok=True).exists()
    (message,) = mailoutbox
    assert message.to == ["owner@example.com"]
    assert message.from_email == "shop@example.com"
    assert message.reply_to == ["help@example.com"]
    assert message.subject == "[Corner Shop] Test message"
    assert "Corner Shop" in message.alternatives[0].content


def test_mail_test_send_records_why_the_mail_server_refused(reviewer):
    with override_settings(MAILERS={"default": {"BACKEND": backend_path(FailingBackend)}}):
        result = mail_test_send(to="owner@example.com", actor=reviewer)

    assert result.ok is False
    assert "SMTPServerDisconnected" in result.error
    assert not MailTest.objects.filter(ok=True).exists()


def test_mail_test_send_refuses_a_malformed_address(reviewer, mailoutbox):
    with pytest.raises(ValidationError):
        mail_test_send(to="not an address", actor=reviewer)
    assert not MailTest.objects.exists()
    assert mail.outbox == []
