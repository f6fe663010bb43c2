"""The demo store's inventory: locations, opening stock, purchase orders, a sample POS export.

`seed_inventory()` runs after catalog.demo.seed_catalog and is idempotent: a location, a stock
level or a purchase order that exists is left alone. Stock goes in through `stock_receive`
(so the movement ledger matches) and the purchase orders through the receiving services.

The sample Square export, inventory/demo/square-item-library-sample.csv, is what the stores'
Square account would export for the demo catalog (made by `square_sample_text()` from the
seeded data, columns as Square writes them; regenerate it with
`manage.py shell -c "from inventory.demo import *; SAMPLE_PATH.write_text(square_sample_text())"`
after seeding). Uploaded on the POS sync page, its preview shows:
- 42 quantity differences: about one SKU in five sold a unit at Main Street Store since the
  last sync, and the first card, CD-0078, counts 0 at Harbour Store;
- 3 price differences: MG-0037-1 and MG-0037-2 cost 19.00 at the till (18.00 on the web),
  CN-0049 costs 24.00 (26.00);
- 1 new SKU, GC-0001 "Gift card holder", which becomes a draft in the data-entry queue;
- the catalog's drafts as "missing from the POS" (not on sale yet).
Only the two stores are in Square: not the warehouse, and not the drop-ship vendor's items
(their store counts are empty, "not tracked"), nor archived items.
"""

from __future__ import annotations

import csv
import io
import zlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from catalog.models import Product, Variant, Vendor
from inventory.models import Location, PurchaseOrder, StockLevel

SAMPLE_PATH = Path(__file__).resolve().parent / "demo" / "square-item-library-sample.csv"
DEMO_REASON = "Demo opening stock"
MAIN = "Main Street Store"
HARBOUR = "Harbour Store"
WAREHOUSE = "Warehouse"
# (name, kind, pickup, web priority, address)
LOCATIONS = [
    (MAIN, Location.Kind.STORE, True, 10, "12 Main Street"),
    (HARBOUR, Location.Kind.STORE, True, 20, "3 Harbour Quay"),
    (WAREHOUSE, Location.Kind.WAREHOUSE, False, 5, "Unit 7, Riverside Industrial Estate"),
]
SQUARE_LOCATIONS = [MAIN, HARBOUR]
NEW_SKU = ("GC-0001", "Gift card holder", "4.50")


def demo_quantity(sku: str, location: str) -> int:
    """The demo's opening count of a SKU at a location: fixed, varied, some sold out."""
    spread = zlib.crc32(f"{sku}@{location}".encode())
    if spread % 11 == 0:
        return 0
    return spread % (40 if location == WAREHOUSE else 12) + 1


def _locations() -> dict[str, Location]:
    locations = {}
    for name, kind, pickup, priority, address in LOCATIONS:
        locations[name], _ = Location.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "is_pickup": pickup,
                "web_priority": priority,
                "address": address,
            },
        )
    vendor = Vendor.objects.filter(drop_ships=True).order_by("pk").first()
    if vendor is not None:
        name = f"{vendor.name} (drop ship)"
        locations[name], _ = Location.objects.get_or_create(
            name=name,
            defaults={"kind": Location.Kind.VENDOR, "vendor": vendor, "web_priority": 50},
        )
    return locations


def _opening_stock(locations: dict[str, Location]) -> int:
    from inventory.services.stock import stock_receive

    stocked = set(StockLevel.objects.values_list("variant_id", "location_id"))
    vendor_location = next(
        (loc for loc in locations.values() if loc.kind == Location.Kind.VENDOR), None
    )
    added = 0
    variants = Variant.objects.select_related("product").exclude(
        product__status=Product.Status.ARCHIVED
    )
    for variant in variants.order_by("sku"):
        drop_ship = vendor_location is not None and variant.product.vendor_id == (
            vendor_location.vendor_id
        )
        wanted = (
            {vendor_location.name: 50}
            if drop_ship
            else {name: demo_quantity(variant.sku, name) for name, *_ in LOCATIONS}
        )
        for name, units in wanted.items():
            location = locations[name]
            if units <= 0 or (variant.pk, location.pk) in stocked:
                continue
            stock_receive(
                variant_id=variant.pk,
                location_id=location.pk,
                quantity=units,
                actor=None,
                reason=DEMO_REASON,
            )
            added += 1
    return added


