from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Product
from opsdesk.core.roles import Role
from tests.catalog.factories import (
    LONG_DESCRIPTION,
    CategoryFactory,
    VariantFactory,
    png_upload,
)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor(role_user):
    return role_user(Role.CONTENT_EDITOR, username="edie", first_name="Edie", last_name="Tor")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def make_ready_product(db):
    """Factory: an active product that is web-ready (built through the services)."""

    def make(*, title: str = "Speckled Mug", status: str = Product.Status.ACTIVE, actor=None):
        category = CategoryFactory()
        product = services.product_create(
            title=title,
            description=LONG_DESCRIPTION,
            category_id=category.pk,
            actor=actor,
            notify=False,
        )
        services.variant_create(
            product_id=product.pk,
            sku=f"READY-{product.pk}",
            retail_price=Decimal("18.00"),
            actor=actor,
        )
        services.product_image_add(product_id=product.pk, upload=png_upload(), actor=actor)
        if status != Product.Status.DRAFT:
            services.product_transition(
                product_id=product.pk, to_status=Product.Status.ACTIVE, actor=actor
            )
        if status not in (Product.Status.DRAFT, Product.Status.ACTIVE):
            services.product_transition(product_id=product.pk, to_status=status, actor=actor)
        product.refresh_from_db()
        return product

    return make


@pytest.fixture
def not_ready_product(db):
    """An active product with a SKU but no picture, no description and no category."""
    variant = VariantFactory(product__category=None)
    return variant.product
