from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from opsdesk.core.permissions import role_required
from opsdesk.core.roles import ASSIGNMENT_EDITORS, OVERSIGHT_ROLES, user_has_role
from opsdesk.dashboard.forms import DailySummaryScheduleForm
from opsdesk.dashboard.selectors import dashboard_get
from opsdesk.dashboard.services import daily_summary_schedule_update


@role_required(*OVERSIGHT_ROLES)
def dashboard_index(request: HttpRequest) -> HttpResponse:
    return _index_render(request, schedule_form=None)


# role_required outermost: a visitor without the role gets the login page or a 403, never
# a 405 that would confirm what the URL does.
@role_required(*ASSIGNMENT_EDITORS)
@require_POST
def daily_summary_schedule(request: HttpRequest) -> HttpResponse:
    form = DailySummaryScheduleForm(request.POST)
    if not form.is_valid():
        return _index_render(request, schedule_form=form, status=400)
    schedule = daily_summary_schedule_update(
        send_at=form.cleaned_data["send_at"],
        enabled=form.cleaned_data["enabled"],
        actor=request.user,
    )
    if schedule.enabled:
        messages.success(request, f"The daily summary will be sent at {schedule.send_at:%H:%M}.")
    else:
        messages.success(request, "The daily summary is turned off.")
    return redirect("dashboard:index")


def _index_render(
    request: HttpRequest, *, schedule_form: DailySummaryScheduleForm | None, status: int = 200
) -> HttpResponse:
    dashboard = dashboard_get()
    can_edit_schedule = user_has_role(request.user, *ASSIGNMENT_EDITORS)
    if can_edit_schedule and schedule_form is None:
        schedule_form = DailySummaryScheduleForm(
            initial={
                "send_at": dashboard.schedule.send_at,
                "enabled": dashboard.schedule.enabled,
            }
        )
    return render(
        request,
        "dashboard/index.html",
        {
            "dashboard": dashboard,
            "schedule_form": schedule_form if can_edit_schedule else None,
        },
        status=status,
    )
