from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from opsdesk.core.permissions import role_required, staff_required
from opsdesk.core.roles import ASSIGNMENT_EDITORS, OVERSIGHT_ROLES, user_has_role
from opsdesk.processes import selectors, services
from opsdesk.processes.forms import (
    ProcessAssignmentForm,
    ProcessProcedureForm,
    ShiftChangeForm,
    ShiftForm,
)
from opsdesk.processes.models import Process, Shift, ShiftChange, WorkItem
from opsdesk.processes.readiness import readiness_run

# What each queue will hold once its area is built, shown while it is empty.
QUEUE_EMPTY_TEXT = {
    Process.Key.ORDER_REVIEW: "New web orders waiting for review will appear here.",
    Process.Key.FRAUD_REVIEW: "Orders the fraud rules flag will appear here.",
    Process.Key.PICK_PACK_SHIP: "Approved orders to pick, pack and ship will appear here.",
    Process.Key.DROP_SHIP: "Drop-ship lines waiting for their vendor will appear here.",
    Process.Key.STORE_PICKUP: "Orders to get ready for pickup and hand over will appear here.",
    Process.Key.LOCAL_DELIVERY: "Orders for the local delivery routes will appear here.",
    Process.Key.SHIPPING_NOTICE: "Shipping notices that could not be sent will appear here.",
    Process.Key.OUT_OF_STOCK: "Order lines that could not be reserved will appear here.",
    Process.Key.RECEIVING: "Purchase orders due from vendors will appear here.",
    Process.Key.POS_SYNC: "POS files to preview and apply will appear here.",
    Process.Key.WEB_READY_DATA: "Items missing a picture, description or price will appear here.",
    Process.Key.RETURNS: "Return requests to decide, receive and inspect will appear here.",
    Process.Key.REFUNDS: "Refunds to check and issue will appear here.",
    Process.Key.SITE_UPDATES: "Hours, banners, sales and pages due for review will appear here.",
    Process.Key.BOOKKEEPING: "Periods to check, export and close will appear here.",
}


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


@staff_required
def my_work(request: HttpRequest) -> HttpResponse:
    processes = selectors.user_on_duty_processes(user=request.user)
    queues = selectors.work_item_queue(processes=processes)
    sections = [
        {
            "process": p,
            "items": queues.get(p.pk, []),
            "empty_text": QUEUE_EMPTY_TEXT.get(p.key, "Work for this process will appear here."),
        }
        for p in processes
    ]
    return render(request, "processes/my_work.html", {"sections": sections})


@staff_required
def process_list(request: HttpRequest) -> HttpResponse:
    processes = selectors.process_list_with_assignments()
    return render(
        request,
        "processes/process_list.html",
        {
            "processes": processes,
            "can_edit": user_has_role(request.user, *ASSIGNMENT_EDITORS),
            "unassigned": sum(p.unassigned for p in processes),
        },
    )


@staff_required
def process_detail(request: HttpRequest, key: str) -> HttpResponse:
    try:
        process = selectors.process_get_for_detail(key=key)
    except Process.DoesNotExist:
        raise Http404("No such process.") from None
    if not selectors.process_visible_to(process=process, user=request.user):
        return render(
            request, "403.html", {"required_roles": [process.owner_role.name]}, status=403
        )
    return render(
        request,
        "processes/process_detail.html",
        {
            "process": process,
            "on_duty": selectors.process_on_duty_users(process=process),
            "events": process.events.select_related("actor")[:20],
            "can_edit": user_has_role(request.user, *ASSIGNMENT_EDITORS),
            "can_review": user_has_role(request.user, *OVERSIGHT_ROLES)
            or request.user.pk in (process.primary_id, process.backup_id),
        },
    )


