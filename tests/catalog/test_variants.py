"""Variant services: SKUs, barcodes, prices, and the POS's last report."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Product, ProductEvent, Variant
from opsdesk.processes.models import WorkItem
from tests.catalog.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def add(product, **kwargs):
    args = {"sku": "MUG-1", "retail_price": Decimal("18.00"), "actor": None} | kwargs
    return services.variant_create(product_id=product.pk, **args)


def test_create_records_the_variant_on_the_timeline(editor):
    product = ProductFactory()
    variant = add(
        product,
        sku=" MUG-1 ",
        barcode="4006381333931",
        option_values={"Colour": "Sand"},
        compare_at_price=Decimal("22.00"),
        actor=editor,
    )
    assert variant.sku == "MUG-1"
    event = ProductEvent.objects.get(product=product, type=ProductEvent.Type.VARIANT_ADDED)
    assert (event.actor, event.data) == (editor, {"sku": "MUG-1", "retail_price": "18.00"})


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"sku": "MUG 1"}, "sku", "A SKU has no spaces: “MUG 1”."),
        ({"sku": ""}, "sku", "A variant needs a SKU."),
        ({"barcode": "4006381333932"}, "barcode", "should be 1, not 2"),
        ({"barcode": "12345"}, "barcode", "has 8, 12, 13 or 14 digits"),
        ({"retail_price": Decimal("-0.01")}, "retail_price", "greater than or equal to 0"),
        ({"unit_cost": Decimal("-1")}, "unit_cost", "greater than or equal to 0"),
        (
            {"compare_at_price": Decimal("18.00")},
            "compare_at_price",
            "The compare-at price (18.00) must be above the retail price (18.00), or left empty.",
        ),
        ({"compare_at_price": Decimal("10.00")}, "compare_at_price", "must be above"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(kwargs, field, message):
    product = ProductFactory()
    with pytest.raises(ValidationError) as caught:
        add(product, **kwargs)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Variant.objects.exists()
    assert not ProductEvent.objects.exists()


def test_sku_and_barcode_are_unique_and_the_error_says_where_they_are():
    VariantFactory(sku="MUG-1", barcode="4006381333931", product__title="Sand Mug")
    with pytest.raises(ValidationError) as caught:
        add(ProductFactory(), sku="MUG-1", barcode="4006381333931")
    assert caught.value.message_dict == {
        "sku": ["SKU MUG-1 is already used by “Sand Mug”."],
        "barcode": ["Barcode 4006381333931 is already on SKU MUG-1 (“Sand Mug”)."],
    }


def test_update_records_each_change(editor):
    variant = VariantFactory(sku="MUG-1", retail_price=Decimal("18.00"))
    services.variant_update(
        variant_id=variant.pk,
        sku="MUG-1",
        retail_price=Decimal("19.50"),
        barcode="96385074",
        option_values={"Colour": "Ink"},
        actor=editor,
    )
    variant.refresh_from_db()
    assert (variant.retail_price, variant.barcode) == (Decimal("19.50"), "96385074")
    event = ProductEvent.objects.get(type=ProductEvent.Type.VARIANT_EDITED)
    assert event.actor == editor
    assert event.data["changes"] == {
        "barcode": ["", "96385074"],
        "option_values": [{}, {"Colour": "Ink"}],
        "retail_price": ["18.00", "19.50"],
    }


def test_update_with_a_bad_barcode_changes_nothing():
    variant = VariantFactory(sku="MUG-1", retail_price=Decimal("18.00"))
    with pytest.raises(ValidationError):
        services.variant_update(
            variant_id=variant.pk,
            sku="MUG-1",
            retail_price=Decimal("25.00"),
            barcode="96385075",
            actor=None,
        )
    variant.refresh_from_db()
    assert (variant.retail_price, variant.barcode) == (Decimal("18.00"), "")
    assert not ProductEvent.objects.exists()


def test_update_without_changes_records_nothing():
    variant = VariantFactory(sku="MUG-1", retail_price=Decimal("18.00"))
    services.variant_update(
        variant_id=variant.pk, sku="MUG-1", retail_price=Decimal("18.00"), actor=None
    )
    assert not ProductEvent.objects.exists()


def test_a_zero_price_puts_a_verified_product_back_in_the_queue(make_ready_product, editor):
    product = make_ready_product()
    services.product_verify(product_id=product.pk, actor=editor)
    variant = product.variants.get()
    services.variant_update(
        variant_id=variant.pk, sku=variant.sku, retail_price=Decimal("0"), actor=editor
    )
    product.refresh_from_db()
    assert product.verified_at is None
    assert WorkItem.objects.filter(
        source_id=product.pk, process__key="web_ready_data", status="open"
    ).exists()


def test_pos_report_is_recorded_and_its_prices_applied(make_ready_product):
    product = make_ready_product()
    services.product_verify(product_id=product.pk, actor=None)
    variant = product.variants.get()
    other = VariantFactory(sku="OTHER-1", retail_price=Decimal("5.00"))
    updated = services.variant_pos_update_many(
        items=[
            services.VariantPosData(sku=variant.sku, name="Mug at the till", price=Decimal("0")),
            services.VariantPosData(
                sku="OTHER-1", name="Other", price=Decimal("5.00"), archived=True
            ),
            services.VariantPosData(sku="UNKNOWN", name="?", price=Decimal("1.00")),
        ]
    )
    assert updated == 2
    variant.refresh_from_db()
    other.refresh_from_db()
    assert (variant.pos_name, variant.pos_price, variant.retail_price) == (
        "Mug at the till",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert variant.pos_synced_at is not None
    assert other.pos_archived
    [changed] = ProductEvent.objects.filter(type=ProductEvent.Type.POS_UPDATED)
    assert changed.data == {"sku": variant.sku, "retail_price": ["18.00", "0.00"]}
    # A price of zero is not web-ready: the product is back in the queue.
    assert Product.objects.get(pk=product.pk).verified_at is None


def test_pos_report_without_applying_prices_keeps_the_web_price():
    variant = VariantFactory(retail_price=Decimal("18.00"))
    services.variant_pos_update_many(
        items=[services.VariantPosData(sku=variant.sku, name="x", price=Decimal("17.00"))],
        apply_price=False,
    )
    variant.refresh_from_db()
    assert (variant.retail_price, variant.pos_price) == (Decimal("18.00"), Decimal("17.00"))
    assert not ProductEvent.objects.exists()
