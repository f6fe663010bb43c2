"""Forms for receiving and the POS sync: input shape only (the services check the rest)."""

from decimal import Decimal, InvalidOperation

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from catalog.models import Vendor
from inventory.models import Location, PosSyncRun
from inventory.pos_formats import MAX_UPLOAD_BYTES
from inventory.services.receiving import LineInput


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


class PurchaseOrderForm(forms.Form):
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.none())
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), label="Arrives at", help_text="Where the goods arrive."
    )
    number = forms.CharField(
        max_length=40, required=False, help_text="Leave empty to number it PO-00001, ..."
    )
    expected_at = forms.DateField(
        required=False, label="Expected on", widget=forms.DateInput(attrs={"type": "date"})
    )
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace"}),
        help_text="One line per item: SKU, quantity, and optionally the unit cost. "
        "For example: TEE-BLK-M, 12, 6.40",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")
        self.fields["location"].queryset = (
            Location.objects.filter(active=True)
            .exclude(kind=Location.Kind.VENDOR)
            .order_by("web_priority", "name")
        )
        self.helper = _helper(
            Row(Column("vendor"), Column("location")),
            Row(Column("number"), Column("expected_at")),
            "lines",
        )

    def clean_lines(self) -> list[LineInput]:
        parsed: list[LineInput] = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not raw.strip():
                continue
            parts = [part.strip() for part in raw.replace(";", ",").replace("\t", ",").split(",")]
            if len(parts) < 2 or not parts[0]:
                raise forms.ValidationError(f"Line {number}: give a SKU and a quantity.")
            try:
                quantity = int(parts[1])
            except ValueError:
                raise forms.ValidationError(
                    f"Line {number}: “{parts[1]}” is not a whole number."
                ) from None
            cost = None
            if len(parts) > 2 and parts[2]:
                try:
                    cost = Decimal(parts[2].lstrip("$"))
                except InvalidOperation:
                    raise forms.ValidationError(
                        f"Line {number}: “{parts[2]}” is not a unit cost."
                    ) from None
                if cost < 0 or cost.as_tuple().exponent < -2:
                    raise forms.ValidationError(f"Line {number}: “{parts[2]}” is not a unit cost.")
            parsed.append(LineInput(sku=parts[0], quantity=quantity, unit_cost=cost))
        if not parsed:
            raise forms.ValidationError("Add at least one line: a SKU and a quantity.")
        return parsed


class ScanForm(forms.Form):
    code = forms.CharField(max_length=200, strip=True)


class CountAdjustForm(forms.Form):
    variant_id = forms.IntegerField(required=False)
    code = forms.CharField(max_length=200, required=False)
    delta = forms.TypedChoiceField(choices=[("1", "+1"), ("-1", "−1")], coerce=int)


class ReceiptPostForm(forms.Form):
    key = forms.CharField(max_length=64)


class UnknownResolveForm(forms.Form):
    title = forms.CharField(max_length=255, required=False)
    sku = forms.CharField(
        max_length=64,
        required=False,
        help_text="Empty: the scanned code (RCV-<code> for barcodes).",
    )
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Row(Column("title", css_class="col-md-5"), Column("sku"), Column("price"))
        )


class PosUploadForm(forms.Form):
    file = forms.FileField(
        label="POS file",
        help_text=f"CSV, up to {MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    format = forms.ChoiceField(
        choices=[
            (PosSyncRun.Format.SQUARE, PosSyncRun.Format.SQUARE.label),
            (PosSyncRun.Format.PLAIN, PosSyncRun.Format.PLAIN.label),
        ],
        initial=PosSyncRun.Format.SQUARE,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("file", "format")
