from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, Submit
from django import forms
from django.urls import reverse
from django.utils import timezone


class DailySummaryScheduleForm(forms.Form):
    send_at = forms.TimeField(
        label="Send at",
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": "Enter the time of day to send the summary, for example 07:30.",
            "invalid": "Enter a time of day as HH:MM (24-hour clock), for example 07:30.",
        },
    )
    enabled = forms.BooleanField(label="Send the daily summary", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tz_name = timezone.get_default_timezone_name()
        self.fields[
            "send_at"
        ].help_text = f"Local time of day in the store's time zone ({tz_name})."
        self.helper = FormHelper()
        self.helper.form_action = reverse("dashboard:daily_summary_schedule")
        self.helper.form_method = "post"
        self.helper.form_id = "daily-summary-schedule"
        self.helper.layout = Layout(
            Div(Div("send_at", css_class="col-sm-6 col-lg-4"), css_class="row"), "enabled"
        )
        self.helper.add_input(Submit("save", "Save schedule", css_class="btn-sm"))
