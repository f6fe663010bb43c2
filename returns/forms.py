"""Forms of the returns pages: input shape only; the rules are the services'."""

from decimal import Decimal

from django import forms

from inventory.models import Location
from returns.models import RefundMethod, ReturnLine, ReturnPolicy
from returns.services.common import REASON_MAX, TEXT_MAX

SMALL = {"class": "form-control"}


class OrderLookupForm(forms.Form):
    """Staff: find the order the customer calls about."""

    order = forms.CharField(
        max_length=60,
        label="Order number",
        widget=forms.TextInput(attrs={**SMALL, "autofocus": True, "autocomplete": "off"}),
    )


class ReturnCreateForm(forms.Form):
    """Quantities per order line (qty_<line id>), the reason and the refund method."""

    reason = forms.ChoiceField(widget=forms.Select(attrs={"class": "form-select"}))
    refund_method = forms.ChoiceField(
        choices=RefundMethod.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    customer_note = forms.CharField(
        max_length=TEXT_MAX,
        required=False,
        label="What the customer said",
        widget=forms.Textarea(attrs={**SMALL, "rows": 2}),
    )

    def __init__(self, *args, policy: ReturnPolicy, line_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = policy.reason_choices
        self.fields["refund_method"].choices = [
            (m, RefundMethod(m).label) for m in policy.refund_methods
        ]
        for line_id in line_ids:
            self.fields[f"qty_{line_id}"] = forms.IntegerField(
                min_value=0,
                max_value=10000,
                required=False,
                initial=0,
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}),
            )
        self.line_ids = line_ids

    def lines(self) -> dict[int, int]:
        return {
            line_id: self.cleaned_data.get(f"qty_{line_id}") or 0
            for line_id in self.line_ids
            if self.cleaned_data.get(f"qty_{line_id}")
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.TextInput(attrs=SMALL),
        error_messages={"required": "Give the reason."},
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        max_length=REASON_MAX, required=False, widget=forms.TextInput(attrs=SMALL)
    )


class ScanForm(forms.Form):
    code = forms.CharField(
        max_length=80,
        label="Scan the return label (or type the return or order number)",
        widget=forms.TextInput(
            attrs={**SMALL, "autofocus": True, "autocomplete": "off", "inputmode": "text"}
        ),
    )


class InspectForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (ReturnLine.Outcome.RESTOCK, "Restock"),
            (ReturnLine.Outcome.WRITE_OFF, "Write off (damaged)"),
            (ReturnLine.Outcome.RETURN_TO_VENDOR, "Return to vendor"),
        ],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(active=True).exclude(kind=Location.Kind.VENDOR),
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    note = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class RefundForm(forms.Form):
    include_shipping = forms.BooleanField(required=False, label="Refund the shipping too")
    provider_reference = forms.CharField(
        max_length=120,
        required=False,
        label="Payment provider's refund reference",
        widget=forms.TextInput(attrs={**SMALL, "autocomplete": "off"}),
    )


class ProviderReferenceForm(forms.Form):
    provider_reference = forms.CharField(
        max_length=120,
        required=False,
        label="Payment provider's refund reference",
        widget=forms.TextInput(attrs={**SMALL, "autocomplete": "off", "autofocus": True}),
    )


