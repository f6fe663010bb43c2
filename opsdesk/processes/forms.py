from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.contrib.auth import get_user_model

from opsdesk.processes.models import ShiftChange, Weekday

User = get_user_model()


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _staff():
    return (
        User.objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("first_name", "username")
    )


class ProcessAssignmentForm(forms.Form):
    primary = StaffChoiceField(queryset=_staff(), required=False, empty_label="— nobody —")
    backup = StaffChoiceField(queryset=_staff(), required=False, empty_label="— nobody —")
    assignees = StaffMultipleChoiceField(
        queryset=_staff(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who works this queue when on shift.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("primary", "backup", "assignees"):
            self.fields[name].queryset = _staff()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("primary"), Column("backup")),
            "assignees",
        )


class ProcessProcedureForm(forms.Form):
    target_minutes = forms.IntegerField(
        min_value=1, label="Target time (minutes)", help_text="How long an item may wait."
    )
    review_every_days = forms.IntegerField(
        min_value=1,
        required=False,
        label="Review every (days)",
        help_text="Only for periodic processes; leave empty otherwise.",
    )
    procedure = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        help_text="Markdown: **bold**, lists with 1. or -, links.",
    )
    checklist = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="One step per line.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("target_minutes"), Column("review_every_days")),
            "procedure",
            "checklist",
        )

    def checklist_steps(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data["checklist"].splitlines() if s.strip()]


class ShiftForm(forms.Form):
    user = StaffChoiceField(queryset=_staff(), label="Person")
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label="Day")
    start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _staff()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("user"), Column("weekday"), Column("start"), Column("end")),
            Submit("add_shift", "Add weekly shift", css_class="btn-primary btn-sm"),
        )


class ShiftChangeForm(forms.Form):
    user = StaffChoiceField(queryset=_staff(), label="Person")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=ShiftChange.Kind.choices)
    start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    note = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _staff()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("user"), Column("date"), Column("kind")),
            Row(Column("start"), Column("end"), Column("note")),
            Submit("add_change", "Add time off or cover", css_class="btn-primary btn-sm"),
        )
