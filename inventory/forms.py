"""Forms of the stock and backorder pages: input shape only; the services decide the rest."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from catalog.models import Variant
from inventory.models import Location, PurchaseOrder


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


def _locations():
    return Location.objects.filter(active=True).order_by("web_priority", "name")


class StockSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="SKU, title or barcode")
    low = forms.BooleanField(required=False, label="Low stock only")


class StockAdjustForm(forms.Form):
    location = forms.ModelChoiceField(queryset=_locations(), empty_label=None)
    delta = forms.IntegerField(
        label="Change in on hand",
        help_text="Units to add (12) or take away (-3).",
        min_value=-100_000,
        max_value=100_000,
    )
    reason = forms.CharField(
        max_length=255, help_text="Why: a count, damage, loss, found stock ..."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = _locations()
        self.helper = _helper(Row(Column("location"), Column("delta")), "reason")

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Give a number of units other than 0.")
        return delta


class StockTransferForm(forms.Form):
    from_location = forms.ModelChoiceField(queryset=_locations(), empty_label=None, label="From")
    to_location = forms.ModelChoiceField(queryset=_locations(), empty_label=None, label="To")
    quantity = forms.IntegerField(min_value=1, max_value=100_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("from_location", "to_location"):
            self.fields[name].queryset = _locations()
        self.helper = _helper(Row(Column("from_location"), Column("to_location")), "quantity")

    def clean(self):
        data = super().clean()
        if data.get("from_location") and data.get("from_location") == data.get("to_location"):
            self.add_error("to_location", "Choose a different location to move to.")
        return data


class BackorderWaitForm(forms.Form):
    purchase_order = forms.ModelChoiceField(
        queryset=PurchaseOrder.objects.none(),
        required=False,
        empty_label="— no purchase order yet —",
        help_text="Open purchase orders with this item on them.",
    )
    note = forms.CharField(max_length=1000, required=False, widget=forms.Textarea({"rows": 2}))

    def __init__(self, *args, purchase_orders=None, **kwargs):
        super().__init__(*args, **kwargs)
        if purchase_orders is not None:
            self.fields["purchase_order"].queryset = purchase_orders
        self.helper = _helper("purchase_order", "note")


class SkuField(forms.ModelChoiceField):
    """A variant typed (or scanned) by its SKU."""

    def to_python(self, value):
        return super().to_python(value.strip() if isinstance(value, str) else value)


class BackorderSubstituteForm(forms.Form):
    variant = SkuField(
        queryset=Variant.objects.all(),
        to_field_name="sku",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        label="Substitute SKU",
        error_messages={"invalid_choice": "There is no variant with that SKU."},
    )
    note = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea({"rows": 2}),
        help_text="e.g. how the customer agreed.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("variant", "note")


class BackorderCancelForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea({"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("reason")


class BackorderContactForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea({"rows": 3}),
        label="What the customer was told or asked",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("note")
