"""Product services: create, edit, transitions, publishing, sold out, reservable, drafts."""

from decimal import Decimal
from itertools import product as pairs

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.exceptions import InvalidTransition, PublishRefused
from catalog.models import Product, ProductEvent, Variant
from opsdesk.notifications.models import Notification
from opsdesk.processes.models import Process, WorkItem
from tests.catalog.factories import LONG_DESCRIPTION, ProductFactory, VariantFactory
from tests.inventory.factories import StockLevelFactory

pytestmark = pytest.mark.django_db

STATUSES = list(Product.Status)
ALLOWED = [(a, b) for a, b in pairs(STATUSES, STATUSES) if b in Product.ALLOWED_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in pairs(STATUSES, STATUSES) if b not in Product.ALLOWED_TRANSITIONS[a]]


def events(product, type_=None):
    qs = ProductEvent.objects.filter(product=product).order_by("created_at", "id")
    return list(qs.filter(type=type_) if type_ else qs)


# Create and edit -------------------------------------------------------------------------


def test_create_makes_a_draft_in_the_queue_with_a_created_event(editor):
    product = services.product_create(
        title="  Speckled   Mug ", description="<p>Hi</p><script>x()</script>", actor=editor
    )
    assert product.status == Product.Status.DRAFT
    assert product.title == "Speckled Mug"
    assert product.description == "<p>Hi</p>"
    assert product.description_chars == 2
    [created] = events(product)
    assert (created.type, created.actor, created.data) == (
        ProductEvent.Type.CREATED,
        editor,
        {"source": "staff"},
    )
    item = WorkItem.objects.get(process__key="web_ready_data", source_id=product.pk)
    assert item.status == WorkItem.Status.OPEN
    assert item.link == product.get_absolute_url()


def test_create_refuses_an_empty_title():
    with pytest.raises(ValidationError) as caught:
        services.product_create(title="   ", actor=None)
    assert caught.value.message_dict == {"title": ["A product needs a title."]}
    assert not Product.objects.exists()


def test_update_sanitizes_the_description_and_records_what_changed(editor):
    product = ProductFactory(title="Mug", status=Product.Status.DRAFT)
    services.product_update(
        product_id=product.pk,
        title="Mug",
        description='<p onclick="x()">Nice <a href="javascript:alert(1)">mug</a></p>'
        "<img src=x onerror=alert(1)>",
        category_id=product.category_id,
        vendor_id=None,
        actor=editor,
    )
    product.refresh_from_db()
    assert product.description == '<p>Nice <a rel="noopener noreferrer">mug</a></p>'
    assert product.vendor is None
    [edited] = events(product, ProductEvent.Type.EDITED)
    assert edited.actor == editor
    assert edited.data == {"changed": ["description", "vendor"]}


def test_update_without_changes_records_nothing():
    product = ProductFactory(description="<p>Same</p>")
    services.product_update(
        product_id=product.pk,
        title=product.title,
        description="<p>Same</p>",
        category_id=product.category_id,
        vendor_id=product.vendor_id,
        actor=None,
    )
    assert events(product) == []


def test_update_refuses_a_category_that_does_not_exist():
    product = ProductFactory()
    with pytest.raises(ValidationError) as caught:
        services.product_update(
            product_id=product.pk,
            title="X",
            description="",
            category_id=999_999,
            vendor_id=None,
            actor=None,
        )
    assert caught.value.message_dict == {"category": ["That category does not exist."]}
    product.refresh_from_db()
    assert product.title != "X"


# Transitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_allowed_transition_changes_status_with_an_event(editor, from_status, to_status):
    product = ProductFactory(status=from_status)
    result = services.product_transition(product_id=product.pk, to_status=to_status, actor=editor)
    assert result.status == to_status
    product.refresh_from_db()
    assert product.status == to_status
    [event] = events(product, ProductEvent.Type.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.actor) == (from_status, to_status, editor)


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_refused_transition_changes_nothing(editor, from_status, to_status):
    product = ProductFactory(status=from_status)
    with pytest.raises(InvalidTransition) as caught:
        services.product_transition(product_id=product.pk, to_status=to_status, actor=editor)
    assert "cannot become" in caught.value.messages[0]
    product.refresh_from_db()
    assert product.status == from_status
    assert events(product) == []


def test_leaving_the_sellable_statuses_unpublishes_with_its_own_event(make_ready_product, editor):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=editor)
    services.product_transition(product_id=product.pk, to_status="archived", actor=editor)
    product.refresh_from_db()
    assert (product.status, product.published) == ("archived", False)
    [unpublished] = events(product, ProductEvent.Type.UNPUBLISHED)
    assert unpublished.data == {"reason": "status changed to archived"}
    assert unpublished.actor == editor


