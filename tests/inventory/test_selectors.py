import pytest

from inventory import selectors
from inventory.models import Backorder
from inventory.services import stock_reserve
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.inventory.factories import LocationFactory, StockLevelFactory, VendorLocationFactory

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


def test_stock_list_totals_and_what_the_web_can_sell(store, warehouse):
    variant = VariantFactory(sku="TEA-1")
    StockLevelFactory(variant=variant, location=store, on_hand=5, reserved=2)
    StockLevelFactory(variant=variant, location=warehouse, on_hand=4, reserved=0)
    StockLevelFactory(variant=variant, location=VendorLocationFactory(), on_hand=50)

    (row,) = selectors.stock_list(search="TEA-1")

    assert (row.on_hand_total, row.reserved_total, row.sellable) == (59, 2, 7)


def test_stock_list_searches_sku_title_and_barcode():
    VariantFactory(sku="MUG-1", product=ProductFactory(title="Speckled mug"))
    VariantFactory(sku="BOWL-1", barcode="4006381333931")
    VariantFactory(sku="PLATE-1")

    def skus(search):
        return [v.sku for v in selectors.stock_list(search=search)]

    assert skus("mug-") == ["MUG-1"]
    assert skus("speckled") == ["MUG-1"]
    assert skus("4006381333931") == ["BOWL-1"]
    assert skus("") == ["BOWL-1", "MUG-1", "PLATE-1"]


def test_low_stock_filter_takes_variants_at_or_below_a_threshold(store):
    low = VariantFactory(sku="A-LOW", low_stock_threshold=3)
    StockLevelFactory(variant=low, location=store, on_hand=5, reserved=2)
    fine = VariantFactory(sku="B-FINE", low_stock_threshold=3)
    StockLevelFactory(variant=fine, location=store, on_hand=9)
    VariantFactory(sku="C-NO-THRESHOLD")  # nothing in stock, but no threshold

    assert [v.sku for v in selectors.stock_list(low_only=True)] == ["A-LOW"]


def test_stock_rows_put_each_level_under_its_location(store, warehouse):
    variant = VariantFactory()
    level = StockLevelFactory(variant=variant, location=warehouse, on_hand=3)
    locations = selectors.location_list_active()

    (row,) = selectors.stock_rows(variants=selectors.stock_list(), locations=locations)

    assert [loc.pk for loc in locations] == [store.pk, warehouse.pk]
    assert row.cells == [None, level]


def test_stock_list_page_takes_the_same_queries_for_5_or_40_variants(
    django_assert_num_queries, store, warehouse
):
    def page_queries(count):
        for _ in range(count):
            variant = VariantFactory()
            StockLevelFactory(variant=variant, location=store)
            StockLevelFactory(variant=variant, location=warehouse)
        with django_assert_num_queries(3):  # locations, variants, their levels
            locations = selectors.location_list_active()
            rows = selectors.stock_rows(
                variants=list(selectors.stock_list()[:50]), locations=locations
            )
            for row in rows:
                str(row.variant.product.title)
        return len(rows)

    assert page_queries(5) == 5
    assert page_queries(35) == 40


def test_backorder_queue_is_oldest_first_and_only_what_waits(store):
    first = stock_reserve(lines=[(VariantFactory().pk, 1)], actor=None).backorders[0]
    second = stock_reserve(lines=[(VariantFactory().pk, 1)], actor=None).backorders[0]
    Backorder.objects.filter(pk=second.pk).update(status=Backorder.Status.CANCELLED)
    third = stock_reserve(lines=[(VariantFactory().pk, 1)], actor=None).backorders[0]

    assert list(selectors.backorder_list_pending()) == [first, third]


def test_backorder_detail_has_its_timeline_and_the_orders_other_lines():
    a, b = VariantFactory(), VariantFactory()
    one, two = stock_reserve(lines=[(a.pk, 1), (b.pk, 2)], actor=None).backorders

    detail = selectors.backorder_get_for_detail(backorder_id=one.pk)

    assert detail.siblings == [two]
    assert [e.type for e in detail.events.all()] == ["created"]


def test_location_list_active_leaves_out_closed_locations(store):
    LocationFactory(name="Closed", active=False)
    assert selectors.location_list_active() == [store]
