from datetime import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from opsdesk.core.roles import Role
from opsdesk.processes.models import Shift, ShiftChange, WorkItem
from tests.processes.factories import ShiftFactory, UserFactory, WorkItemFactory, process

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada", roles=[Role.ADMIN]))
    return client


@pytest.fixture
def reviewer(client):
    user = UserFactory(username="rita", roles=[Role.ORDER_REVIEWER])
    client.force_login(user)
    return user


def test_process_list_marks_processes_without_people(admin_client):
    response = admin_client.get(reverse("processes:list"))
    assert response.status_code == 200
    assert "15 without a primary or backup" in response.text
    assert response.text.count('title="Nobody assigned"') == 15


def test_procedure_is_rendered_sanitized(admin_client):
    review = process("order_review")
    review.procedure = "**Check** <script>alert(1)</script> [site](https://example.com)"
    review.save()
    response = admin_client.get(review.get_absolute_url())
    assert "<strong>Check</strong>" in response.text
    assert "<script>alert(1)" not in response.text
    assert 'rel="noopener noreferrer"' in response.text


def test_procedure_page_is_for_the_process_staff(client):
    outsider = UserFactory(username="finn", roles=[Role.FULFILLMENT])
    client.force_login(outsider)
    response = client.get(process("order_review").get_absolute_url())
    assert response.status_code == 403
    assert "Read every rule" not in response.text
    assert client.get(process("pick_pack_ship").get_absolute_url()).status_code == 200


def test_edit_assignment_saves_and_flashes(admin_client):
    a = UserFactory(username="amy", roles=[Role.ORDER_REVIEWER])
    b = UserFactory(username="ben", roles=[Role.ORDER_REVIEWER])
    url = reverse("processes:edit", kwargs={"key": "order_review"})
    response = admin_client.post(
        url,
        {"a-primary": a.pk, "a-backup": b.pk, "a-assignees": [a.pk], "save_assignment": ""},
        follow=True,
    )
    assert "Saved who handles Order review." in response.text
    review = process("order_review")
    assert (review.primary, review.backup) == (a, b)


def test_edit_assignment_with_same_primary_and_backup_is_refused(admin_client):
    a = UserFactory(username="amy", roles=[Role.ORDER_REVIEWER])
    url = reverse("processes:edit", kwargs={"key": "order_review"})
    response = admin_client.post(url, {"a-primary": a.pk, "a-backup": a.pk, "save_assignment": ""})
    assert response.status_code == 200
    assert "The backup must be someone other than the primary." in response.text
    assert "Nothing was saved" in response.text
    assert process("order_review").primary is None


def test_edit_procedure_with_bad_target_names_the_field(admin_client):
    url = reverse("processes:edit", kwargs={"key": "order_review"})
    response = admin_client.post(
        url, {"p-target_minutes": "soon", "p-procedure": "x", "save_procedure": ""}
    )
    assert "Enter a whole number." in response.text
    assert process("order_review").procedure != "x"


def test_edit_is_refused_to_a_reviewer(client, reviewer):
    url = reverse("processes:edit", kwargs={"key": "order_review"})
    assert client.get(url).status_code == 403
    assert client.post(url, {"a-primary": reviewer.pk, "save_assignment": ""}).status_code == 403
    assert process("order_review").primary is None


def test_shifts_page_adds_a_shift_for_a_manager(client):
    manager = UserFactory(username="max", roles=[Role.MANAGER])
    client.force_login(manager)
    response = client.post(
        reverse("processes:shifts"),
        {
            "s-user": manager.pk,
            "s-weekday": 2,
            "s-start": "09:00",
            "s-end": "13:00",
            "add_shift": "",
        },
        follow=True,
    )
    assert "Added the shift to the weekly roster." in response.text
    assert Shift.objects.filter(user=manager, weekday=2).exists()
    assert "09:00–13:00" in response.text


