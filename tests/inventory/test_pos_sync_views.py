"""POS sync pages: upload, progress, preview, apply, the differences export (R26)."""

import csv
import io

import pytest
from django.urls import reverse

from inventory import tasks_pos
from inventory.models import PosSyncRun, StockLevel
from opsdesk.core.csvsafe import csv_safe_cell, csv_text
from opsdesk.core.roles import Role
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import (
    HARBOUR,
    MAIN,
    levels_bulk,
    plain_csv,
    square_csv,
    upload,
    variants_bulk,
)

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture
media_tmp = conftest_pos.media_tmp  # a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_tmp", "pos_processes")]


@pytest.fixture
def clerk_client(staff_client_for):
    return staff_client_for(Role.INVENTORY, username="ines")


@pytest.fixture
def worker(monkeypatch):
    """The Celery tasks run at once, in this process, when enqueued (after commit)."""
    monkeypatch.setattr(
        tasks_pos.pos_sync_preview_task,
        "delay",
        lambda run_id: tasks_pos.pos_sync_preview_task(run_id),
    )
    monkeypatch.setattr(
        tasks_pos.pos_sync_apply_task,
        "delay",
        lambda run_id, actor_id: tasks_pos.pos_sync_apply_task(run_id, actor_id),
    )


@pytest.fixture
def tees(pos_locations):
    variants = variants_bulk(2, prefix="TEE")
    levels_bulk(variants, pos_locations[MAIN], 5)
    return variants


def post_file(client, text, fmt="square", name="library.csv"):
    return client.post(
        reverse("inventory:pos_sync_list"), {"file": upload(text, name), "format": fmt}
    )


