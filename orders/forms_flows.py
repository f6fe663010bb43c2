"""Forms of the drop-ship, pickup and local-delivery pages: input shape only; the rules are
the services' (orders.services.dropship, pickup, delivery)."""

from django import forms
from django.contrib.auth import get_user_model

from opsdesk.core.roles import Role
from orders.models import Carrier, DeliveryWindow, DeliveryZone
from orders.services.delivery import WEEKDAY_NAMES
from orders.services.flows import NOTE_MAX


class FlowForm(forms.Form):
    """Bootstrap classes on every field; a field with an error is marked invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                continue
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"


def attach(form: forms.Form, exc) -> None:
    """A service's ValidationError on the form: on its field when the form has it."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class CarrierChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Carrier.objects.filter(active=True).order_by("position", "name"),
            empty_label="Choose the carrier",
            **kwargs,
        )


class TrackingForm(FlowForm):
    carrier = CarrierChoiceField()
    tracking_number = forms.CharField(
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Type or scan it.",
    )


class HandoverForm(FlowForm):
    code = forms.CharField(
        label="Pickup code",
        required=False,
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "form-control form-control-lg font-monospace",
            }
        ),
    )
    order_number = forms.CharField(label="Order number", required=False, max_length=60)
    last_name = forms.CharField(label="Customer's last name", required=False, max_length=100)

    def clean(self):
        data = super().clean()
        if not data.get("code") and not (data.get("order_number") and data.get("last_name")):
            raise forms.ValidationError(
                "Enter the pickup code, or the order number and the customer's last name."
            )
        return data


class CancelUncollectedForm(FlowForm):
    reason = forms.CharField(required=False, max_length=NOTE_MAX)


def driver_choices() -> list[tuple[str, str]]:
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.FULFILLMENT)
    users = users.distinct().order_by("first_name", "username")
    return [
        ("", "Choose the driver"),
        *((str(u.pk), u.get_full_name() or u.get_username()) for u in users),
    ]


class ScheduleForm(FlowForm):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    window = forms.TypedChoiceField(coerce=int, label="Delivery window")
    driver = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, zone: DeliveryZone | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        windows = (
            DeliveryWindow.objects.filter(zone=zone, active=True).order_by("starts")
            if zone is not None
            else DeliveryWindow.objects.none()
        )
        self.fields["window"].choices = [
            ("", "Choose the window"),
            *[
                (
                    w.pk,
                    f"{w.starts:%H:%M}–{w.ends:%H:%M} "
                    f"({', '.join(WEEKDAY_NAMES[d][:3] for d in w.weekdays)})",
                )
                for w in windows
            ],
        ]
        self.fields["driver"].choices = driver_choices()


class DeliveredForm(FlowForm):
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        help_text="Where it was left, or who took it.",
    )


class FailedForm(FlowForm):
    reason = forms.CharField(max_length=NOTE_MAX, help_text="Why it could not be delivered.")


class RouteFilterForm(FlowForm):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    driver = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["driver"].choices = [("", "Every driver"), *driver_choices()[1:]]


class ZoneForm(FlowForm):
    name = forms.CharField(max_length=80)
    postcodes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line or comma separated; a trailing * matches a prefix (e.g. 941*).",
    )
    fee = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, initial=0)
    active = forms.BooleanField(required=False, initial=True)


class WindowForm(FlowForm):
    weekdays = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=list(enumerate(WEEKDAY_NAMES)),
        widget=forms.CheckboxSelectMultiple,
    )
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    capacity = forms.IntegerField(min_value=1, initial=20)
    active = forms.BooleanField(required=False, initial=True)