def test_discontinuing_keeps_the_product_on_the_web(make_ready_product):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=None)
    services.product_transition(product_id=product.pk, to_status="discontinued", actor=None)
    product.refresh_from_db()
    assert (product.status, product.published) == ("discontinued", True)


def test_archiving_takes_the_product_out_of_the_queue(editor):
    product = services.product_create(title="Old", actor=editor, notify=False)
    services.product_transition(product_id=product.pk, to_status="archived", actor=editor)
    item = WorkItem.objects.get(source_id=product.pk, process__key="web_ready_data")
    assert item.status == WorkItem.Status.CANCELLED


# Publishing ------------------------------------------------------------------------------


def test_publish_refuses_a_product_that_is_not_web_ready_and_records_why(not_ready_product, editor):
    with pytest.raises(PublishRefused) as caught:
        services.product_publish(product_id=not_ready_product.pk, actor=editor)
    expected = [
        "No image: add at least one picture.",
        "No description: write at least 80 characters.",
        "No category: choose one.",
    ]
    assert caught.value.reasons == expected
    not_ready_product.refresh_from_db()
    assert not not_ready_product.published
    [refused] = events(not_ready_product, ProductEvent.Type.PUBLISH_REFUSED)
    assert refused.actor == editor
    assert refused.data == {"reasons": expected}


def test_publish_refuses_a_draft_even_when_web_ready(make_ready_product):
    product = make_ready_product(status=Product.Status.DRAFT)
    with pytest.raises(PublishRefused) as caught:
        services.product_publish(product_id=product.pk, actor=None)
    assert caught.value.reasons == ["Only an active product can be published; this one is draft."]
    assert not Product.objects.get(pk=product.pk).published


@pytest.mark.parametrize("status", ["discontinued", "archived"])
def test_only_an_active_product_is_published(make_ready_product, status):
    product = make_ready_product(status=status)
    with pytest.raises(PublishRefused):
        services.product_publish(product_id=product.pk, actor=None)
    assert not Product.objects.get(pk=product.pk).published


def test_publish_puts_an_active_web_ready_product_on_the_web(make_ready_product, editor):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=editor)
    services.product_publish(product_id=product.pk, actor=editor)  # a second time: no-op
    product.refresh_from_db()
    assert product.published and product.published_at is not None
    [published] = events(product, ProductEvent.Type.PUBLISHED)
    assert published.actor == editor


def test_unpublish_records_its_reason_once(make_ready_product, editor):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=editor)
    services.product_unpublish(product_id=product.pk, actor=editor, reason="photo shoot")
    services.product_unpublish(product_id=product.pk, actor=editor, reason="again")
    product.refresh_from_db()
    assert not product.published
    [unpublished] = events(product, ProductEvent.Type.UNPUBLISHED)
    assert (unpublished.actor, unpublished.data) == (editor, {"reason": "photo shoot"})


# Discontinued items ----------------------------------------------------------------------


@pytest.fixture
def discontinued_on_web(make_ready_product):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=None)
    services.product_transition(product_id=product.pk, to_status="discontinued", actor=None)
    return product


def test_sold_out_unpublishes_a_discontinued_product_with_no_stock_left(discontinued_on_web):
    variant = discontinued_on_web.variants.get()
    StockLevelFactory(variant=variant, on_hand=2, reserved=2)
    services.product_sold_out_unpublish(product_id=discontinued_on_web.pk)
    services.product_sold_out_unpublish(product_id=discontinued_on_web.pk)
    discontinued_on_web.refresh_from_db()
    assert not discontinued_on_web.published
    [event] = events(discontinued_on_web, ProductEvent.Type.UNPUBLISHED)
    assert event.actor is None
    assert event.data["reason"] == "sold_out"


def test_sold_out_leaves_a_product_with_stock_on_the_web(discontinued_on_web):
    variant = discontinued_on_web.variants.get()
    StockLevelFactory(variant=variant, on_hand=1, reserved=0)
    services.product_sold_out_unpublish(product_id=discontinued_on_web.pk)
    assert Product.objects.get(pk=discontinued_on_web.pk).published


def test_sold_out_does_not_touch_an_active_product(make_ready_product):
    product = make_ready_product()
    services.product_publish(product_id=product.pk, actor=None)
    services.product_sold_out_unpublish(product_id=product.pk)
    assert Product.objects.get(pk=product.pk).published


