"""Selectors: filters, order, and a fixed number of queries at any length."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.models import Product
from catalog.selectors import (
    accuracy_report,
    product_get_for_detail,
    product_page,
    web_ready_queue,
)
from opsdesk.processes.readiness import readiness_run
from tests.catalog.factories import (
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    png_upload,
)
from tests.inventory.factories import StockLevelFactory

pytestmark = pytest.mark.django_db


def make_products(n: int, *, category=None) -> list[Product]:
    products = []
    for i in range(n):
        product = ProductFactory(
            title=f"Item {i:03d}", category=category or CategoryFactory(), status="draft"
        )
        VariantFactory.create_batch(2, product=product)
        services.product_image_add(product_id=product.pk, upload=png_upload(), actor=None)
        products.append(product)
    return products


@pytest.mark.parametrize("rows", [3, 14])
def test_product_page_takes_two_queries_however_many_rows(rows, django_assert_num_queries):
    make_products(rows)
    with django_assert_num_queries(2):
        page = product_page(page_number=1, per_page=10)
        for product in page.object_list:
            str(product.category), str(product.vendor), product.problems, product.first_image_id
    assert len(page.object_list) == min(rows, 10)


@pytest.mark.parametrize("rows", [2, 9])
def test_queue_takes_two_queries_however_many_rows(rows, django_assert_num_queries, editor):
    for product in make_products(rows):
        services.queue_sync(product, actor=None, notify=False)
        services.product_claim(product_id=product.pk, actor=editor)
    with django_assert_num_queries(2):
        page = web_ready_queue(page_number=1)
        for product in page.object_list:
            str(product.claimed_by), product.problems, product.is_late, product.open_item_id
    assert len(page.object_list) == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_accuracy_report_takes_one_query_however_many_rows(rows, django_assert_num_queries):
    for i in range(rows):
        variant = VariantFactory(pos_name="x", pos_price=Decimal("1"), pos_synced_at=timezone.now())
        if i % 2:
            StockLevelFactory(variant=variant, on_hand=i)
    with django_assert_num_queries(1):
        report = accuracy_report()
        [row.differences for row in report.rows]
    assert report.checked == rows


def test_detail_takes_three_queries(make_ready_product, django_assert_num_queries):
    product = make_ready_product()
    VariantFactory.create_batch(3, product=product)
    with django_assert_num_queries(3):
        loaded = product_get_for_detail(product_id=product.pk)
        list(loaded.variants.all()), list(loaded.images.all()), loaded.problems
    assert loaded.problems == []


def test_product_list_filters():
    mugs = CategoryFactory(name="Mugs", slug="mugs")
    ready = ProductFactory(title="Speckled Mug", category=mugs, description="x" * 90)
    services.product_image_add(product_id=ready.pk, upload=png_upload(), actor=None)
    VariantFactory(product=ready, sku="MUG-77", barcode="4006381333931")
    draft = ProductFactory(title="Linen Cushion", status="draft")
    VariantFactory(product=draft, sku="CU-1")

    def titles(**filters):
        return [p.title for p in product_page(**filters).object_list]

    assert titles() == ["Linen Cushion", "Speckled Mug"]
    assert titles(status="draft") == ["Linen Cushion"]
    assert titles(category_id=mugs.pk) == ["Speckled Mug"]
    assert titles(web_ready=True) == ["Speckled Mug"]
    assert titles(web_ready=False) == ["Linen Cushion"]
    assert titles(search="speckled") == ["Speckled Mug"]
    assert titles(search="mug-77") == ["Speckled Mug"]
    assert titles(search="4006381333931") == ["Speckled Mug"]
    assert titles(search="nothing like it") == []


def test_queue_is_oldest_first_and_leaves_out_what_is_done(make_ready_product, editor):
    now = timezone.now()
    newer = ProductFactory(title="Newer", status="draft", created_at=now - timedelta(hours=1))
    older = ProductFactory(title="Older", status="active", created_at=now - timedelta(days=3))
    ProductFactory(title="Archived", status="archived", created_at=now - timedelta(days=9))
    unverified = make_ready_product(title="Ready, unverified")
    verified = make_ready_product(title="Ready, verified")
    services.product_verify(product_id=verified.pk, actor=editor)
    titles = [p.title for p in web_ready_queue().object_list]
    assert titles == [older.title, newer.title, unverified.title]


def test_readiness_passes_when_every_active_product_is_web_ready(make_ready_product):
    make_ready_product()
    ProductFactory(status="draft")  # drafts do not count
    [check] = [r for r in readiness_run() if r.key == "catalog-web-ready"]
    assert check.ok
    assert check.fix_url == "/catalog/queue/"


def test_readiness_fails_naming_the_active_products_not_ready(not_ready_product):
    [check] = [r for r in readiness_run() if r.key == "catalog-web-ready"]
    assert not check.ok
    assert check.name == "Every active product is web-ready"
    assert check.detail == f"1 active product is not web-ready: {not_ready_product.title}."
    assert check.fix_url == "/catalog/queue/"
