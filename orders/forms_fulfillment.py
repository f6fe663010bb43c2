"""Forms of the fulfillment pages: input shape only; the rules are the services'."""

from django import forms

from orders.models import Carrier
from orders.services.fulfillment import NOTE_MAX
from orders.services.picking import PICK_LIST_MAX, TRACKING_MAX


class FulfillmentForm(forms.Form):
    """Fields carry Bootstrap's classes; a field with an error is marked invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput | forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-control")

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"


class PickListCreateForm(FulfillmentForm):
    location = forms.IntegerField(widget=forms.HiddenInput)
    shipments = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the service checks each one (location, status).
        raw = self.data.getlist("shipments") if hasattr(self.data, "getlist") else []
        self.fields["shipments"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean_shipments(self):
        ids = self.cleaned_data["shipments"]
        if not ids:
            raise forms.ValidationError("Tick the shipments to pick first.")
        if len(ids) > PICK_LIST_MAX:
            raise forms.ValidationError(f"A pick list takes at most {PICK_LIST_MAX} shipments.")
        return ids


class ScanForm(FulfillmentForm):
    code = forms.CharField(
        max_length=64,
        label="Scan or type a barcode or SKU",
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "inputmode": "text",
                "class": "form-control form-control-lg font-monospace",
            }
        ),
    )


class ShipForm(FulfillmentForm):
    carrier = forms.ModelChoiceField(
        queryset=Carrier.objects.filter(active=True), empty_label="Choose the carrier"
    )
    tracking_number = forms.CharField(
        max_length=TRACKING_MAX,
        label="Tracking number (type or scan)",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "form-control font-monospace",
            }
        ),
    )


class CancelShipmentForm(FulfillmentForm):
    reason = forms.CharField(max_length=NOTE_MAX, label="Why is it cancelled?")
