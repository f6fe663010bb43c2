"""The demo store's inventory and its sample Square export."""

import pytest

from catalog.models import Product
from inventory.demo import (
    DEMO_REASON,
    MAIN,
    NEW_SKU,
    SAMPLE_PATH,
    SQUARE_LOCATIONS,
    demo_quantity,
    seed_inventory,
)
from inventory.models import Location, PurchaseOrder, StockLevel, StockMovement
from inventory.pos_formats import SQUARE, pos_file_decode, pos_file_parse
from tests.catalog.factories import ProductFactory, VariantFactory, VendorFactory
from tests.inventory import conftest_pos
from tests.inventory.support import ledger_problems

pos_processes = conftest_pos.pos_processes  # a fixture


@pytest.fixture
def small_catalog(db, pos_processes):
    mugs = VendorFactory(name="Harbour Ceramics")
    tees = VendorFactory(name="Northwind Textiles")
    drop = VendorFactory(name="Direct Goods Supply", drop_ships=True)
    for n, vendor in enumerate([mugs, mugs, tees, tees, drop]):
        VariantFactory(sku=f"DEMO-{n}", product=ProductFactory(vendor=vendor))
    VariantFactory(sku="MG-1", barcode="4006381333931", product=ProductFactory(vendor=mugs))
    VariantFactory(sku="TS-1", barcode="5012345678900", product=ProductFactory(vendor=tees))
    VariantFactory(
        sku="GONE-1", product=ProductFactory(vendor=tees, status=Product.Status.ARCHIVED)
    )


@pytest.mark.django_db
def test_seed_inventory_builds_locations_stock_and_orders_once(small_catalog):
    seed_inventory()

    locations = {loc.name: loc for loc in Location.objects.all()}
    assert (locations[MAIN].kind, locations[MAIN].web_priority, locations[MAIN].is_pickup) == (
        "store",
        10,
        True,
    )
    assert locations["Harbour Store"].web_priority == 20
    assert (locations["Warehouse"].kind, locations["Warehouse"].web_priority) == ("warehouse", 5)
    vendor_location = locations["Direct Goods Supply (drop ship)"]
    assert vendor_location.kind == "vendor"
    assert StockLevel.objects.get(variant__sku="DEMO-4").location == vendor_location
    main = StockLevel.objects.filter(variant__sku="MG-1", location__name=MAIN).first()
    assert (main.on_hand if main else 0) == demo_quantity("MG-1", MAIN)
    assert not StockLevel.objects.filter(variant__sku="GONE-1").exists()
    assert StockMovement.objects.filter(reason=DEMO_REASON).exists()
    assert ledger_problems() == []

    orders = {po.number: po for po in PurchaseOrder.objects.all()}
    assert orders["PO-DEMO-1001"].status == PurchaseOrder.Status.SENT
    assert orders["PO-DEMO-1002"].status == PurchaseOrder.Status.PARTIAL

    before = (StockMovement.objects.count(), PurchaseOrder.objects.count(), len(locations))
    seed_inventory()
    after = (StockMovement.objects.count(), PurchaseOrder.objects.count(), Location.objects.count())
    assert after == before


def test_the_sample_square_export_reads_with_the_demo_locations():
    data = SAMPLE_PATH.read_bytes()
    pos_file = pos_file_parse(
        pos_file_decode(data), format=SQUARE, locations=dict.fromkeys(SQUARE_LOCATIONS, 0)
    )
    assert pos_file.location_names == SQUARE_LOCATIONS
    skus = {item.sku for item in pos_file.items}
    assert NEW_SKU[0] in skus
    assert len(skus) > 200
    assert all(item.price is not None for item in pos_file.items)
