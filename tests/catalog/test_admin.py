"""The catalog admin: pages render, saves go through the services, events are read-only."""

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Product, ProductEvent
from tests.catalog.factories import ProductFactory, VariantFactory, png_upload

pytestmark = pytest.mark.django_db


def test_admin_pages_render(admin_client):
    product = ProductFactory()
    VariantFactory(product=product)
    services.product_image_add(product_id=product.pk, upload=png_upload(), actor=None)
    for name in ("product", "variant", "productevent", "productimage", "accuracysnapshot"):
        assert admin_client.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200
    response = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert response.status_code == 200
    assert reverse("catalog:image_thumbnail", args=[product.images.get().pk]) in response.text


def test_admin_save_goes_through_the_service(admin_client):
    product = ProductFactory(title="Mug")
    response = admin_client.post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        {
            "title": "Mug",
            "description": "<p>Nice</p><script>alert(1)</script>",
            "category": product.category_id,
            "vendor": product.vendor_id,
            "variants-TOTAL_FORMS": "0",
            "variants-INITIAL_FORMS": "0",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    product.refresh_from_db()
    assert product.description == "<p>Nice</p>"
    assert ProductEvent.objects.get(product=product).type == ProductEvent.Type.EDITED


def test_admin_events_cannot_be_changed(admin_client):
    product = services.product_create(title="Mug", actor=None, notify=False)
    event = ProductEvent.objects.get(product=product)
    url = reverse("admin:catalog_productevent_change", args=[event.pk])
    assert admin_client.post(url, {"type": "verified"}).status_code == 403
    assert ProductEvent.objects.get(pk=event.pk).type == ProductEvent.Type.CREATED
    assert not Product.objects.filter(published=True).exists()