def test_reservable_follows_the_status(discontinued_on_web):
    assert services.variant_is_reservable(VariantFactory(product__status="active"))
    assert services.variant_is_reservable(VariantFactory(product__status="draft"))
    assert not services.variant_is_reservable(VariantFactory(product__status="archived"))
    assert not services.variant_is_reservable(
        VariantFactory(product__status="discontinued", product__published=False)
    )
    # Still on the web: selling its last units.
    assert services.variant_is_reservable(discontinued_on_web.variants.get())
    StockLevelFactory(variant=discontinued_on_web.variants.get(), on_hand=0)
    services.product_sold_out_unpublish(product_id=discontinued_on_web.pk)
    assert not services.variant_is_reservable(
        Variant.objects.select_related("product").get(product=discontinued_on_web)
    )


# New items from the POS and receiving ----------------------------------------------------


def test_draft_creation_makes_a_draft_product_in_the_queue_and_notifies(role_user):
    keeper = role_user("Content editor", username="keeper")
    Process.objects.filter(key="web_ready_data").update(primary=keeper)
    variant = services.product_create_draft(
        sku="NEW-1",
        title="Tide Mug",
        price=Decimal("12.50"),
        barcode="4006381333931",
        source="pos_sync",
        actor=None,
    )
    product = variant.product
    assert (product.status, product.title, product.created_from) == (
        "draft",
        "Tide Mug",
        "pos_sync",
    )
    assert (variant.sku, variant.barcode, variant.retail_price) == (
        "NEW-1",
        "4006381333931",
        Decimal("12.50"),
    )
    [created] = events(product)
    assert created.type == ProductEvent.Type.CREATED
    assert created.data["source"] == "pos_sync" and created.data["sku"] == "NEW-1"
    item = WorkItem.objects.get(process__key="web_ready_data", source_id=product.pk)
    assert item.status == WorkItem.Status.OPEN
    assert Notification.objects.filter(recipient=keeper, link=product.get_absolute_url()).exists()


def test_draft_creation_twice_returns_the_first_variant():
    first = services.product_create_draft(
        sku="NEW-2", title="A", price=None, source="receiving", actor=None
    )
    again = services.product_create_draft(
        sku="NEW-2", title="B", price=Decimal("3"), source="receiving", actor=None
    )
    assert again.pk == first.pk
    assert Product.objects.count() == 1
    assert first.retail_price == Decimal("0.00")


def test_draft_creation_names_an_unknown_title_after_its_sku():
    variant = services.product_create_draft(
        sku="UNK-9", title="", price=None, source="receiving", actor=None
    )
    assert variant.product.title == "New item UNK-9"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"barcode": "4006381333932"}, "should be 1, not 2"),
        ({"price": Decimal("-1")}, "negative"),
        ({"sku": ""}, "A variant needs a SKU."),
    ],
)
def test_draft_creation_refuses_bad_input_and_creates_nothing(kwargs, message):
    args = {
        "sku": "NEW-3",
        "title": "T",
        "price": Decimal("1"),
        "source": "pos_sync",
        "actor": None,
    }
    with pytest.raises(ValidationError) as caught:
        services.product_create_draft(**(args | kwargs))
    assert message in " ".join(caught.value.messages)
    assert not Product.objects.exists()
    assert not Variant.objects.exists()


def test_draft_creation_refuses_a_barcode_another_sku_has():
    VariantFactory(sku="OLD-1", barcode="4006381333931", product__title="Old Mug")
    with pytest.raises(ValidationError) as caught:
        services.product_create_draft(
            sku="NEW-4", title="T", price=None, barcode="4006381333931", source="x", actor=None
        )
    assert caught.value.message_dict["barcode"] == [
        "Barcode 4006381333931 is already on SKU OLD-1 (“Old Mug”)."
    ]


def test_a_description_of_real_length_is_needed(make_ready_product):
    product = make_ready_product()
    services.product_update(
        product_id=product.pk,
        title=product.title,
        description="<p>" + "<b></b>" * 50 + "Short.</p>",
        category_id=product.category_id,
        vendor_id=None,
        actor=None,
    )
    with pytest.raises(PublishRefused) as caught:
        services.product_publish(product_id=product.pk, actor=None)
    assert caught.value.reasons == [
        "Description too short: 6 characters of text, at least 80 needed."
    ]
    services.product_update(
        product_id=product.pk,
        title=product.title,
        description=LONG_DESCRIPTION,
        category_id=product.category_id,
        vendor_id=None,
        actor=None,
    )
    assert services.product_publish(product_id=product.pk, actor=None).published
