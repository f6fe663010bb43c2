import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.roles import Role
from opsdesk.notifications.models import MailTest, NotificationPreference
from tests.notifications.factories import NotificationFactory, ProcessFactory, UserFactory
from tests.notifications.mailers import FailingBackend, backend_path

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    return _client(reviewer)


# Inbox ----------------------------------------------------------------------------------


def test_inbox_lists_the_users_notifications_with_unread_marked(reviewer, reviewer_client):
    unread = NotificationFactory(recipient=reviewer, subject="Order #1 to review")
    read = NotificationFactory(
        recipient=reviewer, subject="Order #2 to review", read_at=timezone.now()
    )
    NotificationFactory(subject="Someone else's")

    response = reviewer_client.get(reverse("notifications:inbox"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Order #1 to review" in content
    assert "Order #2 to review" in content
    assert "Someone else" not in content
    assert "1 unread" in content
    assert reverse("notifications:mark_read", args=[unread.pk]) in content
    assert reverse("notifications:mark_read", args=[read.pk]) not in content


def test_inbox_pages_hold_25_and_htmx_gets_just_the_list(reviewer, reviewer_client):
    NotificationFactory.create_batch(30, recipient=reviewer)

    first = reviewer_client.get(reverse("notifications:inbox"))
    second = reviewer_client.get(reverse("notifications:inbox") + "?page=2", **HTMX)

    assert len(first.context["page"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert len(second.context["page"]) == 5
    assert b"<html" not in second.content
    assert b'id="inbox-list"' in second.content


def test_inbox_queries_do_not_grow_with_rows(reviewer, reviewer_client):
    def queries_for(rows: int) -> int:
        for _ in range(rows):
            NotificationFactory(recipient=reviewer, process=ProcessFactory())
        with CaptureQueriesContext(connection) as captured:
            assert reviewer_client.get(reverse("notifications:inbox")).status_code == 200
        return len(captured)

    assert queries_for(2) == queries_for(20)


def test_inbox_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_inbox_refuses_a_user_without_a_role(db):
    response = _client(UserFactory(username="norole")).get(reverse("notifications:inbox"))

    assert response.status_code == 403


# Mark read ------------------------------------------------------------------------------


def test_mark_read_redirects_back_to_the_inbox_page(reviewer, reviewer_client):
    notification = NotificationFactory(recipient=reviewer)

    response = reviewer_client.post(
        reverse("notifications:mark_read", args=[notification.pk]), {"page": "2"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox") + "?page=2"
    notification.refresh_from_db()
    assert notification.is_read


def test_mark_read_over_htmx_returns_the_list_and_tells_the_badge(reviewer, reviewer_client):
    notification = NotificationFactory(recipient=reviewer, subject="Order #9")

    response = reviewer_client.post(
        reverse("notifications:mark_read", args=[notification.pk]), **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "opsdesk:inbox-changed"
    assert b'id="inbox-list"' in response.content
    assert b"<html" not in response.content
    assert b"Nothing unread" in response.content


def test_mark_read_of_someone_elses_notification_is_not_found(reviewer_client):
    notification = NotificationFactory()

    response = reviewer_client.post(reverse("notifications:mark_read", args=[notification.pk]))

    assert response.status_code == 404
    notification.refresh_from_db()
    assert not notification.is_read


def test_mark_read_refuses_get(reviewer, reviewer_client):
    notification = NotificationFactory(recipient=reviewer)

    response = reviewer_client.get(reverse("notifications:mark_read", args=[notification.pk]))

    assert response.status_code == 405


def test_mark_read_sends_an_anonymous_visitor_to_log_in(client):
    notification = NotificationFactory()

    response = client.post(reverse("notifications:mark_read", args=[notification.pk]))

    assert response.status_code == 302
    notification.refresh_from_db()
    assert not notification.is_read


def test_mark_all_read_marks_everything_and_says_how_many(reviewer, reviewer_client):
    NotificationFactory.create_batch(3, recipient=reviewer)

    response = reviewer_client.post(reverse("notifications:mark_all_read"), follow=True)

    assert "Marked 3 notifications read." in response.content.decode()
    assert not reviewer.notifications.filter(read_at__isnull=True).exists()


def test_mark_all_read_over_htmx_triggers_the_badge(reviewer, reviewer_client):
    NotificationFactory(recipient=reviewer)

    response = reviewer_client.post(reverse("notifications:mark_all_read"), **HTMX)

    assert response["HX-Trigger"] == "opsdesk:inbox-changed"


# Badge ----------------------------------------------------------------------------------


def test_badge_is_empty_with_nothing_unread(reviewer, reviewer_client):
    NotificationFactory(recipient=reviewer, read_at=timezone.now())

    response = reviewer_client.get(reverse("notifications:unread_badge"), **HTMX)

    assert response.status_code == 200
    assert response.content == b""


def test_badge_shows_the_unread_count(reviewer, reviewer_client):
    NotificationFactory.create_batch(3, recipient=reviewer)

    response = reviewer_client.get(reverse("notifications:unread_badge"), **HTMX)

    text = " ".join(response.content.decode().split())
    assert "badge" in text
    assert "> 3 <span" in text


def test_badge_caps_the_count(reviewer, reviewer_client):
    NotificationFactory.create_batch(100, recipient=reviewer, process=ProcessFactory())

    response = reviewer_client.get(reverse("notifications:unread_badge"))

    assert b"99+" in response.content


def test_badge_refuses_an_anonymous_visitor(client):
    response = client.get(reverse("notifications:unread_badge"))

    assert response.status_code == 302


# Preferences ----------------------------------------------------------------------------


def test_preferences_lists_every_process_with_the_current_choice(reviewer, reviewer_client):
    process = ProcessFactory(name="Gift wrapping")
    NotificationPreference.objects.create(user=reviewer, process=process, mode="digest")

    response = reviewer_client.get(reverse("notifications:preferences"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form[f"process_{process.pk}"].initial == "digest"
    assert "Gift wrapping" in response.content.decode()


def test_preferences_post_saves_and_says_so(reviewer, reviewer_client):
    first, second = ProcessFactory.create_batch(2)
    response = reviewer_client.get(reverse("notifications:preferences"))
    data = {name: field.initial for name, field in response.context["form"].fields.items()}
    data[f"process_{first.pk}"] = "none"
    data[f"process_{second.pk}"] = "digest"

    response = reviewer_client.post(reverse("notifications:preferences"), data, follow=True)

    assert "Your notification settings are saved." in response.content.decode()
    saved = dict(reviewer.notification_preferences.values_list("process", "mode"))
    assert saved[first.pk] == "none"
    assert saved[second.pk] == "digest"


def test_preferences_post_with_an_unknown_choice_shows_the_error_and_saves_nothing(
    reviewer, reviewer_client
):
    process = ProcessFactory()

    response = reviewer_client.post(
        reverse("notifications:preferences"), {f"process_{process.pk}": "weekly"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not NotificationPreference.objects.exists()


def test_preferences_refuse_an_anonymous_visitor(client):
    assert client.get(reverse("notifications:preferences")).status_code == 302


# Mail test ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_mail_test_sends_and_records_for_admin_and_owner(role, mailoutbox):
    admin = UserFactory(username=f"boss-{role}".replace(" ", "-").lower(), roles=[role])

    response = _client(admin).post(
        reverse("notifications:mail_test"), {"to": "me@example.com"}, follow=True
    )

    assert "Test message sent to me@example.com" in response.content.decode()
    assert [m.to for m in mailoutbox] == [["me@example.com"]]
    assert MailTest.objects.get().ok
    assert b"me@example.com" in response.content  # in the recent tests


def test_mail_test_page_offers_the_users_own_address(db):
    admin = UserFactory(username="ada", email="ada@example.com", roles=[Role.ADMIN])

    response = _client(admin).get(reverse("notifications:mail_test"))

    assert response.status_code == 200
    assert response.context["form"]["to"].initial == "ada@example.com"


def test_mail_test_reports_a_mail_server_failure(db):
    admin = UserFactory(username="ada", roles=[Role.ADMIN])

    with override_settings(MAILERS={"default": {"BACKEND": backend_path(FailingBackend)}}):
        response = _client(admin).post(
            reverse("notifications:mail_test"), {"to": "me@example.com"}, follow=True
        )

    assert "was not sent" in response.content.decode()
    assert MailTest.objects.get().ok is False


def test_mail_test_with_a_malformed_address_shows_the_error(db, mailoutbox):
    admin = UserFactory(username="ada", roles=[Role.ADMIN])

    response = _client(admin).post(reverse("notifications:mail_test"), {"to": "nope"})

    assert response.status_code == 200
    assert response.context["form"].errors["to"]
    assert mailoutbox == []
    assert not MailTest.objects.exists()


def test_mail_test_refuses_other_roles(reviewer_client, mailoutbox):
    response = reviewer_client.post(reverse("notifications:mail_test"), {"to": "me@example.com"})

    assert response.status_code == 403
    assert mailoutbox == []
    assert not MailTest.objects.exists()


def test_mail_test_sends_an_anonymous_visitor_to_log_in(client):
    assert client.get(reverse("notifications:mail_test")).status_code == 302
