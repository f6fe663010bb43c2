"""Image uploads: real images accepted with a thumbnail, anything else refused by name."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import ProductEvent, ProductImage
from catalog.services.images import MAX_IMAGE_BYTES
from tests.catalog.factories import ProductFactory, jpeg_upload, png_upload

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_real_png_is_stored_with_a_300px_thumbnail(editor, settings):
    product = ProductFactory()
    image = services.product_image_add(
        product_id=product.pk, upload=png_upload("My Mug.PNG"), alt_text="Mug", actor=editor
    )
    assert image.image.name.endswith(".png") and "my-mug" in image.image.name
    with Image.open(image.thumbnail.path) as thumb:
        assert max(thumb.size) == 300
        assert thumb.size == (300, 225)
    assert len(stored_files(settings)) == 2
    event = ProductEvent.objects.get(product=product, type=ProductEvent.Type.IMAGE_ADDED)
    assert event.actor == editor
    assert (event.data["width"], event.data["height"], event.data["format"]) == (640, 480, "PNG")


def test_a_jpeg_gets_a_jpeg_thumbnail_and_a_png_with_alpha_a_png(settings):
    product = ProductFactory()
    jpeg = services.product_image_add(product_id=product.pk, upload=jpeg_upload(), actor=None)
    alpha = services.product_image_add(
        product_id=product.pk, upload=png_upload("a.png", mode="RGBA"), actor=None
    )
    assert jpeg.thumbnail.name.endswith(".jpg")
    assert alpha.thumbnail.name.endswith(".png")
    assert (jpeg.position, alpha.position) == (0, 1)


def test_the_stored_name_follows_the_real_format_not_the_uploaded_name():
    product = ProductFactory()
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, format="JPEG")
    upload = SimpleUploadedFile("looks.html", out.getvalue(), content_type="text/html")
    image = services.product_image_add(product_id=product.pk, upload=upload, actor=None)
    assert image.image.name.endswith("looks.jpg")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("mug.png", b"<html><script>alert(1)</script></html>"),
            "mug.png: this is not an image that can be read. Upload a JPEG, PNG, WebP or GIF.",
        ),
        (SimpleUploadedFile("empty.jpg", b""), "empty.jpg: the file is empty."),
        (
            SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n"),
            "doc.pdf: this is not an image that can be read.",
        ),
    ],
    ids=["html-named-png", "empty", "pdf"],
)
def test_a_file_that_is_not_an_image_is_refused(upload, message, settings):
    product = ProductFactory()
    with pytest.raises(ValidationError) as caught:
        services.product_image_add(product_id=product.pk, upload=upload, actor=None)
    assert caught.value.message_dict["image"][0].startswith(message)
    assert not ProductImage.objects.exists()
    assert not ProductEvent.objects.exists()
    assert stored_files(settings) == []


def test_a_truncated_image_is_refused_as_damaged():
    product = ProductFactory()
    whole = jpeg_upload().read()
    upload = SimpleUploadedFile("cut.jpg", whole[: len(whole) // 2])
    with pytest.raises(ValidationError) as caught:
        services.product_image_add(product_id=product.pk, upload=upload, actor=None)
    assert "damaged or incomplete" in caught.value.message_dict["image"][0]


def test_an_image_kind_that_is_not_accepted_is_named():
    product = ProductFactory()
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="BMP")
    with pytest.raises(ValidationError) as caught:
        services.product_image_add(
            product_id=product.pk, upload=SimpleUploadedFile("x.bmp", out.getvalue()), actor=None
        )
    assert caught.value.message_dict["image"] == [
        "x.bmp: BMP images are not accepted; use JPEG, PNG, WebP or GIF."
    ]


def test_an_oversize_file_is_refused_before_it_is_read():
    product = ProductFactory()
    upload = SimpleUploadedFile("huge.png", b"\x89PNG" + b"0" * MAX_IMAGE_BYTES)
    with pytest.raises(ValidationError) as caught:
        services.product_image_add(product_id=product.pk, upload=upload, actor=None)
    assert caught.value.message_dict["image"] == [
        "huge.png: the file is 10.0 MB; images up to 10 MB are accepted."
    ]


def test_a_picture_with_too_many_pixels_is_refused():
    product = ProductFactory()
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    upload = SimpleUploadedFile("bomb.png", out.getvalue())
    with pytest.raises(ValidationError) as caught:
        services.product_image_add(product_id=product.pk, upload=upload, actor=None)
    assert "10000×10000 pixels" in caught.value.message_dict["image"][0]


def test_removing_an_image_deletes_its_files_after_commit(
    editor, settings, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    image = services.product_image_add(product_id=product.pk, upload=png_upload(), actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.product_image_remove(image_id=image.pk, actor=editor)
    assert not ProductImage.objects.exists()
    assert stored_files(settings) == []
    event = ProductEvent.objects.get(type=ProductEvent.Type.IMAGE_REMOVED)
    assert event.actor == editor