def _purchase_orders(locations: dict[str, Location]) -> None:
    from inventory.services.receiving import (
        LineInput,
        purchase_order_create,
        purchase_order_send,
        receipt_post,
    )

    plans = [
        ("PO-DEMO-1001", "Harbour Ceramics", MAIN, 3, "sent"),
        ("PO-DEMO-1002", "Northwind Textiles", WAREHOUSE, 4, "partial"),
    ]
    for number, vendor_name, location, days, state in plans:
        if PurchaseOrder.objects.filter(number=number).exists():
            continue
        vendor = Vendor.objects.filter(name=vendor_name).first()
        if vendor is None:
            continue
        skus = list(
            Variant.objects.filter(product__vendor=vendor, product__status=Product.Status.ACTIVE)
            .exclude(barcode="")
            .order_by("sku")
            .values_list("sku", flat=True)[:3]
        )
        if not skus:
            continue
        with transaction.atomic():
            order = purchase_order_create(
                vendor_id=vendor.pk,
                location_id=locations[location].pk,
                number=number,
                expected_at=timezone.localdate() + timedelta(days=days),
                lines=[LineInput(sku, 12 + 6 * n, None) for n, sku in enumerate(skus)],
                actor=None,
            )
            purchase_order_send(purchase_order_id=order.pk, actor=None)
            if state == "partial":
                first = order.lines.order_by("pk").first()
                receipt_post(
                    purchase_order_id=order.pk,
                    counts={first.variant_id: first.quantity_ordered // 2},
                    unknown_codes=[],
                    actor=None,
                    close=False,
                )


def seed_inventory() -> None:
    """Load the demo store's locations, stock and purchase orders (what exists is kept)."""
    with transaction.atomic():
        locations = _locations()
    _opening_stock(locations)
    _purchase_orders(locations)


# The sample POS export --------------------------------------------------------------------


SQUARE_HEADER = [
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
for _name in SQUARE_LOCATIONS:
    SQUARE_HEADER += [
        f"Enabled {_name}",
        f"Current Quantity {_name}",
        f"New Quantity {_name}",
        f"Stock Alert Enabled {_name}",
        f"Stock Alert Count {_name}",
    ]
SQUARE_HEADER.append("Tax - Sales Tax (8.875%)")


def square_sample_text() -> str:
    """Square's item library export for the seeded demo catalog, with the differences listed
    in this module's docstring. Run after seed_catalog (it reads the variants)."""
    variants = list(
        Variant.objects.select_related("product__category", "product__vendor")
        .exclude(product__status=Product.Status.DRAFT)
        .order_by("sku")
    )
    dearer = [v.sku for v in variants if v.sku.startswith("MG-")][:2]
    cheaper = [v.sku for v in variants if v.sku.startswith("CN-")][:1]
    sold_out = next(
        (v.sku for v in variants if v.sku.startswith("CD-") and demo_quantity(v.sku, HARBOUR)),
        "",
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SQUARE_HEADER)
    for number, variant in enumerate(variants):
        product = variant.product
        axis, value = next(iter(variant.option_values.items()), ("", ""))
        price = variant.retail_price
        if variant.sku in dearer:
            price += Decimal("1.00")
        elif variant.sku in cheaper:
            price -= Decimal("2.00")
        # Not tracked in the stores' POS: archived items, and the drop-ship vendor's.
        tracked = product.status != Product.Status.ARCHIVED and not (
            product.vendor is not None and product.vendor.drop_ships
        )
        counts = {
            name: str(demo_quantity(variant.sku, name)) if tracked else ""
            for name in SQUARE_LOCATIONS
        }
        if tracked and number % 5 == 0 and counts[MAIN] != "0":
            counts[MAIN] = str(int(counts[MAIN]) - 1)
        if variant.sku == sold_out:
            counts[HARBOUR] = "0"
        row = [
            f"DEMO{zlib.crc32(variant.sku.encode()):010d}",
            product.title,
            value or "Regular",
            variant.sku,
            "",
            product.category.name if product.category else "",
            variant.barcode,
            "visible",
            "",
            f"{price:.2f}",
            "Y",
            "Y",
            "Y" if variant.pos_archived else "N",
            axis,
            value,
            f"{variant.unit_cost:.2f}" if variant.unit_cost is not None else "",
            product.vendor.name if product.vendor else "",
            "",
        ]
        for name in SQUARE_LOCATIONS:
            row += [
                "Y",
                counts[name],
                "",
                "Y" if counts[name] else "N",
                "3" if counts[name] else "",
            ]
        row.append("Y")
        writer.writerow(row)
    sku, title, price = NEW_SKU
    row = ["DEMO0000000001", title, "Regular", sku, "", "Gifts", "", "visible", "", price]
    row += ["Y", "Y", "N", "", "", "", "", ""]
    for name in SQUARE_LOCATIONS:
        row += ["Y", "6" if name == MAIN else "4", "", "N", ""]
    row.append("Y")
    writer.writerow(row)
    return out.getvalue()
