"""The demo catalog: realistic, valid, and loaded once however often it runs."""

import pytest

from catalog.demo import seed_catalog
from catalog.models import AccuracySnapshot, Product, ProductEvent, ProductImage, Variant, Vendor
from catalog.rules import web_ready_annotate, web_ready_q
from catalog.selectors import web_ready_queue
from catalog.validators import validate_gtin
from opsdesk.notifications.models import Notification
from opsdesk.processes.readiness import readiness_run

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "products": sorted(Product.objects.values_list("id", "status", "published", "title")),
        "variants": sorted(Variant.objects.values_list("sku", "retail_price", "barcode")),
        "images": ProductImage.objects.count(),
        "events": ProductEvent.objects.count(),
        "snapshots": AccuracySnapshot.objects.count(),
    }


def test_seed_catalog_loads_a_realistic_catalog_once():
    seed_catalog()
    first = snapshot()
    seed_catalog()
    assert snapshot() == first

    assert Product.objects.count() == 120
    assert 250 <= Variant.objects.count() <= 400
    for barcode in Variant.objects.values_list("barcode", flat=True):
        assert len(barcode) == 13
        validate_gtin(barcode)
    assert Vendor.objects.count() == 5
    assert Vendor.objects.filter(drop_ships=True).count() == 1

    active = Product.objects.filter(status="active")
    assert active.count() >= 100
    assert not web_ready_annotate(active).filter(~web_ready_q()).exists()
    assert Product.objects.filter(status="active", published=True).count() >= 100
    assert Product.objects.filter(status="discontinued").count() == 2
    drafts = web_ready_annotate(Product.objects.filter(status="draft"))
    assert drafts.filter(~web_ready_q()).count() >= 10
    assert web_ready_queue().paginator.count >= 12
    assert ProductImage.objects.exclude(thumbnail="").count() == ProductImage.objects.count()

    snap = AccuracySnapshot.objects.get()
    assert 90 < snap.score < 100
    # Loaded quietly: the queue items exist, nobody got a message per product.
    assert not Notification.objects.exists()
    [check] = [r for r in readiness_run() if r.key == "catalog-web-ready"]
    assert check.ok, check.detail
