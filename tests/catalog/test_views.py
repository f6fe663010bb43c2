"""Catalog pages: the happy path, who may open them, and bad input that changes nothing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services
from catalog.models import AccuracySnapshot, Product, ProductImage, Variant
from opsdesk.core.roles import Role
from opsdesk.processes.models import Process, WorkItem
from tests.catalog.factories import (
    AccuracySnapshotFactory,
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    png_upload,
)

pytestmark = pytest.mark.django_db


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# Who may open the pages ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.ORDER_REVIEWER, Role.BOOKKEEPER])
def test_other_roles_get_403_and_no_data(staff_client_for, role):
    client = staff_client_for(role)
    product = ProductFactory(title="Secret Mug")
    for url in (
        reverse("catalog:product_list"),
        product.get_absolute_url(),
        reverse("catalog:queue"),
        reverse("catalog:accuracy"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Secret Mug" not in response.text
    response = client.post(reverse("catalog:product_edit", args=[product.pk]), {"title": "Hacked"})
    assert response.status_code == 403
    assert Product.objects.get(pk=product.pk).title == "Secret Mug"


@pytest.mark.parametrize(
    "role", [Role.CONTENT_EDITOR, Role.INVENTORY, Role.OWNER, Role.MANAGER, Role.ADMIN]
)
def test_catalog_editors_open_the_list(staff_client_for, role):
    assert staff_client_for(role).get(reverse("catalog:product_list")).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client):
    product = ProductFactory()
    for url in (reverse("catalog:product_list"), product.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(reverse("catalog:product_publish", args=[product.pk]))
    assert response.status_code == 302 and not Product.objects.get(pk=product.pk).published


# Products --------------------------------------------------------------------------------


def test_product_list_shows_products_and_what_they_miss(editor_client, not_ready_product):
    response = editor_client.get(reverse("catalog:product_list"))
    assert response.status_code == 200
    assert not_ready_product.title in response.text
    assert "missing" in response.text and "image" in response.text


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("catalog:product_list")).status_code == 200
    return len(ctx.captured_queries)


def test_product_list_page_runs_the_same_queries_for_few_and_many(editor_client):
    category = CategoryFactory()
    for i in range(2):
        VariantFactory(product__title=f"A{i}", product__category=category)
    few = _list_queries(editor_client)
    for i in range(20):
        VariantFactory(product__title=f"B{i}", product__category=category)
    assert _list_queries(editor_client) == few


def test_a_bad_filter_is_ignored_with_a_message(editor_client, not_ready_product):
    response = editor_client.get(reverse("catalog:product_list"), {"status": "nonsense"})
    assert response.status_code == 200
    assert "Some filters were not understood" in messages_of(response)
    assert not_ready_product.title in response.text


def test_create_product_then_see_it(editor_client, editor):
    category = CategoryFactory(name="Mugs")
    response = editor_client.post(
        reverse("catalog:product_create"),
        {"title": "Tide Mug", "description": "Blue.", "category": category.pk, "vendor": ""},
    )
    product = Product.objects.get(title="Tide Mug")
    assert response.status_code == 302
    assert response["Location"] == product.get_absolute_url()
    page = editor_client.get(response["Location"])
    assert page.status_code == 200
    assert "No image: add at least one picture." in page.text
    assert "Description too short: 5 characters" in page.text
    assert "Created" in page.text


def test_create_product_without_a_title_shows_why_and_saves_nothing(editor_client):
    response = editor_client.post(reverse("catalog:product_create"), {"title": ""})
    assert response.status_code == 200
    assert "Nothing was saved" in messages_of(response)
    assert "This field is required." in response.text
    assert not Product.objects.exists()


def test_edit_product_stores_a_sanitized_description(editor_client, not_ready_product):
    url = reverse("catalog:product_edit", args=[not_ready_product.pk])
    assert editor_client.get(url).status_code == 200
    response = editor_client.post(
        url,
        {
            "title": "Tide Mug",
            "description": '<p>Blue <a href="https://x.example">glaze</a></p><script>x()</script>',
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(pk=not_ready_product.pk)
    assert product.description == (
        '<p>Blue <a href="https://x.example" rel="noopener noreferrer">glaze</a></p>'
    )
    page = editor_client.get(product.get_absolute_url())
    assert "<script>x()" not in page.text
    assert 'rel="noopener noreferrer"' in page.text


def test_publish_refused_shows_the_reasons(editor_client, not_ready_product):
    response = editor_client.post(
        reverse("catalog:product_publish", args=[not_ready_product.pk]), follow=True
    )
    text = messages_of(response)
    assert "Not published." in text
    assert "No image: add at least one picture." in text
    assert not Product.objects.get(pk=not_ready_product.pk).published
    assert "Publish refused" in response.text  # on the timeline


def test_publish_and_unpublish(editor_client, make_ready_product):
    product = make_ready_product()
    response = editor_client.post(
        reverse("catalog:product_publish", args=[product.pk]), follow=True
    )
    assert "is on the web store" in messages_of(response)
    assert Product.objects.get(pk=product.pk).published
    editor_client.post(reverse("catalog:product_unpublish", args=[product.pk]))
    assert not Product.objects.get(pk=product.pk).published


def test_status_change_and_a_refused_one(editor_client):
    product = ProductFactory(status="draft")
    url = reverse("catalog:product_status", args=[product.pk])
    response = editor_client.post(url, {"to_status": "discontinued"}, follow=True)
    assert "cannot become discontinued" in messages_of(response)
    assert Product.objects.get(pk=product.pk).status == "draft"
    editor_client.post(url, {"to_status": "active"})
    assert Product.objects.get(pk=product.pk).status == "active"


def test_post_only_actions_refuse_get(editor_client):
    product = ProductFactory()
    assert (
        editor_client.get(reverse("catalog:product_publish", args=[product.pk])).status_code == 405
    )


# Variants --------------------------------------------------------------------------------


def test_add_variant(editor_client, not_ready_product):
    url = reverse("catalog:variant_add", args=[not_ready_product.pk])
    assert editor_client.get(url).status_code == 200
    response = editor_client.post(
        url,
        {
            "sku": "TIDE-L",
            "barcode": "4006381333931",
            "options": "Size: L\nColour: Blue",
            "retail_price": "21.00",
            "compare_at_price": "25.00",
            "low_stock_threshold": "2",
        },
    )
    assert response.status_code == 302
    variant = Variant.objects.get(sku="TIDE-L")
    assert variant.option_values == {"Size": "L", "Colour": "Blue"}
    assert variant.compare_at_price == Decimal("25.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"barcode": "4006381333932"}, "the last digit should be 1, not 2"),
        ({"retail_price": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"retail_price": "abc"}, "Enter a number."),
        ({"compare_at_price": "5.00"}, "must be above the retail price"),
        ({"options": "Size M"}, "Line 1 (“Size M”) is not “Name: value”"),
    ],
)
def test_add_variant_with_bad_input_shows_why_and_saves_nothing(
    editor_client, not_ready_product, data, message
):
    url = reverse("catalog:variant_add", args=[not_ready_product.pk])
    base = {"sku": "TIDE-M", "retail_price": "21.00", "low_stock_threshold": "0"}
    response = editor_client.post(url, base | data)
    assert response.status_code == 200
    assert message in response.text
    assert "Nothing was saved" in messages_of(response)
    assert not Variant.objects.filter(sku="TIDE-M").exists()


def test_edit_variant_duplicate_sku_is_named(editor_client):
    VariantFactory(sku="TAKEN-1", product__title="Other Mug")
    variant = VariantFactory(sku="MINE-1")
    url = reverse("catalog:variant_edit", args=[variant.pk])
    assert editor_client.get(url).status_code == 200
    response = editor_client.post(
        url, {"sku": "TAKEN-1", "retail_price": "5.00", "low_stock_threshold": "0"}
    )
    assert response.status_code == 200
    assert "SKU TAKEN-1 is already used by “Other Mug”." in response.text
    assert Variant.objects.get(pk=variant.pk).sku == "MINE-1"


# Images ----------------------------------------------------------------------------------


def test_upload_a_picture_and_see_its_thumbnail(editor_client, not_ready_product):
    url = reverse("catalog:image_add", args=[not_ready_product.pk])
    assert editor_client.get(url).status_code == 200
    response = editor_client.post(url, {"image": png_upload(), "alt_text": "A mug"})
    assert response.status_code == 302
    image = ProductImage.objects.get()
    thumb = editor_client.get(reverse("catalog:image_thumbnail", args=[image.pk]))
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"  # an opaque picture gets a JPEG thumbnail
    assert thumb["Content-Disposition"].startswith("inline")
    detail = editor_client.get(not_ready_product.get_absolute_url())
    assert reverse("catalog:image_thumbnail", args=[image.pk]) in detail.text


def test_upload_a_fake_picture_is_refused_with_a_message(editor_client, not_ready_product):
    url = reverse("catalog:image_add", args=[not_ready_product.pk])
    fake = SimpleUploadedFile("mug.jpg", b"MZ\x90\x00 not a picture", content_type="image/jpeg")
    response = editor_client.post(url, {"image": fake})
    assert response.status_code == 200
    assert "mug.jpg: this is not an image that can be read." in response.text
    assert not ProductImage.objects.exists()


def test_remove_a_picture(editor_client, not_ready_product):
    image = services.product_image_add(
        product_id=not_ready_product.pk, upload=png_upload(), actor=None
    )
    response = editor_client.post(reverse("catalog:image_delete", args=[image.pk]))
    assert response.status_code == 302
    assert not ProductImage.objects.exists()


# The data-entry queue --------------------------------------------------------------------


def test_queue_page_claim_and_verify(editor_client, editor, make_ready_product):
    product = make_ready_product(title="Tide Mug")
    queue_url = reverse("catalog:queue")
    response = editor_client.get(queue_url)
    assert response.status_code == 200
    assert "Tide Mug" in response.text
    editor_client.post(reverse("catalog:product_claim", args=[product.pk]), {"next": queue_url})
    assert Product.objects.get(pk=product.pk).claimed_by == editor
    response = editor_client.post(
        reverse("catalog:product_verify", args=[product.pk]), {"next": queue_url}, follow=True
    )
    assert "Verified “Tide Mug”" in messages_of(response)
    assert f'href="{product.get_absolute_url()}"' not in response.text
    assert not WorkItem.objects.filter(source_id=product.pk, status="open").exists()


def test_verify_of_a_product_not_ready_is_refused_with_a_message(editor_client, not_ready_product):
    response = editor_client.post(
        reverse("catalog:product_verify", args=[not_ready_product.pk]), follow=True
    )
    assert "is not web-ready yet" in messages_of(response)
    assert Product.objects.get(pk=not_ready_product.pk).verified_at is None


def test_queue_page_runs_the_same_queries_for_few_and_many(editor_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert editor_client.get(reverse("catalog:queue")).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        services.product_create(title=f"A{i}", actor=None, notify=False)
    few = count()
    for i in range(15):
        services.product_create(title=f"B{i}", actor=None, notify=False)
    assert count() == few


# Accuracy --------------------------------------------------------------------------------


def test_accuracy_page_and_snapshot(editor_client):
    from django.utils import timezone

    VariantFactory(pos_name="Other name", pos_price=Decimal("1.00"), pos_synced_at=timezone.now())
    response = editor_client.get(reverse("catalog:accuracy"))
    assert response.status_code == 200
    assert "0.00%" in response.text and "Other name" in response.text
    response = editor_client.post(reverse("catalog:accuracy_snapshot_take"), follow=True)
    assert "Snapshot taken: 0.00% accurate." in messages_of(response)
    assert "<svg" in response.text and "<circle" in response.text
    assert ' style="' not in response.text


def test_sign_off_by_someone_else_is_refused_and_changes_nothing(editor_client):
    snapshot = AccuracySnapshotFactory()
    response = editor_client.post(reverse("catalog:accuracy_sign_off", args=[snapshot.pk]))
    assert response.status_code == 403
    assert AccuracySnapshot.objects.get().signed_off_at is None


def test_sign_off_by_the_process_primary(editor_client, editor):
    Process.objects.filter(key="web_ready_data").update(primary=editor)
    snapshot = AccuracySnapshotFactory()
    response = editor_client.post(
        reverse("catalog:accuracy_sign_off", args=[snapshot.pk]), follow=True
    )
    assert "Signed off" in messages_of(response)
    assert AccuracySnapshot.objects.get().signed_off_by == editor
