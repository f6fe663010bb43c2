"""The web-ready rule, descriptions and barcodes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Product
from catalog.richtext import description_sanitize, description_text_length
from catalog.rules import web_ready_annotate, web_ready_problems, web_ready_q
from catalog.selectors import product_get_for_detail
from catalog.validators import gtin_complete, validate_gtin
from tests.catalog.factories import (
    LONG_DESCRIPTION,
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    png_upload,
)

# Barcodes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["96385074", "036000291452", "4006381333931", "10012345678902", ""],
    ids=["gtin-8", "upc-a", "ean-13", "gtin-14", "empty"],
)
def test_valid_barcodes_pass(code):
    validate_gtin(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "4006381333932",
            "The check digit of EAN-13 4006381333932 is wrong: the last digit should be 1, not 2.",
        ),
        ("036000291453", "The check digit of UPC-A 036000291453 is wrong"),
        ("96385075", "the last digit should be 4, not 5"),
        ("10012345678901", "GTIN-14 10012345678901 is wrong"),
        ("40063813339A1", "A barcode has digits only; 40063813339A1 contains “A”."),
        ("4006 381333931", "contains a space"),
        ("12345", "has 8, 12, 13 or 14 digits"),
        ("123456789", "123456789 has 9."),
    ],
)
def test_invalid_barcodes_are_refused_saying_what_is_wrong(code, message):
    with pytest.raises(ValidationError) as caught:
        validate_gtin(code)
    assert message in caught.value.messages[0]


def test_gtin_complete_appends_the_check_digit():
    assert gtin_complete("400638133393") == "4006381333931"
    validate_gtin(gtin_complete("2000000000001"[:12]))


# Descriptions ----------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p onclick="alert(1)" style="color:red">hi</p>',
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name=q></form>',
    "<style>body{display:none}</style>",
    '<a href="https://ok.example" target="_blank" onmouseover="alert(1)">ok</a>',
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>alert(1)</script>-->",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
]
FORBIDDEN = [
    "<script",
    "onerror",
    "onload",
    "onclick",
    "onmouseover",
    "ontoggle",
    "javascript:",
    "data:text",
    "<iframe",
    "<img",
    "<svg",
    "style=",
    "<style",
    "<object",
    "<embed",
    "<form",
    "<input",
    "<base",
    "<meta",
    "target=",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_description_keeps_nothing_executable(payload):
    cleaned = description_sanitize(f"<p>Mug</p>{payload}").lower()
    for marker in FORBIDDEN:
        assert marker not in cleaned, (payload, cleaned)


def test_description_keeps_basic_formatting_and_makes_links_safe():
    cleaned = description_sanitize(
        "<h3>Care</h3><p><strong>Hand</strong> <em>wash</em></p><ul><li>one</li></ul>"
        '<a href="https://example.com/care" title="Care">guide</a>'
    )
    assert "<h3>Care</h3>" in cleaned
    assert "<strong>Hand</strong> <em>wash</em>" in cleaned
    assert "<ul><li>one</li></ul>" in cleaned
    assert (
        '<a href="https://example.com/care" title="Care" rel="noopener noreferrer">guide</a>'
        in cleaned
    )


def test_plain_text_description_becomes_escaped_paragraphs():
    cleaned = description_sanitize("Line one\nline two & more\n\nSecond paragraph")
    assert cleaned == "<p>Line one<br>line two &amp; more</p><p>Second paragraph</p>"


def test_description_length_counts_text_not_tags():
    html = "<p><strong>Mug</strong></p><p>" + "x" * 10 + " &amp; y</p>"
    assert description_text_length(html) == len("Mug xxxxxxxxxx & y")


# The web-ready rule ----------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_an_empty_product_is_told_each_missing_piece():
    product = services.product_create(title="Bare", actor=None, notify=False)
    assert web_ready_problems(product) == [
        "No image: add at least one picture.",
        "No description: write at least 80 characters.",
        "No SKU: add at least one variant.",
        "No category: choose one.",
    ]


def test_a_short_description_and_unpriced_skus_are_named():
    product = services.product_create(
        title="Mug", description="<p>Nice <b>mug</b>.</p>", actor=None, notify=False
    )
    VariantFactory(product=product, sku="MUG-1", retail_price=Decimal("0"))
    VariantFactory(product=product, sku="MUG-2", retail_price=Decimal("4.00"))
    VariantFactory(product=product, sku="MUG-3", retail_price=Decimal("0"))
    problems = web_ready_problems(product_get_for_detail(product_id=product.pk))
    assert "Description too short: 9 characters of text, at least 80 needed." in problems
    assert "2 SKUs have no retail price above zero: MUG-1, MUG-3." in problems


def test_a_complete_product_is_web_ready(make_ready_product):
    assert web_ready_problems(make_ready_product()) == []


def test_the_sql_rule_agrees_with_the_python_rule(make_ready_product):
    ready = make_ready_product(title="Ready")
    no_image = ProductFactory(description=LONG_DESCRIPTION)
    VariantFactory(product=no_image)
    unpriced = make_ready_product(title="Unpriced")
    VariantFactory(product=unpriced, retail_price=Decimal("0"))
    no_category = make_ready_product(title="No category")
    Product.objects.filter(pk=no_category.pk).update(category=None)
    short = ProductFactory(description="<p>short</p>", category=CategoryFactory())
    VariantFactory(product=short)
    services.product_image_add(product_id=short.pk, upload=png_upload(), actor=None)
    no_variant = ProductFactory(description=LONG_DESCRIPTION)
    services.product_image_add(product_id=no_variant.pk, upload=png_upload(), actor=None)

    in_sql = set(
        web_ready_annotate(Product.objects.all()).filter(web_ready_q()).values_list("pk", flat=True)
    )
    in_python = {p.pk for p in Product.objects.all() if not web_ready_problems(p)}
    assert in_sql == in_python == {ready.pk}