def test_shifts_page_refuses_a_bad_shift_with_the_reason(client):
    manager = UserFactory(username="max", roles=[Role.MANAGER])
    client.force_login(manager)
    response = client.post(
        reverse("processes:shifts"),
        {
            "s-user": manager.pk,
            "s-weekday": 2,
            "s-start": "13:00",
            "s-end": "09:00",
            "add_shift": "",
        },
    )
    assert "The end must be after the start" in response.text
    assert not Shift.objects.exists()


def test_shifts_page_is_read_only_for_staff(client, reviewer):
    response = client.get(reverse("processes:shifts"))
    assert response.status_code == 200
    assert "Add weekly shift" not in response.text
    response = client.post(
        reverse("processes:shifts"),
        {"c-user": reviewer.pk, "c-date": "2026-12-24", "c-kind": "time_off", "add_change": ""},
    )
    assert response.status_code == 403
    assert not ShiftChange.objects.exists()


def test_shift_delete(client):
    client.force_login(UserFactory(username="max", roles=[Role.MANAGER]))
    shift = ShiftFactory(weekday=1, start=time(8), end=time(9))
    response = client.post(
        reverse("processes:shift_delete", kwargs={"shift_id": shift.pk}), follow=True
    )
    assert "Removed the shift" in response.text
    assert not Shift.objects.exists()


def test_my_work_shows_queues_and_empty_states(client, reviewer):
    review = process("order_review")
    review.primary = reviewer
    review.save()
    WorkItemFactory(process=review, title="Order #1042")
    response = client.get(reverse("processes:my_work"))
    assert "Order #1042" in response.text
    bookkeeper = UserFactory(username="bea", roles=[Role.BOOKKEEPER])
    books = process("bookkeeping")
    books.primary = bookkeeper
    books.save()
    client.force_login(bookkeeper)
    response = client.get(reverse("processes:my_work"))
    assert "Periods to check, export and close will appear here." in response.text


def test_my_work_runs_a_fixed_number_of_queries(client, reviewer, django_assert_max_num_queries):
    review = process("order_review")
    review.primary = reviewer
    review.save()
    WorkItemFactory.create_batch(3, process=review)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("processes:my_work"))
    WorkItemFactory.create_batch(20, process=review)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("processes:my_work"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_claim_and_done_from_the_queue(client, reviewer):
    item = WorkItemFactory(title="Order #7")
    response = client.post(
        reverse("processes:work_item_claim", kwargs={"item_id": item.pk}),
        {"next": "/"},
        follow=True,
    )
    assert "You claimed “Order #7”." in response.text
    response = client.post(
        reverse("processes:work_item_done", kwargs={"item_id": item.pk}),
        {"next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("processes:my_work")
    item.refresh_from_db()
    assert item.claimed_by == reviewer and item.status == WorkItem.Status.DONE
    response = client.post(
        reverse("processes:work_item_done", kwargs={"item_id": item.pk}), follow=True
    )
    assert "already closed" in response.text


def test_mark_reviewed(client):
    client.force_login(UserFactory(username="olga", roles=[Role.OWNER]))
    response = client.post(
        reverse("processes:mark_reviewed", kwargs={"key": "pos_sync"}), follow=True
    )
    assert "Recorded a review of POS stock sync." in response.text
    assert process("pos_sync").last_reviewed_at is not None


def test_readiness_page_lists_failing_checks_with_fix_links(admin_client):
    response = admin_client.get(reverse("processes:readiness"))
    assert response.status_code == 200
    assert 'data-check="process-people"' in response.text
    assert 'data-ok="false"' in response.text
    assert reverse("processes:edit", kwargs={"key": "order_review"}) in response.text


def test_launch_check_command_fails_on_an_empty_store(capsys):
    with pytest.raises(CommandError, match="Not ready"):
        call_command("launch_check")
    out = capsys.readouterr().out
    assert "FAIL  Every process has a primary and a backup" in out


def test_search_finds_processes_and_items(client, reviewer):
    WorkItemFactory(title="Order #5150 for Dana")
    response = client.get(reverse("processes:search"), {"q": "5150"})
    assert "Order #5150 for Dana" in response.text
    response = client.get(reverse("processes:search"), {"q": "vendor"})
    assert "Drop ship" in response.text