def test_upload_preview_apply_and_see_the_stock(
    clerk_client, tees, worker, django_capture_on_commit_callbacks
):
    text = square_csv(
        [
            {"SKU": "TEE-000000", "Item Name": "Tee", "Price": "10.00", "quantities": {MAIN: 9}},
            {"SKU": "TEE-000001", "Item Name": "Tee", "Price": "14.00", "quantities": {MAIN: 5}},
        ],
        [MAIN],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(clerk_client, text)
    run = PosSyncRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:pos_sync_detail", args=[run.pk])

    page = clerk_client.get(response["Location"]).content.decode()
    assert 'data-status="previewed"' in page
    assert 'data-count="quantity_changes">1<' in page
    assert 'data-count="price_changes">1<' in page
    assert "Apply to opsdesk" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(reverse("inventory:pos_sync_apply", args=[run.pk]))
    page = " ".join(clerk_client.get(response["Location"]).content.decode().split())
    assert 'data-status="applied"' in page
    assert "Applied: 1 stock level set, 1 price changed" in page
    assert 'data-sku="TEE-000000" data-location="Main Street Store"' in page
    level = StockLevel.objects.get(variant=tees[0], location__name=MAIN)
    assert level.on_hand == 9
    run.refresh_from_db()
    assert run.status == PosSyncRun.Status.APPLIED


def test_while_reading_the_page_polls_its_progress(clerk_client, tees):
    post_file(clerk_client, plain_csv([["TEE-000000", MAIN, 1, ""]]), fmt="plain")
    run = PosSyncRun.objects.get()
    PosSyncRun.objects.filter(pk=run.pk).update(
        status=PosSyncRun.Status.PREVIEWING, rows_done=400, rows_total=1000
    )
    page = clerk_client.get(reverse("inventory:pos_sync_detail", args=[run.pk])).content.decode()
    progress_url = reverse("inventory:pos_sync_progress", args=[run.pk])
    assert f'hx-get="{progress_url}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert '<progress class="w-100"' in page
    assert 'value="400"' in page

    fragment = clerk_client.get(progress_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "400 of 1,000 rows" in fragment.content.decode()

    PosSyncRun.objects.filter(pk=run.pk).update(status=PosSyncRun.Status.PREVIEWED)
    done = clerk_client.get(progress_url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"


def test_a_refused_file_shows_row_column_and_reason(
    clerk_client, tees, worker, django_capture_on_commit_callbacks
):
    text = plain_csv([["TEE-000000", MAIN, 1, ""], ["TEE-000001", "Moon Base", 2, ""]])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(clerk_client, text, fmt="plain")
    page = clerk_client.get(response["Location"]).content.decode()
    assert "The file was refused; nothing changed." in page
    assert "<strong data-error-row>3</strong>" in page
    assert "<strong data-error-column>location</strong>" in page
    assert "Moon Base" in page
    assert "Apply to opsdesk" not in page


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("library.xlsx", b"PK\x03\x04" + b"\x00" * 64, "spreadsheet workbook"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a text file"),
    ],
)
def test_a_non_text_upload_is_refused_on_the_form(clerk_client, pos_locations, name, data, says):
    response = clerk_client.post(
        reverse("inventory:pos_sync_list"), {"file": upload(data, name), "format": "square"}
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not PosSyncRun.objects.exists()


def test_an_oversize_upload_is_refused_on_the_form(clerk_client, pos_locations, settings):
    big = b"sku,location,quantity\n" + b"A-1,Main Street Store,1\n" * 900_000
    response = clerk_client.post(
        reverse("inventory:pos_sync_list"), {"file": upload(big), "format": "plain"}
    )
    assert "the limit is 20 MB" in response.content.decode()
    assert not PosSyncRun.objects.exists()


def test_the_differences_export_neutralises_formula_cells(
    clerk_client, tees, worker, django_capture_on_commit_callbacks
):
    evil = [
        '=HYPERLINK("http://x.example","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
    ]
    rows = [
        {"SKU": f"NEW-{n}", "Item Name": name, "Price": "1.00", "quantities": {HARBOUR: 1}}
        for n, name in enumerate(evil)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        post_file(clerk_client, square_csv(rows, [HARBOUR]))
    run = PosSyncRun.objects.get()
    export = clerk_client.get(reverse("inventory:pos_sync_export", args=[run.pk]))
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    text = export.content.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    names = {r[3] for r in records[1:] if r[0] == "new SKU"}
    assert names == {"'" + name for name in evil}
    for record in records:
        for cell in record:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_csvsafe_leaves_numbers_and_plain_text_alone():
    assert csv_safe_cell(-5) == -5
    assert csv_safe_cell("Blue mug") == "Blue mug"
    assert csv_safe_cell("=1+1") == "'=1+1"
    assert csv_safe_cell("\tTab") == "'\tTab"
    assert csv_safe_cell("\rCR") == "'\rCR"
    assert csv_safe_cell("-5") == "'-5"
    assert csv_text(["a", "b"], [["=x", 3]]) == "a,b\r\n'=x,3\r\n"


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.CUSTOMER_SERVICE, Role.CONTENT_EDITOR])
def test_other_roles_are_refused(staff_client_for, tees, role):
    client = staff_client_for(role)
    assert client.get(reverse("inventory:pos_sync_list")).status_code == 403
    response = client.post(
        reverse("inventory:pos_sync_list"),
        {"file": upload(plain_csv([["TEE-000000", MAIN, 1, ""]])), "format": "plain"},
    )
    assert response.status_code == 403
    assert not PosSyncRun.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OWNER, Role.ADMIN])
def test_oversight_roles_may_sync(staff_client_for, pos_locations, role):
    assert staff_client_for(role).get(reverse("inventory:pos_sync_list")).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get(reverse("inventory:pos_sync_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_applying_a_refused_file_is_refused(
    clerk_client, tees, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_file(clerk_client, "sku,quantity\nA,1\n", fmt="plain")
    run = PosSyncRun.objects.get()
    response = clerk_client.post(reverse("inventory:pos_sync_apply", args=[run.pk]), follow=True)
    assert "only a previewed file is applied" in response.content.decode()
