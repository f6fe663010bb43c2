"""Forms of the intake pages: input shape only; the services decide the rest."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from catalog.models import Variant
from inventory.models import Location
from orders.formats.csvfile import MAX_BYTES
from orders.models import Channel, Order, ShippingMethodMapping, WebhookDelivery
from orders.services.imports import PhoneLine

MAX_PHONE_LINES = 100
MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


def _pickup_locations():
    return Location.objects.filter(active=True, is_pickup=True).order_by("web_priority", "name")


class DeliveryFilterForm(forms.Form):
    """The delivery log's filters, from the query string."""

    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), *WebhookDelivery.Outcome.choices], required=False
    )
    channel = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, channels: list[Channel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "Any channel")] + [(c.pk, c.name) for c in channels]


class ChannelCreateForm(forms.Form):
    kind = forms.ChoiceField(choices=Channel.Kind.choices)
    name = forms.CharField(max_length=100)
    secret = forms.CharField(
        max_length=255,
        required=False,
        help_text="The store's webhook secret; leave empty to generate one to paste there.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("kind"), Column("name")), "secret")


class SecretRotateForm(forms.Form):
    new_secret = forms.CharField(
        max_length=255,
        required=False,
        label="New secret",
        help_text="Paste the store's new secret, or leave empty to generate one.",
    )
    grace_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 30,
        initial=24,
        label="Keep the old secret valid for (hours)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("new_secret", "grace_hours")


class MappingForm(forms.Form):
    match_value = forms.CharField(
        max_length=120,
        label="Shipping line value",
        help_text="WooCommerce method_id (local_pickup, flat_rate), or Shopify code or source.",
    )
    method = forms.ChoiceField(choices=ShippingMethodMapping.Method.choices)
    pickup_location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, help_text="For store pickup."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_location"].queryset = _pickup_locations()
        self.helper = _helper(Row(Column("match_value"), Column("method")), "pickup_location")


class CsvImportForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.none(), empty_label=None)
    file = forms.FileField(help_text="CSV, UTF-8, one row per order line; up to 5 MB.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(active=True).order_by("name")
        self.helper = _helper("channel", "file")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload


class PhoneOrderForm(forms.Form):
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=40)
    address1 = forms.CharField(max_length=255, required=False, label="Address")
    address2 = forms.CharField(max_length=255, required=False, label="Address, line 2")
    city = forms.CharField(max_length=120, required=False)
    region = forms.CharField(max_length=120, required=False, label="State or region")
    postcode = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, required=False, initial="US", help_text="ISO code")
    method = forms.ChoiceField(
        choices=[
            (Order.Method.SHIP, "Ship"),
            (Order.Method.STORE_PICKUP, "Store pickup"),
            (Order.Method.LOCAL_DELIVERY, "Local delivery"),
        ],
        label="Fulfillment",
    )
    pickup_location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One line per item: SKU, quantity, and a price only to override the "
        "retail price. For example: MUG-BLUE 2",
    )
    shipping_total = forms.DecimalField(**MONEY_FIELD, initial=Decimal("0.00"), label="Shipping")
    discount_total = forms.DecimalField(**MONEY_FIELD, initial=Decimal("0.00"), label="Discount")
    tax_total = forms.DecimalField(**MONEY_FIELD, initial=Decimal("0.00"), label="Tax")
    payment_status = forms.ChoiceField(
        choices=[
            (Order.PaymentStatus.PENDING, "Not paid yet"),
            (Order.PaymentStatus.PAID, "Paid"),
        ]
    )
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_location"].queryset = _pickup_locations()
        self.helper = _helper(
            Fieldset(
                "Customer",
                Row(Column("first_name"), Column("last_name")),
                Row(Column("email"), Column("phone")),
            ),
            Fieldset(
                "Address",
                "address1",
                "address2",
                Row(Column("city"), Column("region"), Column("postcode"), Column("country")),
            ),
            Fieldset("Items", "lines"),
            Fieldset(
                "Fulfillment and payment",
                Row(Column("method"), Column("pickup_location")),
                Row(Column("shipping_total"), Column("discount_total"), Column("tax_total")),
                "payment_status",
                "note",
            ),
        )

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_lines(self) -> list[PhoneLine]:
        parsed = []
        rows = [row.strip() for row in self.cleaned_data["lines"].splitlines() if row.strip()]
        if len(rows) > MAX_PHONE_LINES:
            raise forms.ValidationError(f"At most {MAX_PHONE_LINES} lines.")
        for number, row in enumerate(rows, start=1):
            parts = row.replace(",", " ").split()
            if len(parts) not in (2, 3):
                raise forms.ValidationError(
                    f"Line {number}: write the SKU and the quantity, and a price if needed."
                )
            try:
                quantity = int(parts[1])
                price = Decimal(parts[2]) if len(parts) == 3 else None
            except (ValueError, ArithmeticError):
                raise forms.ValidationError(
                    f"Line {number}: {row!r} is not SKU quantity [price]."
                ) from None
            if not 0 < quantity <= 10_000:
                raise forms.ValidationError(f"Line {number}: the quantity must be 1 to 10000.")
            if price is not None and (not price.is_finite() or price < 0):
                raise forms.ValidationError(f"Line {number}: the price can't be negative.")
            parsed.append(
                PhoneLine(
                    sku=parts[0],
                    quantity=quantity,
                    unit_price=price.quantize(Decimal("0.01")) if price is not None else None,
                )
            )
        return parsed

    def address(self) -> dict[str, str]:
        data = self.cleaned_data
        values = {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "address1": data["address1"],
            "address2": data["address2"],
            "city": data["city"],
            "region": data["region"],
            "postcode": data["postcode"],
            "country": data["country"],
            "phone": data["phone"],
            "email": data["email"].lower(),
            "company": "",
        }
        return values if data["address1"] or data["city"] else {}


class LineMatchForm(forms.Form):
    sku = forms.CharField(max_length=64, label="SKU", help_text="The SKU of the matching item.")

    def clean_sku(self) -> Variant:
        sku = self.cleaned_data["sku"].strip()
        variant = Variant.objects.select_related("product").filter(sku=sku).first()
        if variant is None:
            raise forms.ValidationError(f"No item has the SKU {sku!r}.")
        return variant


class MethodSetForm(forms.Form):
    method = forms.ChoiceField(
        choices=[(v, label) for v, label in Order.Method.choices if v != Order.Method.UNKNOWN]
    )
    pickup_location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_location"].queryset = _pickup_locations()
        self.helper = _helper(Row(Column("method"), Column("pickup_location")))