class PolicyForm(forms.Form):
    """The policy settings; reasons one per line: code, label, fee %, item back first."""

    window_days = forms.IntegerField(
        min_value=0, max_value=3650, widget=forms.NumberInput(attrs=SMALL)
    )
    condition_required = forms.CharField(max_length=255, widget=forms.TextInput(attrs=SMALL))
    return_shipping_paid_by = forms.ChoiceField(
        choices=ReturnPolicy.ShippingPaidBy.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    refund_methods = forms.MultipleChoiceField(
        choices=RefundMethod.choices, widget=forms.CheckboxSelectMultiple
    )
    reasons = forms.CharField(
        widget=forms.Textarea(attrs={**SMALL, "rows": 4}),
        help_text="One per line: code | label | restocking fee % | item back first (yes/no)",
    )
    final_sale_category_ids = forms.CharField(
        required=False,
        label="Final-sale category ids",
        widget=forms.TextInput(attrs=SMALL),
        help_text="Comma separated.",
    )
    final_sale_product_ids = forms.CharField(
        required=False,
        label="Final-sale product ids",
        widget=forms.TextInput(attrs=SMALL),
        help_text="Comma separated.",
    )
    refund_approval_threshold = forms.DecimalField(
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs=SMALL),
    )
    public_requests_per_hour = forms.IntegerField(
        min_value=1, max_value=1000, widget=forms.NumberInput(attrs=SMALL)
    )
    extra_terms = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={**SMALL, "rows": 4}),
        label="More terms (Markdown)",
    )

    @staticmethod
    def _ids(value: str) -> list[int]:
        parts = [p.strip() for p in (value or "").replace("\n", ",").split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError("Give ids as numbers separated by commas.")
        return [int(p) for p in parts]

    def clean_final_sale_category_ids(self) -> list[int]:
        return self._ids(self.cleaned_data["final_sale_category_ids"])

    def clean_final_sale_product_ids(self) -> list[int]:
        return self._ids(self.cleaned_data["final_sale_product_ids"])

    def clean_reasons(self):
        from returns.services.policy import PolicyReason

        reasons = []
        for number, row in enumerate(self.cleaned_data["reasons"].splitlines(), start=1):
            if not row.strip():
                continue
            parts = [p.strip() for p in row.split("|")]
            if len(parts) != 4:
                raise forms.ValidationError(f"Line {number}: give code | label | fee % | yes/no.")
            try:
                fee = Decimal(parts[2] or "0")
            except ArithmeticError:
                raise forms.ValidationError(f"Line {number}: the fee is a number.") from None
            back = parts[3].lower()
            if back not in ("yes", "no"):
                raise forms.ValidationError(f"Line {number}: say yes or no for item back first.")
            reasons.append(PolicyReason(parts[0], parts[1], fee, back == "yes"))
        return reasons


def policy_initial(policy: ReturnPolicy | None) -> dict:
    if policy is None:
        return {
            "window_days": 30,
            "condition_required": "Unused, with its tags, in its original packaging.",
            "return_shipping_paid_by": ReturnPolicy.ShippingPaidBy.CUSTOMER,
            "refund_methods": [RefundMethod.ORIGINAL, RefundMethod.STORE_CREDIT],
            "reasons": "changed_mind | Changed my mind | 0 | yes\n"
            "damaged | Arrived damaged | 0 | no\nwrong_item | Wrong item sent | 0 | yes",
            "refund_approval_threshold": Decimal("200.00"),
            "public_requests_per_hour": 10,
        }
    return {
        "window_days": policy.window_days,
        "condition_required": policy.condition_required,
        "return_shipping_paid_by": policy.return_shipping_paid_by,
        "refund_methods": policy.refund_methods,
        "reasons": "\n".join(
            f"{r['code']} | {r['label']} | {r.get('restocking_fee_percent', '0')} | "
            f"{'yes' if r.get('receive_first', True) else 'no'}"
            for r in policy.reasons
        ),
        "final_sale_category_ids": ", ".join(map(str, policy.final_sale_category_ids)),
        "final_sale_product_ids": ", ".join(map(str, policy.final_sale_product_ids)),
        "refund_approval_threshold": policy.refund_approval_threshold,
        "public_requests_per_hour": policy.public_requests_per_hour,
        "extra_terms": policy.extra_terms,
    }


class PublicLookupForm(forms.Form):
    number = forms.CharField(
        max_length=60,
        label="Order number",
        widget=forms.TextInput(attrs={**SMALL, "autofocus": True, "autocomplete": "off"}),
    )
    email = forms.EmailField(
        max_length=254,
        label="E-mail address used for the order",
        widget=forms.EmailInput(attrs={**SMALL, "autocomplete": "email"}),
    )


class CreditSpendForm(forms.Form):
    order = forms.CharField(
        max_length=60,
        label="Order number",
        widget=forms.TextInput(attrs={**SMALL, "autocomplete": "off", "autofocus": True}),
    )
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        label="Amount",
        widget=forms.NumberInput(attrs={**SMALL, "step": "0.01"}),
    )