@role_required(*ASSIGNMENT_EDITORS)
def process_edit(request: HttpRequest, key: str) -> HttpResponse:
    process = get_object_or_404(Process.objects.select_related("primary", "backup"), key=key)
    assignment_initial = {
        "primary": process.primary,
        "backup": process.backup,
        "assignees": list(process.assignees.all()),
    }
    procedure_initial = {
        "target_minutes": process.target_minutes,
        "review_every_days": process.review_every_days,
        "procedure": process.procedure,
        "checklist": "\n".join(process.checklist),
    }
    assignment_form = ProcessAssignmentForm(initial=assignment_initial, prefix="a")
    procedure_form = ProcessProcedureForm(initial=procedure_initial, prefix="p")
    if request.method == "POST":
        if "save_assignment" in request.POST:
            assignment_form = ProcessAssignmentForm(request.POST, prefix="a")
            if assignment_form.is_valid():
                data = assignment_form.cleaned_data
                try:
                    services.process_assign(
                        process_id=process.pk,
                        primary_id=data["primary"].pk if data["primary"] else None,
                        backup_id=data["backup"].pk if data["backup"] else None,
                        assignee_ids=[u.pk for u in data["assignees"]],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    _attach(assignment_form, exc)
                else:
                    messages.success(request, f"Saved who handles {process.name}.")
                    return redirect("processes:edit", key=process.key)
        elif "save_procedure" in request.POST:
            procedure_form = ProcessProcedureForm(request.POST, prefix="p")
            if procedure_form.is_valid():
                data = procedure_form.cleaned_data
                try:
                    services.process_update_procedure(
                        process_id=process.pk,
                        procedure=data["procedure"],
                        checklist=procedure_form.checklist_steps(),
                        target_minutes=data["target_minutes"],
                        review_every_days=data["review_every_days"],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    _attach(procedure_form, exc)
                else:
                    messages.success(request, f"Saved the procedure of {process.name}.")
                    return redirect("processes:edit", key=process.key)
        if assignment_form.errors or procedure_form.errors:
            messages.error(request, "Nothing was saved: correct the fields marked below.")
    return render(
        request,
        "processes/process_edit.html",
        {
            "process": process,
            "assignment_form": assignment_form,
            "procedure_form": procedure_form,
        },
    )


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@staff_required
@require_POST
def process_mark_reviewed(request: HttpRequest, key: str) -> HttpResponse:
    process = get_object_or_404(Process, key=key)
    allowed = user_has_role(request.user, *OVERSIGHT_ROLES) or request.user.pk in (
        process.primary_id,
        process.backup_id,
    )
    if not allowed:
        return render(request, "403.html", {"required_roles": OVERSIGHT_ROLES}, status=403)
    services.process_mark_reviewed(process_id=process.pk, actor=request.user)
    messages.success(request, f"Recorded a review of {process.name}.")
    return redirect(process.get_absolute_url())


@staff_required
def shifts(request: HttpRequest) -> HttpResponse:
    can_edit = user_has_role(request.user, *OVERSIGHT_ROLES)
    shift_form = ShiftForm(prefix="s")
    change_form = ShiftChangeForm(prefix="c")
    if request.method == "POST":
        if not can_edit:
            return render(request, "403.html", {"required_roles": OVERSIGHT_ROLES}, status=403)
        if "add_shift" in request.POST:
            shift_form = ShiftForm(request.POST, prefix="s")
            if shift_form.is_valid():
                data = shift_form.cleaned_data
                try:
                    services.shift_add(
                        user_id=data["user"].pk,
                        weekday=data["weekday"],
                        start=data["start"],
                        end=data["end"],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    _attach(shift_form, exc)
                else:
                    messages.success(request, "Added the shift to the weekly roster.")
                    return redirect(request.get_full_path())
        elif "add_change" in request.POST:
            change_form = ShiftChangeForm(request.POST, prefix="c")
            if change_form.is_valid():
                data = change_form.cleaned_data
                try:
                    services.shift_change_add(
                        user_id=data["user"].pk,
                        on=data["date"],
                        kind=data["kind"],
                        start=data["start"],
                        end=data["end"],
                        note=data["note"],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    _attach(change_form, exc)
                else:
                    messages.success(request, "Recorded the change to the roster.")
                    return redirect(request.get_full_path())
        messages.error(request, "Nothing was saved: correct the fields marked below.")
    week_of = None
    if request.GET.get("week"):
        week_of = parse_date(request.GET["week"])
        if week_of is None:
            messages.error(request, "That week is not a date (YYYY-MM-DD); showing this week.")
    grid = selectors.shift_week_grid(week_of=week_of)
    return render(
        request,
        "processes/shifts.html",
        {
            "grid": grid,
            "can_edit": can_edit,
            "shift_form": shift_form,
            "change_form": change_form,
            "prev_week": grid["monday"] - timedelta(days=7),
            "next_week": grid["monday"] + timedelta(days=7),
            "gaps": selectors.watched_hours_gaps(),
        },
    )


@role_required(*OVERSIGHT_ROLES)
@require_POST
def shift_delete(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = get_object_or_404(Shift, pk=shift_id)
    services.shift_remove(shift_id=shift.pk, actor=request.user)
    messages.success(request, "Removed the shift from the weekly roster.")
    return redirect(_back(request, reverse("processes:shifts")))


@role_required(*OVERSIGHT_ROLES)
@require_POST
def shift_change_delete(request: HttpRequest, change_id: int) -> HttpResponse:
    change = get_object_or_404(ShiftChange, pk=change_id)
    services.shift_change_remove(change_id=change.pk, actor=request.user)
    messages.success(request, "Withdrew the change.")
    return redirect(_back(request, reverse("processes:shifts")))


@staff_required
@require_POST
def work_item_claim(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(WorkItem, pk=item_id)
    try:
        services.work_item_claim(item_id=item.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"You claimed “{item.title}”.")
    return redirect(_back(request, reverse("processes:my_work")))


@staff_required
@require_POST
def work_item_done(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(WorkItem, pk=item_id)
    try:
        services.work_item_close(item_id=item.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Marked “{item.title}” done.")
    return redirect(_back(request, reverse("processes:my_work")))


@role_required(*OVERSIGHT_ROLES)
def readiness(request: HttpRequest) -> HttpResponse:
    results = readiness_run()
    return render(
        request,
        "processes/readiness.html",
        {"results": results, "passed": sum(r.ok for r in results)},
    )


@staff_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    processes: list[Process] = []
    items: list[WorkItem] = []
    if query:
        processes = list(
            Process.objects.filter(
                Q(name__icontains=query)
                | Q(summary__icontains=query)
                | Q(procedure__icontains=query)
            )[:20]
        )
        items = list(
            WorkItem.objects.filter(title__icontains=query)
            .select_related("process")
            .order_by("-created_at")[:20]
        )
    return render(
        request,
        "processes/search.html",
        {"query": query, "processes": processes, "items": items},
    )
