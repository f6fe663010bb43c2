from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from opsdesk.notifications.models import NotificationPreference
from opsdesk.processes.models import Process

PROCESS_FIELD_PREFIX = "process_"
DEFAULT_MODE = NotificationPreference.Mode.IMMEDIATE


class NotificationPreferencesForm(forms.Form):
    """One select per process: how its notifications reach this person by e-mail."""

    def __init__(self, *args, processes: list[Process], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for process in processes:
            self.fields[f"{PROCESS_FIELD_PREFIX}{process.pk}"] = forms.ChoiceField(
                label=process.name,
                choices=NotificationPreference.Mode.choices,
                initial=getattr(process, "notification_mode", DEFAULT_MODE),
                help_text=process.summary,
            )
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.form_class = "form-horizontal"
        self.helper.label_class = "col-md-4 col-form-label"
        self.helper.field_class = "col-md-5"
        self.helper.add_input(Submit("save", "Save settings"))

    def modes(self) -> dict[int, str]:
        """The cleaned choices as {process id: mode}."""
        return {
            int(name.removeprefix(PROCESS_FIELD_PREFIX)): value
            for name, value in self.cleaned_data.items()
            if name.startswith(PROCESS_FIELD_PREFIX)
        }


class MailTestForm(forms.Form):
    to = forms.EmailField(
        label="Send to", help_text="An address you can check now, such as your own."
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.add_input(Submit("send", "Send a test message"))
