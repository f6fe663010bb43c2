"""Catalog forms: input shape only. The rules (barcodes, unique SKUs, prices) are the services'."""

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.utils.html import escape

from catalog.models import Category, Product, Vendor
from catalog.richtext import DESCRIPTION_TAGS

MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


class ProductForm(forms.Form):
    title = forms.CharField(max_length=255)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        # Help text is rendered as HTML: the tag names are escaped to show as text.
        help_text=escape(
            "Plain text (blank lines make paragraphs) or basic HTML: "
            + ", ".join(f"<{t}>" for t in sorted(DESCRIPTION_TAGS))
            + ". Anything else is removed when saved."
        ),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="— none —"
    )
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(), required=False, empty_label="— none —"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.order_by("name")
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")
        self.helper = _helper("title", Row(Column("category"), Column("vendor")), "description")


def parse_options(text: str) -> dict[str, str]:
    """'Size: M' lines to {"Size": "M"}; raises ValidationError naming the line."""
    options: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise forms.ValidationError(
                f"Line {number} (“{line.strip()}”) is not “Name: value”, e.g. “Size: M”."
            )
        if name.strip() in options:
            raise forms.ValidationError(f"Line {number}: “{name.strip()}” is given twice.")
        options[name.strip()[:40]] = value.strip()[:80]
    return options


class VariantForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    barcode = forms.CharField(
        max_length=14,
        required=False,
        help_text="GTIN-8, UPC-A (12), EAN-13 or GTIN-14; the check digit is verified.",
    )
    options = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. “Size: M” and “Colour: Blue”.",
    )
    retail_price = forms.DecimalField(**MONEY_FIELD)
    compare_at_price = forms.DecimalField(
        required=False, help_text="The “was” price; above the retail price.", **MONEY_FIELD
    )
    unit_cost = forms.DecimalField(required=False, **MONEY_FIELD)
    weight_grams = forms.IntegerField(label="Weight (g)", required=False, min_value=0)
    low_stock_threshold = forms.IntegerField(min_value=0, initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Row(Column("sku"), Column("barcode")),
            "options",
            Row(Column("retail_price"), Column("compare_at_price"), Column("unit_cost")),
            Row(Column("weight_grams"), Column("low_stock_threshold")),
        )

    def clean_options(self) -> dict[str, str]:
        return parse_options(self.cleaned_data.get("options", ""))

    @staticmethod
    def initial_for(variant) -> dict:
        return {
            "sku": variant.sku,
            "barcode": variant.barcode,
            "options": "\n".join(f"{k}: {v}" for k, v in (variant.option_values or {}).items()),
            "retail_price": variant.retail_price,
            "compare_at_price": variant.compare_at_price,
            "unit_cost": variant.unit_cost,
            "weight_grams": variant.weight_grams,
            "low_stock_threshold": variant.low_stock_threshold,
        }


class ProductImageForm(forms.Form):
    # A FileField, not an ImageField: the service checks the image and says what is wrong.
    image = forms.FileField(
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
        help_text="JPEG, PNG, WebP or GIF, up to 10 MB. A 300 px thumbnail is made.",
    )
    alt_text = forms.CharField(
        label="Alt text",
        max_length=255,
        required=False,
        help_text="What the picture shows, for screen readers; the title if left empty.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("image", "alt_text")


class ProductStatusForm(forms.Form):
    to_status = forms.ChoiceField(choices=Product.Status.choices)


class ProductFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Product.Status.choices]
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="Any category"
    )
    web_ready = forms.ChoiceField(
        required=False,
        label="Web-ready",
        choices=[("", "Web-ready or not"), ("yes", "Web-ready"), ("no", "Not web-ready")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.order_by("name")
        for name in ("status", "category", "web_ready"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["q"].widget.attrs["class"] = "form-control form-control-sm"

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        web_ready = {"yes": True, "no": False}.get(data.get("web_ready", ""))
        category = data.get("category")
        return {
            "search": data.get("q", ""),
            "status": data.get("status", ""),
            "category_id": category.pk if category else None,
            "web_ready": web_ready,
        }
