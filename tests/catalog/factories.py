import io
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import AccuracySnapshot, Category, Product, Variant, Vendor
from catalog.richtext import description_text_length
from catalog.validators import gtin_complete

LONG_DESCRIPTION = (
    "<p>A sturdy stoneware mug, thrown by hand and glazed in small batches, so no two are "
    "quite alike. Dishwasher safe.</p>"
)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Vendor {n}")
    email = factory.LazyAttribute(lambda v: f"orders@{v.name.lower().replace(' ', '')}.example")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    vendor = factory.SubFactory(VendorFactory)
    status = Product.Status.ACTIVE
    description = ""
    # Kept by the services in the app; computed here so rows made directly agree with them.
    description_chars = factory.LazyAttribute(lambda p: description_text_length(p.description))


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    retail_price = Decimal("19.99")


class BarcodedVariantFactory(VariantFactory):
    barcode = factory.Sequence(lambda n: gtin_complete(f"29{n:010d}"))


class AccuracySnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccuracySnapshot

    variants_checked = 10
    variants_accurate = 9
    score = Decimal("90.00")


def png_upload(name: str = "mug.png", size: tuple[int, int] = (640, 480), mode: str = "RGB"):
    """A real PNG, as a browser would upload it."""
    out = io.BytesIO()
    Image.new(mode, size, (200, 80, 40) if mode == "RGB" else (200, 80, 40, 128)).save(
        out, format="PNG"
    )
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def jpeg_upload(name: str = "photo.jpg", size: tuple[int, int] = (1200, 900)):
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, format="JPEG", quality=80)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")
