"""The review queue and the order page. Actions post to their own URLs: a normal request is
redirected back (post/redirect/get); an htmx request gets the changed fragments (the status
panel, and the timeline out of band)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from opsdesk.core.permissions import role_required
from opsdesk.core.roles import Role, user_roles
from orders import selectors
from orders.forms_review import (
    AGES,
    LATE,
    ApproveForm,
    BulkApproveForm,
    CancelForm,
    ClaimForm,
    CommentForm,
    HoldForm,
    QueueFilterForm,
    ReleaseForm,
)
from orders.models import Order, RiskAssessment
from orders.services import review

REVIEW_ROLES = (Role.ORDER_REVIEWER, Role.MANAGER, Role.OWNER, Role.ADMIN)
# Who may open a return (the returns area's staff; orders does not import returns).
RETURN_OPENERS = {Role.CUSTOMER_SERVICE, Role.MANAGER, Role.OWNER, Role.ADMIN}
DETAIL = "orders/order_detail.html"
QUEUE = "orders/order_queue.html"
HISTORY_LIMIT = 10


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# The queue -----------------------------------------------------------------------------------


@role_required(*REVIEW_ROLES)
def order_queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    target = selectors.review_target()
    late_before = selectors.late_before(target=target)
    created_before = None
    if filters.age == LATE:
        created_before = late_before
    elif filters.age in AGES:
        created_before = selectors.late_before(target=AGES[filters.age])
    orders = selectors.order_list_for_review(
        statuses=filters.statuses,
        risk=filters.risk,
        channel_id=filters.channel_id,
        method=filters.method,
        created_before=created_before,
    )
    page = selectors.queue_page(orders, page=request.GET.get("page"), late_before=late_before)
    return render(
        request,
        QUEUE,
        {
            "filters": form.selects(),
            "page": page,
            "target_minutes": int(target.total_seconds() // 60),
            "queue_url": request.get_full_path(),
        },
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_bulk_approve(request: HttpRequest) -> HttpResponse:
    back = _safe_next(request, reverse("orders:queue"))
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the orders to approve first.")
        return redirect(back)
    result = review.order_bulk_approve_low_risk(
        order_ids=form.cleaned_data["order"], actor=request.user
    )
    if result.approved:
        n = len(result.approved)
        messages.success(request, f"Approved {n} order{'s' if n != 1 else ''}.")
    for refusal in result.refused:
        messages.warning(request, str(refusal))
    return redirect(back)


# The order page ----------------------------------------------------------------------------


def _order(order_id: int) -> Order:
    try:
        return selectors.order_get_for_detail(order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


def _context(request: HttpRequest, order: Order, **forms) -> dict:
    allowed = Order.ALLOWED_TRANSITIONS.get(order.status, ())
    claimed_by_other = order.claimed_by_id is not None and order.claimed_by_id != request.user.pk
    if order.claimed_by_id is not None and not claimed_by_other:
        order.claimed_by = request.user  # the reviewer's own claim: no query for the name
    return {
        "order": order,
        "lines": order.line_list,
        "events": order.timeline,
        "risk": _risk(order),
        "claimed_by_other": claimed_by_other,
        "can_claim": order.status in selectors.OPEN_STATUSES,
        "can_approve": Order.Status.APPROVED in allowed,
        "can_hold": Order.Status.ON_HOLD in allowed,
        "can_release": order.status == Order.Status.ON_HOLD,
        "can_cancel": Order.Status.CANCELLED in allowed,
        "can_open_return": bool(user_roles(request.user) & RETURN_OPENERS),
        "hold_fields": _form_fields(forms.get("hold"), HoldForm),
        "cancel_fields": _form_fields(forms.get("cancel"), CancelForm),
        "release_fields": _form_fields(forms.get("release"), ReleaseForm),
        "comment_fields": _form_fields(forms.get("comment"), CommentForm),
        "action_form": forms.get("action"),
    }


def _form_fields(form: Form | None, form_class: type[Form]) -> str:
    """A form's fields as the page shows them (its `form_fields` partial): the form given,
    with its input and errors, or else a blank one."""
    if form is None:
        return _blank_form_fields(form_class)
    return render_to_string(f"{DETAIL}#form_fields", {"form": form})


@cache
def _blank_form_fields(form_class: type[Form]) -> str:
    """A blank form's fields, the same on every page: rendered once per process (Django's
    widget templates cost some half a millisecond a field, three or four forms a page)."""
    return render_to_string(f"{DETAIL}#form_fields", {"form": form_class()})


def _risk(order: Order) -> RiskAssessment | None:
    try:
        return order.risk
    except RiskAssessment.DoesNotExist:
        return None


def _page(request: HttpRequest, order: Order, **forms) -> HttpResponse:
    """The whole order page: the fragments' context and the customer's history."""
    context = _context(request, order, **forms)
    context.update(
        history=selectors.customer_order_history(order=order, limit=HISTORY_LIMIT),
        history_limit=HISTORY_LIMIT,
    )
    return render(request, DETAIL, context)


@role_required(*REVIEW_ROLES)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _order(pk))


def _step(request: HttpRequest, pk: int, *, forward: bool) -> HttpResponse:
    # Worked out when asked (j/k), not on every page view: the queue may have moved on.
    try:
        order = Order.objects.only("pk", "created_at").get(pk=pk)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    previous_id, next_id = selectors.order_queue_neighbours(order=order)
    target = next_id if forward else previous_id
    if target is None:
        messages.info(
            request,
            "No more orders waiting for review after this one."
            if forward
            else "No orders waiting for review before this one.",
        )
        return redirect("orders:queue")
    return redirect("orders:detail", pk=target)


@role_required(*REVIEW_ROLES)
def order_next(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, forward=True)


@role_required(*REVIEW_ROLES)
def order_previous(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, forward=False)


def _fragments(request: HttpRequest, pk: int, *, notice: str = "", **forms) -> HttpResponse:
    """The status panel, and the timeline swapped in out of band."""
    context = _context(request, _order(pk), **forms)
    context["notice"] = notice
    panel = render_to_string(f"{DETAIL}#status_panel", context, request=request)
    timeline = render_to_string(f"{DETAIL}#timeline", {**context, "oob": True}, request=request)
    return HttpResponse(panel + timeline)


def _act(
    request: HttpRequest,
    pk: int,
    *,
    form,
    form_key: str,
    call: Callable[..., object],
    done: str,
) -> HttpResponse:
    """Bind, call one service, then redirect (or re-render the fragments for htmx)."""
    if form.is_valid():
        try:
            call(order_id=pk, actor=request.user, **form.cleaned_data)
        except Order.DoesNotExist:
            raise Http404("No such order.") from None
        except ValidationError as exc:
            _attach(form, exc)
        else:
            if request.htmx:
                return _fragments(request, pk, notice=done)
            messages.success(request, done)
            return redirect("orders:detail", pk=pk)
    if request.htmx:
        return _fragments(request, pk, **{form_key: form})
    # Without htmx, the whole page again, with the form and its errors.
    return _page(request, _order(pk), **{form_key: form})


@role_required(*REVIEW_ROLES)
@require_POST
def order_claim(request: HttpRequest, pk: int) -> HttpResponse:
    form = ClaimForm(request.POST)
    taking_over = request.POST.get("take_over") in ("1", "true", "True", "on")
    return _act(
        request,
        pk,
        form=form,
        form_key="action",
        call=review.order_claim,
        done="You took this order over." if taking_over else "You claimed this order.",
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_approve(request: HttpRequest, pk: int) -> HttpResponse:
    if request.POST.get("fragment") == "row":
        return _approve_row(request, pk)
    return _act(
        request,
        pk,
        form=ApproveForm(request.POST),
        form_key="action",
        call=review.order_approve,
        done="Approved.",
    )


def _approve_row(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve from the queue: the row comes back, approved or with the reason it is not."""
    error = ""
    try:
        review.order_approve(order_id=pk, actor=request.user)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.htmx:
        if error:
            messages.warning(request, error)
        else:
            messages.success(request, "Approved.")
        return redirect(_safe_next(request, reverse("orders:queue")))
    rows = selectors.queue_rows(
        selectors.order_list_for_review(statuses=()).filter(pk=pk),
        late_before=selectors.late_before(target=selectors.review_target()),
    )
    if not rows:
        raise Http404("No such order.")
    return render(
        request,
        f"{QUEUE}#queue_row",
        {
            "row": rows[0],
            "row_error": error,
        },
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_hold(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=HoldForm(request.POST),
        form_key="hold",
        call=review.order_hold,
        done="Put on hold.",
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_release(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=ReleaseForm(request.POST),
        form_key="release",
        call=review.order_release_hold,
        done="Back in the review queue.",
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=CancelForm(request.POST),
        form_key="cancel",
        call=review.order_cancel,
        done="Cancelled.",
    )


@role_required(*REVIEW_ROLES)
@require_POST
def order_comment(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=CommentForm(request.POST),
        form_key="comment",
        call=review.order_comment,
        done="Comment added.",
    )
