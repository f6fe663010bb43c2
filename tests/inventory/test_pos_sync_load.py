"""R26: a 50,000-row Square export is applied in under 60 s (bench/pos_sync.py times it closer).

The SKUs and their (empty) stock levels are copied in first, as the bench does: with
bulk_create the setup alone would take longer than the sync. The apply's time includes its
commit.
"""

import time
from decimal import Decimal

import pytest

from catalog.models import Product, Variant, Vendor
from inventory.models import PosSyncRun, StockLevel, StockMovement
from inventory.services.pos_sync import (
    pos_sync_apply,
    pos_sync_apply_start,
    pos_sync_preview,
    pos_sync_run_create,
)
from opsdesk.core.bulk import insert_many
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import HARBOUR, MAIN, WAREHOUSE, square_csv, upload
from tests.inventory.support import ledger_problems

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture
media_tmp = conftest_pos.media_tmp  # a fixture

# Committed for real: PostgreSQL checks the movements' foreign keys when the apply commits,
# a good part of its cost, which a test rolled back at its end would never pay.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("media_tmp", "pos_processes"),
]

ROWS = 50_000
LIMIT_SECONDS = 60


@pytest.fixture
def big_catalog(pos_locations):
    vendor = Vendor.objects.create(name="Load Vendor")
    insert_many(
        Product,
        ["title"],
        ((f"Load item {n}",) for n in range(ROWS)),
        same={"status": Product.Status.ACTIVE, "vendor_id": vendor.pk},
    )
    product_ids = Product.objects.filter(vendor=vendor).order_by("pk").values_list("pk", flat=True)
    insert_many(
        Variant,
        ["product_id", "sku"],
        ((pid, f"LOAD-{n:06d}") for n, pid in enumerate(product_ids)),
        same={"retail_price": Decimal("10.00")},
    )
    variant_ids = list(Variant.objects.order_by("sku").values_list("pk", flat=True))
    insert_many(
        StockLevel,
        ["variant_id", "location_id"],
        ((v, location.pk) for location in pos_locations.values() for v in variant_ids),
    )
    return variant_ids


def test_a_50000_row_file_is_applied_in_under_60_seconds(big_catalog):
    locations = [MAIN, HARBOUR, WAREHOUSE]
    rows = (
        {
            "SKU": f"LOAD-{n:06d}",
            "Item Name": f"Load item {n}",
            "Price": "12.00" if n % 10 == 0 else "10.00",
            "quantities": {name: (n + i) % 25 + 1 for i, name in enumerate(locations)},
        }
        for n in range(ROWS)
    )
    run = pos_sync_run_create(
        upload=upload(square_csv(rows, locations)), format="square", actor=None, enqueue=False
    )
    run = pos_sync_preview(run_id=run.pk)
    assert run.status == PosSyncRun.Status.PREVIEWED, run.error_message
    assert run.preview["counts"]["quantity_changes"] == 3 * ROWS

    pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)
    started = time.monotonic()
    run = pos_sync_apply(run_id=run.pk)
    seconds = time.monotonic() - started

    assert run.status == PosSyncRun.Status.APPLIED, run.error_message
    assert seconds < LIMIT_SECONDS, f"applied in {seconds:.1f} s"
    assert StockMovement.objects.filter(kind="pos_sync").count() == 3 * ROWS
    assert run.preview["applied"]["price_changes"] == ROWS // 10
    sample = big_catalog[::997]
    assert ledger_problems(sample) == []
    level = StockLevel.objects.get(variant__sku="LOAD-000007", location__name=HARBOUR)
    assert level.on_hand == (7 + 1) % 25 + 1
