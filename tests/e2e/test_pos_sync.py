"""In a real browser: a Square export is uploaded, previewed and applied, and the page shows the
new stock; while a file is read, the page polls its progress and shows the preview when done.

The Celery tasks run eagerly here (CELERY_TASK_ALWAYS_EAGER): the live server has no worker
beside it, and the point is the pages, not the broker, whose wiring the integration tests
cover. Eager tasks still run after the commit of the request that enqueued them.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import PosSyncRun, StockLevel
from opsdesk.core.roles import Role
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import HARBOUR, MAIN, levels_bulk, square_csv, variants_bulk

pytestmark = pytest.mark.django_db(transaction=True)

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture
media_tmp = conftest_pos.media_tmp  # a fixture


@pytest.fixture
def eager_celery(settings):
    from opsdesk.celery import app

    # Read before the setting changes: Celery loads its configuration from the Django settings
    # on first use, and would otherwise remember True as the value to restore.
    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def shop(pos_locations, pos_processes, media_tmp, role_user):
    role_user(Role.INVENTORY, username="ines", first_name="Ines", last_name="Inventory")
    tees = variants_bulk(2, prefix="TEE", price=Decimal("20.00"))
    levels_bulk(tees, pos_locations[MAIN], 5)
    return tees


def test_upload_preview_apply_and_see_the_stock_change(
    page, live_server, console_errors, browser_login, role_user_password, shop, eager_celery
):
    export = square_csv(
        [
            {
                "SKU": "TEE-000000",
                "Item Name": "Tee",
                "Price": "20.00",
                "quantities": {MAIN: 9, HARBOUR: 4},
            },
            {
                "SKU": "TEE-000001",
                "Item Name": "Tee",
                "Price": "22.50",
                "quantities": {MAIN: 5, HARBOUR: 0},
            },
            {
                "SKU": "NEW-1",
                "Item Name": "Tote bag",
                "Price": "15.00",
                "quantities": {MAIN: 3, HARBOUR: 1},
            },
        ],
        [MAIN, HARBOUR],
    )
    browser_login(page, "ines", role_user_password)
    page.goto("/inventory/pos/")
    page.get_by_label("POS file").set_input_files(
        files=[{"name": "library.csv", "mimeType": "text/csv", "buffer": export.encode()}]
    )
    page.get_by_label("Square item library export").check()
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator("#run-status")).to_have_attribute("data-status", "previewed")
    expect(page.locator('[data-count="quantity_changes"]')).to_have_text("4")
    expect(page.locator('[data-count="price_changes"]')).to_have_text("1")
    expect(page.locator('[data-count="new_skus"]')).to_have_text("1")
    change = page.locator(
        '#quantity-changes tr[data-sku="TEE-000000"][data-location="Main Street Store"]'
    )
    expect(change).to_contain_text("5")
    expect(change).to_contain_text("9")
    assert StockLevel.objects.get(variant=shop[0], location__name=MAIN).on_hand == 5

    page.get_by_role("button", name="Apply to opsdesk").click()

    expect(page.locator("#run-status")).to_have_attribute("data-status", "applied")
    expect(page.locator("#run-applied")).to_contain_text("4 stock levels set")
    now = page.locator('#stock-now tr[data-sku="TEE-000000"][data-location="Main Street Store"]')
    expect(now.locator("[data-on-hand]")).to_have_text("9")
    harbour = page.locator('#stock-now tr[data-sku="NEW-1"][data-location="Harbour Store"]')
    expect(harbour.locator("[data-on-hand]")).to_have_text("1")
    assert console_errors == []


def test_the_page_polls_while_a_file_is_read_then_shows_the_preview(
    page, live_server, console_errors, browser_login, role_user_password, shop
):
    run = PosSyncRun.objects.create(
        format="square", status=PosSyncRun.Status.PREVIEWING, rows_done=300, rows_total=1000
    )
    browser_login(page, "ines", role_user_password)
    page.goto(f"/inventory/pos/{run.pk}/")
    progress = page.locator("#pos-progress progress")
    expect(progress).to_have_attribute("value", "300")

    PosSyncRun.objects.filter(pk=run.pk).update(rows_done=800)
    expect(progress).to_have_attribute("value", "800")

    PosSyncRun.objects.filter(pk=run.pk).update(
        status=PosSyncRun.Status.PREVIEWED,
        rows_done=1000,
        preview={"counts": {"rows": 1000, "quantity_changes": 0}, "shown": 500},
    )
    expect(page.locator("#run-status")).to_have_attribute("data-status", "previewed")
    expect(page.get_by_role("button", name="Apply to opsdesk")).to_be_visible()
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_eager_celery_is_switched_off_again_afterwards():
    # Runs after the tests above in this module: later tests rely on a real broker.
    from opsdesk.celery import app

    assert app.conf.task_always_eager is False
