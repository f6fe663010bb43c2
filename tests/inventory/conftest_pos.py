"""Helpers of the POS sync and receiving tests: locations named as in the POS, variants made in
bulk, and POS files (Square's item library export and the plain CSV) built in memory.

Fixtures here are imported by the test modules that use them (`from tests.inventory.conftest_pos
import ...`), so pytest finds them there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product, Variant
from inventory.models import Location, StockLevel, StockMovement
from tests.catalog.factories import VendorFactory

MAIN = "Main Street Store"
HARBOUR = "Harbour Store"
WAREHOUSE = "Warehouse"

# Square's item library export, as it comes (a subset of its columns, in its order).
SQUARE_LEADING = [
    "Token",
    "Item Name",
    "Variation Name",
    "SKU",
    "Description",
    "Category",
    "GTIN",
    "Square Online Item Visibility",
    "Weight (lb)",
    "Price",
    "Sellable",
    "Stockable",
    "Archived",
    "Option Name 1",
    "Option Value 1",
    "Default Unit Cost",
    "Default Vendor Name",
    "Default Vendor Code",
]


@pytest.fixture
def pos_processes(db):
    """The processes receiving and the POS sync touch. Seeded by a migration, but a
    transaction=True test empties every table when it ends."""
    from django.contrib.auth.models import Group

    from opsdesk.core.roles import Role
    from opsdesk.processes.models import Process

    processes = {}
    for key, name, role in [
        ("receiving", "Receiving", Role.INVENTORY),
        ("out_of_stock", "Out-of-stock handling", Role.INVENTORY),
        ("pos_sync", "POS stock sync", Role.INVENTORY),
        ("web_ready_data", "Web-ready data entry", Role.CONTENT_EDITOR),
    ]:
        group, _ = Group.objects.get_or_create(name=role)
        processes[key], _ = Process.objects.get_or_create(
            key=key, defaults={"name": name, "owner_role": group, "target_minutes": 24 * 60}
        )
    return processes


@pytest.fixture
def media_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def pos_locations(db) -> dict[str, Location]:
    """The store's two shops and its warehouse, named as the POS names them."""
    return {
        MAIN: Location.objects.create(
            name=MAIN, kind=Location.Kind.STORE, is_pickup=True, web_priority=10
        ),
        HARBOUR: Location.objects.create(
            name=HARBOUR, kind=Location.Kind.STORE, is_pickup=True, web_priority=20
        ),
        WAREHOUSE: Location.objects.create(
            name=WAREHOUSE, kind=Location.Kind.WAREHOUSE, web_priority=5
        ),
    }


def variants_bulk(
    count: int, *, prefix: str = "SKU", price: Decimal = Decimal("10.00"), start: int = 0
) -> list[Variant]:
    """`count` active products with one variant each (SKU-000000 ...), made in a few queries."""
    vendor = VendorFactory(name="Bulk Vendor")
    products = Product.objects.bulk_create(
        [
            Product(
                title=f"Item {n}",
                description="<p>Written by the web team.</p>",
                status=Product.Status.ACTIVE,
                vendor=vendor,
            )
            for n in range(start, start + count)
        ],
        batch_size=5000,
    )
    return Variant.objects.bulk_create(
        [
            Variant(product=product, sku=f"{prefix}-{n:06d}", retail_price=price)
            for n, product in zip(range(start, start + count), products, strict=True)
        ],
        batch_size=5000,
    )


def levels_bulk(variants: Sequence[Variant], location: Location, on_hand: int) -> None:
    """Stock with its opening movement, in bulk (as if received), so the ledger matches."""
    StockLevel.objects.bulk_create(
        [StockLevel(variant=v, location=location, on_hand=on_hand) for v in variants],
        batch_size=5000,
    )
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                variant=v,
                location=location,
                kind=StockMovement.Kind.RECEIVE,
                on_hand_delta=on_hand,
                reason="Opening stock",
            )
            for v in variants
        ],
        batch_size=5000,
    )


def square_csv(rows: Iterable[dict], locations: Sequence[str], *, bom: bool = True) -> str:
    """A Square item library export: rows give SKU, Item Name, Price, quantities {location: n}
    and optionally any other column by its header name."""
    header = list(SQUARE_LEADING)
    for name in locations:
        header += [
            f"Enabled {name}",
            f"Current Quantity {name}",
            f"New Quantity {name}",
            f"Stock Alert Enabled {name}",
            f"Stock Alert Count {name}",
        ]
    header.append("Tax - Sales Tax (8.875%)")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows):
        record = dict.fromkeys(header, "")
        record.update(
            {
                "Token": f"TOKEN{n:08d}",
                "Variation Name": "Regular",
                "Description": "POS description, never copied to the web",
                "Square Online Item Visibility": "visible",
                "Sellable": "Y",
                "Stockable": "Y",
                "Archived": "N",
                "Tax - Sales Tax (8.875%)": "Y",
            }
        )
        for name in locations:
            record[f"Enabled {name}"] = "Y"
        quantities = row.get("quantities", {})
        for name, value in quantities.items():
            record[f"Current Quantity {name}"] = str(value)
        record.update({k: v for k, v in row.items() if k != "quantities"})
        writer.writerow([record[h] for h in header])
    text = out.getvalue()
    return ("\ufeff" + text) if bom else text


def plain_csv(
    rows: Iterable[Sequence], header: Sequence[str] = ("sku", "location", "quantity", "price")
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def upload(text: str | bytes, name: str = "items.csv") -> SimpleUploadedFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def square_rows(variants: Sequence[Variant], locations: Sequence[str], quantity=7) -> list[dict]:
    return [
        {
            "SKU": v.sku,
            "Item Name": f"POS {v.sku}",
            "Price": str(v.retail_price),
            "quantities": dict.fromkeys(locations, quantity),
        }
        for v in variants
    ]
