"""Forms of the review queue and the order page: input shape only; the rules are the services'."""

from dataclasses import dataclass
from datetime import timedelta

from django import forms

from orders.models import Order
from orders.selectors import channel_choices
from orders.services.review import COMMENT_MAX, REASON_MAX

DEFAULT_STATUS = Order.Status.AWAITING_REVIEW
OPEN = "open"
ALL = "all"
STATUS_CHOICES = [
    (Order.Status.AWAITING_REVIEW, "Awaiting review"),
    (Order.Status.ON_HOLD, "On hold"),
    (OPEN, "Awaiting review or on hold"),
    (Order.Status.RECEIVED, "Received (not checked yet)"),
    (Order.Status.APPROVED, "Approved"),
    (Order.Status.CANCELLED, "Cancelled"),
    (ALL, "Any status"),
]
NOT_ASSESSED = "none"
RISK_CHOICES = [
    ("", "Any risk"),
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
    (NOT_ASSESSED, "Not assessed"),
]
LATE = "late"
AGES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1)}
AGE_CHOICES = [
    ("", "Any age"),
    (LATE, "Late (past the target time)"),
    ("1h", "Older than 1 hour"),
    ("4h", "Older than 4 hours"),
    ("1d", "Older than a day"),
]


class ActionForm(forms.Form):
    """A form of the order page. The page renders these fields itself (the `form_fields`
    partial of order_detail.html), not through crispy: crispy's nested templates cost some
    6 ms a form, four forms a page, against a 20 ms budget for the page (bench/queues.py).
    Fields carry Bootstrap's classes; a field with an error is marked invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control form-control-sm")

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"


@dataclass(frozen=True)
class QueueFilters:
    statuses: tuple[str, ...]
    risk: str
    channel_id: int | None
    method: str
    age: str


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string (so a view can be bookmarked)."""

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    risk = forms.ChoiceField(choices=RISK_CHOICES, required=False)
    channel = forms.ChoiceField(required=False)
    method = forms.ChoiceField(
        choices=[("", "Any method"), *Order.Method.choices], required=False, label="Method"
    )
    age = forms.ChoiceField(choices=AGE_CHOICES, required=False)

    def __init__(self, data=None, **kwargs):
        data = data.copy() if data is not None else {}
        if not data.get("status"):
            data["status"] = DEFAULT_STATUS
        super().__init__(data, **kwargs)
        # The choices from the cache; validating a slug needs no query.
        rows = channel_choices()
        self.channels = {slug: pk for pk, slug, _ in rows}
        self.fields["channel"].choices = [("", "Any channel")] + [
            (slug, name) for _, slug, name in rows
        ]

    def selects(self) -> list[dict]:
        """The filters as plain select boxes: name, label and (value, label, selected) options.

        The queue renders these itself rather than through crispy: crispy's nested field
        templates cost more than the rest of the page (see bench/queues.py), and a row of
        select boxes needs no layout.
        """
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        chosen = {**data, "status": data.get("status") or DEFAULT_STATUS}
        return [
            {
                "name": name,
                "label": field.label or name.capitalize(),
                "options": [
                    (value, label, str(value) == str(chosen.get(name) or ""))
                    for value, label in field.choices
                ],
            }
            for name, field in self.fields.items()
        ]

    def filters(self) -> QueueFilters:
        """The valid filters; a value that is not one of the choices is ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        status = data.get("status") or DEFAULT_STATUS
        if status == ALL:
            statuses: tuple[str, ...] = ()
        elif status == OPEN:
            statuses = (Order.Status.AWAITING_REVIEW, Order.Status.ON_HOLD)
        else:
            statuses = (status,)
        return QueueFilters(
            statuses=statuses,
            risk=data.get("risk") or "",
            channel_id=self.channels.get(data.get("channel") or ""),
            method=data.get("method") or "",
            age=data.get("age") or "",
        )


class HoldForm(ActionForm):
    reason = forms.CharField(
        max_length=REASON_MAX,
        label="Reason for the hold",
        error_messages={"required": "Say why the order is held."},
        widget=forms.TextInput(
            attrs={"data-shortcut": "h", "placeholder": "e.g. waiting for the customer's call"}
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "hold_%s")
        super().__init__(*args, **kwargs)


class CancelForm(ActionForm):
    reason = forms.CharField(
        max_length=REASON_MAX,
        label="Reason for cancelling",
        error_messages={"required": "Say why the order is cancelled."},
        widget=forms.TextInput(attrs={"placeholder": "e.g. the customer asked to cancel"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "cancel_%s")
        super().__init__(*args, **kwargs)


class ReleaseForm(ActionForm):
    note = forms.CharField(max_length=REASON_MAX, required=False, label="Note (optional)")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "release_%s")
        super().__init__(*args, **kwargs)


class CommentForm(ActionForm):
    text = forms.CharField(
        max_length=COMMENT_MAX,
        label="Comment",
        error_messages={"required": "Write the comment first."},
        widget=forms.Textarea(attrs={"rows": 2, "data-shortcut": "c"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "comment_%s")
        super().__init__(*args, **kwargs)


class ApproveForm(forms.Form):
    """Approving carries no input; the form is there for its errors."""


class ClaimForm(forms.Form):
    take_over = forms.BooleanField(required=False, widget=forms.HiddenInput)


class BulkApproveForm(forms.Form):
    order = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id: the service reports the ones it cannot approve.
        values = self.data.getlist("order") if hasattr(self.data, "getlist") else []
        self.fields["order"].choices = [(v, v) for v in values if str(v).isdigit()]
