"""Catalog tasks call their services and are safe to run twice."""

from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.models import AccuracySnapshot, Product, ProductEvent
from catalog.tasks import (
    accuracy_snapshot_take_daily_task,
    product_sold_out_unpublish_task,
    web_ready_queue_reconcile_task,
)
from opsdesk.processes.models import WorkItem
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.inventory.factories import StockLevelFactory

pytestmark = pytest.mark.django_db


def test_sold_out_task_unpublishes_once(make_ready_product):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=None)
    services.product_transition(product_id=product.pk, to_status="discontinued", actor=None)
    StockLevelFactory(variant=product.variants.get(), on_hand=0)
    product_sold_out_unpublish_task(product.pk)
    product_sold_out_unpublish_task(product.pk)
    assert not Product.objects.get(pk=product.pk).published
    assert ProductEvent.objects.filter(product=product, type="unpublished").count() == 1


def test_daily_snapshot_task_takes_one_snapshot_a_day():
    VariantFactory(pos_name="x", pos_price=Decimal("1"), pos_synced_at=timezone.now())
    first = accuracy_snapshot_take_daily_task()
    second = accuracy_snapshot_take_daily_task()
    assert first is not None and second is None
    assert AccuracySnapshot.objects.count() == 1


def test_reconcile_task_opens_missing_queue_items_once():
    ProductFactory(status="draft")
    assert web_ready_queue_reconcile_task() == 1
    assert web_ready_queue_reconcile_task() == 0  # the period is claimed
    assert WorkItem.objects.filter(process__key="web_ready_data", status="open").count() == 1
