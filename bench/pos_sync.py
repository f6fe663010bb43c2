"""Time the POS sync of a large Square item library export: preview, then apply.

    DATABASE_URL=postgres://... .venv/bin/python bench/pos_sync.py [--rows 50000] [--locations 3]

Builds a throwaway test database (test_<name>), creates the SKUs in bulk with stock at every
location, writes a Square export of `--rows` items where every count (or the share given by
`--changed`) and a tenth of the prices differ, then runs the preview and the apply as the
Celery tasks do (in this process) and prints seconds, rows per second and the CPU time used
here and by PostgreSQL. Target on a 2-core machine: both under 20 s for 50,000 rows. Prints
figures; asserts nothing.
"""

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings_test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="items in the export")
    parser.add_argument("--locations", type=int, default=3, help="locations in the export")
    parser.add_argument(
        "--changed",
        type=float,
        default=1.0,
        help="share of counts that differ (1.0, the default: all, as in a first sync)",
    )
    args = parser.parse_args()

    import tempfile

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        with tempfile.TemporaryDirectory() as media:
            settings.MEDIA_ROOT = media
            run(args)
    finally:
        teardown_databases(old, verbosity=0)


def square_export(skus: list[str], locations: list[str], changed: float) -> bytes:
    header = ["Token", "Item Name", "Variation Name", "SKU", "Description", "Category", "GTIN"]
    header += ["Price", "Sellable", "Stockable", "Archived"]
    for name in locations:
        header += [f"Enabled {name}", f"Current Quantity {name}", f"New Quantity {name}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    differ = round(changed * 100)
    for n, sku in enumerate(skus):
        # One price in ten differs; `changed` of the counts (opsdesk has 100 of each).
        price = "12.50" if n % 10 == 0 else "10.00"
        row = [f"T{n:09d}", f"Item {n}", "Regular", sku, "", "Bench", "", price, "Y", "Y", "N"]
        for i, _ in enumerate(locations):
            count = (n + i) % 40 if (n + i) % 100 < differ else 100
            row += ["Y", str(count), ""]
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode()


def run(args) -> None:
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.models import Product, Variant, Vendor
    from inventory.models import Location, PosSyncRun, StockLevel, StockMovement
    from inventory.services.pos_sync import (
        pos_sync_apply,
        pos_sync_apply_start,
        pos_sync_preview,
        pos_sync_run_create,
    )
    from opsdesk.core.bulk import insert_many

    started = time.perf_counter()
    names = ["Main Street Store", "Harbour Store", "Warehouse", "Airport Kiosk", "Outlet"]
    locations = [
        Location.objects.create(
            name=name,
            kind=Location.Kind.WAREHOUSE if name == "Warehouse" else Location.Kind.STORE,
            web_priority=10 * (i + 1),
        )
        for i, name in enumerate(names[: args.locations])
    ]
    vendor = Vendor.objects.create(name="Bench Vendor")
    # Copied in (the sync's own bulk writer), as bulk_create takes minutes at this size.
    insert_many(
        Product,
        ["title"],
        ((f"Bench item {n}",) for n in range(args.rows)),
        same={"status": Product.Status.ACTIVE, "vendor_id": vendor.pk},
    )
    product_ids = Product.objects.filter(vendor=vendor).order_by("pk").values_list("pk", flat=True)
    insert_many(
        Variant,
        ["product_id", "sku"],
        ((pid, f"BENCH-{n:07d}") for n, pid in enumerate(product_ids)),
        same={"retail_price": Decimal("10.00")},
    )
    variants = list(Variant.objects.filter(sku__startswith="BENCH-").order_by("sku"))
    pairs = [(v.pk, loc.pk) for loc in locations for v in variants]
    insert_many(StockLevel, ["variant_id", "location_id"], pairs, same={"on_hand": 100})
    insert_many(
        StockMovement,
        ["variant_id", "location_id"],
        pairs,
        same={"kind": "receive", "on_hand_delta": 100, "reason": "Opening stock"},
    )
    data = square_export([v.sku for v in variants], [loc.name for loc in locations], args.changed)
    print(
        f"setup: {args.rows:,} SKUs at {len(locations)} locations, a {len(data) / 1e6:.1f} MB "
        f"export, in {time.perf_counter() - started:.1f} s"
    )

    run = pos_sync_run_create(
        upload=SimpleUploadedFile("square.csv", data), format="square", actor=None, enqueue=False
    )
    with Timer() as preview:
        run = pos_sync_preview(run_id=run.pk)
    assert run.status == PosSyncRun.Status.PREVIEWED, run.error_message
    counts = run.preview["counts"]

    pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)
    with Timer() as apply:
        run = pos_sync_apply(run_id=run.pk)
    assert run.status == PosSyncRun.Status.APPLIED, run.error_message

    rows = args.rows
    movements = StockMovement.objects.filter(kind="pos_sync").count()
    print(
        f"preview: {preview.seconds:6.2f} s  {rows / preview.seconds:9,.0f} rows/s  {preview.cpu}"
        f"   ({counts['quantity_changes']:,} quantity changes, {counts['price_changes']:,} prices)"
    )
    print(
        f"apply:   {apply.seconds:6.2f} s  {rows / apply.seconds:9,.0f} rows/s  {apply.cpu}"
        f"   ({movements:,} movements written)"
    )
    print(
        "(cpu: seconds of CPU this process and its PostgreSQL backend used; on a busy "
        "machine their sum is closer to what an idle one takes than the wall time)"
    )


def _backend_cpu() -> float | None:
    """CPU seconds the PostgreSQL backend of this connection has used, when it runs here."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timer:
    def __enter__(self) -> "Timer":
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.backend_started = _backend_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        python = time.process_time() - self.cpu_started
        backend = _backend_cpu()
        if backend is None or self.backend_started is None:
            self.cpu = f"cpu {python:5.2f} s here"
        else:
            postgres = backend - self.backend_started
            self.cpu = f"cpu {python:5.2f} s here + {postgres:5.2f} s postgres"


if __name__ == "__main__":
    main()
