"""The data-entry queue: work items, claim, verify, and verification that lapses."""

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Product, ProductEvent
from opsdesk.processes.models import WorkItem
from opsdesk.processes.services import work_item_claim
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


def item_of(product, status=WorkItem.Status.OPEN):
    return WorkItem.objects.filter(
        process__key="web_ready_data", source_id=product.pk, status=status
    ).first()


def test_claim_marks_the_product_and_its_work_item(editor):
    product = services.product_create(title="Mug", actor=None, notify=False)
    services.product_claim(product_id=product.pk, actor=editor)
    services.product_claim(product_id=product.pk, actor=editor)  # again: nothing new
    product.refresh_from_db()
    assert product.claimed_by == editor
    assert item_of(product).claimed_by == editor
    [claimed] = ProductEvent.objects.filter(product=product, type=ProductEvent.Type.CLAIMED)
    assert claimed.actor == editor


def test_claim_is_refused_when_a_colleague_has_it(editor, role_user):
    colleague = role_user("Content editor", username="cole", first_name="Cole", last_name="Lee")
    product = services.product_create(title="Mug", actor=None, notify=False)
    services.product_claim(product_id=product.pk, actor=colleague)
    with pytest.raises(ValidationError) as caught:
        services.product_claim(product_id=product.pk, actor=editor)
    assert caught.value.messages == ["Cole Lee has already claimed this item."]
    assert Product.objects.get(pk=product.pk).claimed_by == colleague


def test_claim_is_refused_when_a_colleague_claimed_the_work_item(editor, role_user):
    colleague = role_user("Content editor", username="cole", first_name="Cole", last_name="Lee")
    product = services.product_create(title="Mug", actor=None, notify=False)
    work_item_claim(item_id=item_of(product).pk, actor=colleague)
    with pytest.raises(ValidationError):
        services.product_claim(product_id=product.pk, actor=editor)
    assert Product.objects.get(pk=product.pk).claimed_by is None


def test_verify_is_refused_until_the_product_is_web_ready(not_ready_product, editor):
    services.queue_sync(not_ready_product, actor=None, notify=False)
    with pytest.raises(ValidationError) as caught:
        services.product_verify(product_id=not_ready_product.pk, actor=editor)
    assert caught.value.messages[0].endswith("is not web-ready yet, so it cannot be verified.")
    assert "No image: add at least one picture." in caught.value.messages
    not_ready_product.refresh_from_db()
    assert not_ready_product.verified_at is None
    assert item_of(not_ready_product) is not None


def test_verify_records_who_and_closes_the_work_item(make_ready_product, editor):
    product = make_ready_product()
    services.product_claim(product_id=product.pk, actor=editor)
    item = item_of(product)
    services.product_verify(product_id=product.pk, actor=editor)
    product.refresh_from_db()
    assert product.verified_by == editor and product.verified_at is not None
    assert product.claimed_by is None
    item.refresh_from_db()
    assert item.status == WorkItem.Status.DONE and item.closed_at is not None
    [verified] = ProductEvent.objects.filter(product=product, type=ProductEvent.Type.VERIFIED)
    assert verified.actor == editor


def test_a_verified_product_that_loses_its_picture_returns_to_the_queue(make_ready_product, editor):
    product = make_ready_product()
    services.product_verify(product_id=product.pk, actor=editor)
    services.product_image_remove(image_id=product.images.get().pk, actor=editor)
    product.refresh_from_db()
    assert product.verified_at is None
    cleared = ProductEvent.objects.get(product=product, type=ProductEvent.Type.VERIFICATION_CLEARED)
    assert cleared.data == {"problems": ["No image: add at least one picture."]}
    assert item_of(product) is not None


def test_reconcile_opens_missing_items_once():
    without_item = ProductFactory(status=Product.Status.DRAFT)
    ProductFactory(status=Product.Status.ARCHIVED)
    assert services.web_ready_queue_reconcile() == 1
    assert services.web_ready_queue_reconcile() == 0
    assert item_of(without_item) is not None
