"""Returns pages: the staff queues, a return's page and its actions, refunds, the policy
editor; and the public pages (the published policy, its JSON, the customer's return form).

Actions post to their own URLs and redirect back with a flash message (post/redirect/get).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from opsdesk.core.clientip import client_ip
from opsdesk.core.permissions import public, role_required
from opsdesk.core.roles import OVERSIGHT_ROLES, Role, user_roles
from orders.models import Customer, Order
from returns import selectors
from returns.forms import (
    CreditSpendForm,
    InspectForm,
    NoteForm,
    OrderLookupForm,
    PolicyForm,
    ProviderReferenceForm,
    PublicLookupForm,
    ReasonForm,
    RefundForm,
    ReturnCreateForm,
    ScanForm,
    policy_initial,
)
from returns.models import Refund, ReturnLine, ReturnRequest
from returns.services import refunds, requests
from returns.services.policy import PolicyData, policy_current, policy_publish

RETURNS_ROLES = (Role.CUSTOMER_SERVICE, *OVERSIGHT_ROLES)
REFUND_ROLES = (Role.CUSTOMER_SERVICE, Role.BOOKKEEPER, *OVERSIGHT_ROLES)
APPROVER_ROLES = refunds.APPROVER_ROLES
POLICY_ROLES = OVERSIGHT_ROLES
PUBLIC_SESSION_KEY = "returns_public_order"
PUBLIC_WINDOW_SECONDS = 3600
NOT_FOUND = "We could not find an order with that number and e-mail address."


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _flash_errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in _errors(exc):
        messages.error(request, message)


# Staff: returns ------------------------------------------------------------------------------


@role_required(*RETURNS_ROLES)
def return_queue(request: HttpRequest) -> HttpResponse:
    rows = selectors.return_list_for_queue()
    can_edit_policy = bool(user_roles(request.user) & set(POLICY_ROLES))
    return render(
        request,
        "returns/return_queue.html",
        {"rows": rows, "can_edit_policy": can_edit_policy},
    )


@role_required(*RETURNS_ROLES)
def return_new(request: HttpRequest) -> HttpResponse:
    """Open a return for a customer who called or wrote: find the order, pick the units."""
    policy = policy_current()
    lookup = OrderLookupForm(request.GET or None)
    order = None
    if lookup.is_valid():
        number = lookup.cleaned_data["order"].strip()
        order = Order.objects.filter(number__in=[number, f"#{number.lstrip('#')}"]).first()
        if order is None:
            lookup.add_error("order", f"No order numbered {number}.")
    context: dict = {"lookup": lookup, "order": order, "policy": policy}
    if order is not None and policy is not None:
        eligibility = requests.return_eligibility(order=order, policy=policy)
        form = ReturnCreateForm(
            request.POST or None, policy=policy, line_ids=[e.line.pk for e in eligibility]
        )
        if request.method == "POST" and form.is_valid():
            try:
                ret = requests.return_request_create(
                    order_id=order.pk,
                    lines=form.lines(),
                    reason=form.cleaned_data["reason"],
                    refund_method=form.cleaned_data["refund_method"],
                    customer_note=form.cleaned_data["customer_note"],
                    actor=request.user,
                )
            except ValidationError as exc:
                for message in _errors(exc):
                    form.add_error(None, message)
            else:
                messages.success(request, f"Return {ret.number} opened.")
                return redirect(ret.get_absolute_url())
        context.update(
            form=form,
            rows=[(e, form[f"qty_{e.line.pk}"]) for e in eligibility],
        )
    return render(request, "returns/return_new.html", context)


def _return(pk: int) -> ReturnRequest:
    try:
        return selectors.return_get_for_detail(return_id=pk)
    except ReturnRequest.DoesNotExist:
        raise Http404("No such return.") from None


@role_required(*RETURNS_ROLES)
def return_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ret = _return(pk)
    allowed = ReturnRequest.ALLOWED_TRANSITIONS.get(ret.status, ())
    quote = None
    quote_error = ""
    can_refund = ReturnRequest.Status.REFUNDED in allowed and not any(
        r.status in Refund.HOLDING for r in ret.refunds.all()
    )
    include_shipping = request.GET.get("shipping") == "1"
    if can_refund:
        try:
            quote = requests.return_refund_quote(ret=ret, include_shipping=include_shipping)
        except ValidationError as exc:
            quote_error = " ".join(exc.messages)
    lines = {line.pk: line for line in ret.order.lines.all()}
    return render(
        request,
        "returns/return_detail.html",
        {
            "ret": ret,
            "lines": list(ret.lines.all()),
            "events": list(ret.events.all()),
            "refund_list": list(ret.refunds.all()),
            "can_decide": ret.status == ReturnRequest.Status.REQUESTED,
            "can_receive": ReturnRequest.Status.RECEIVED in allowed,
            "can_inspect": ret.status == ReturnRequest.Status.RECEIVED,
            "can_refund": can_refund,
            "can_close": ReturnRequest.Status.CLOSED in allowed,
            "can_cancel": ReturnRequest.Status.CANCELLED in allowed,
            "quote": quote,
            "quote_lines": [(lines.get(q.line_id), q) for q in quote.lines] if quote else [],
            "quote_error": quote_error,
            "include_shipping": include_shipping,
            "inspect_form": InspectForm(),
            "refund_form": RefundForm(initial={"include_shipping": include_shipping}),
            "pending": ReturnLine.Outcome.PENDING,
        },
    )


def _act(request: HttpRequest, pk: int, call, done: str, **kwargs) -> HttpResponse:
    try:
        call(return_id=pk, actor=request.user, **kwargs)
    except ReturnRequest.DoesNotExist:
        raise Http404("No such return.") from None
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, done)
    return redirect("returns:detail", pk=pk)


@role_required(*RETURNS_ROLES)
@require_POST
def return_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, requests.return_approve, "Approved; the customer is e-mailed.")


@role_required(*RETURNS_ROLES)
@require_POST
def return_decline(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the return is declined.")
        return redirect("returns:detail", pk=pk)
    return _act(
        request,
        pk,
        requests.return_decline,
        "Declined; the customer is e-mailed.",
        **form.cleaned_data,
    )


@role_required(*RETURNS_ROLES)
@require_POST
def return_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the return is cancelled.")
        return redirect("returns:detail", pk=pk)
    return _act(request, pk, requests.return_cancel, "Return cancelled.", **form.cleaned_data)


@role_required(*RETURNS_ROLES)
@require_POST
def return_receive(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, requests.return_receive, "Received; inspect each line next.")


@role_required(*RETURNS_ROLES)
@require_POST
def return_close(request: HttpRequest, pk: int) -> HttpResponse:
    form = NoteForm(request.POST)
    form.is_valid()
    return _act(
        request, pk, requests.return_close, "Return closed.", note=form.cleaned_data.get("note", "")
    )


@role_required(*RETURNS_ROLES)
def return_scan(request: HttpRequest) -> HttpResponse:
    """The receiving desk: scan a parcel's return label; Enter receives it."""
    form = ScanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ret = requests.return_find_by_scan(form.cleaned_data["code"])
            requests.return_receive(return_id=ret.pk, actor=request.user)
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error("code", message)
        else:
            messages.success(request, f"Return {ret.number} received; inspect each line next.")
            return redirect(ret.get_absolute_url())
    return render(request, "returns/return_scan.html", {"form": form})


@role_required(*RETURNS_ROLES)
@require_POST
def return_line_inspect(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    form = InspectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what happens to the line (and where it is restocked).")
        return redirect("returns:detail", pk=pk)
    if not ReturnLine.objects.filter(pk=line_id, return_request_id=pk).exists():
        raise Http404("No such line on this return.")
    location = form.cleaned_data["location"]
    try:
        line = requests.return_line_inspect(
            return_line_id=line_id,
            outcome=form.cleaned_data["outcome"],
            location_id=location.pk if location else None,
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, f"{line.order_line.title}: {line.get_outcome_display().lower()}.")
    return redirect("returns:detail", pk=pk)


@role_required(*REFUND_ROLES)
@require_POST
def return_refund(request: HttpRequest, pk: int) -> HttpResponse:
    form = RefundForm(request.POST)
    form.is_valid()
    try:
        refund = requests.return_refund(
            return_id=pk,
            actor=request.user,
            include_shipping=form.cleaned_data.get("include_shipping", False),
            provider_reference=form.cleaned_data.get("provider_reference", ""),
        )
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        if refund.status == Refund.Status.AWAITING_APPROVAL:
            messages.warning(
                request,
                f"Refund of {refund.amount} is above the threshold: it waits for a manager's "
                "approval.",
            )
        else:
            messages.success(request, f"Refunded {refund.amount} {refund.currency}.")
    return redirect("returns:detail", pk=pk)


# Staff: refunds ------------------------------------------------------------------------------


@role_required(*REFUND_ROLES)
def refund_queue(request: HttpRequest) -> HttpResponse:
    rows = selectors.refund_list_for_queue()
    return render(request, "returns/refund_queue.html", {"rows": rows})


@role_required(*REFUND_ROLES)
def refund_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        refund = selectors.refund_get_for_detail(refund_id=pk)
    except Refund.DoesNotExist:
        raise Http404("No such refund.") from None
    return render(
        request,
        "returns/refund_detail.html",
        {
            "refund": refund,
            "form": ProviderReferenceForm(),
            "can_approve": refund.status == Refund.Status.AWAITING_APPROVAL,
            "can_issue": refund.status == Refund.Status.PENDING,
            "can_cancel": refund.status in (Refund.Status.PENDING, Refund.Status.AWAITING_APPROVAL),
        },
    )


def _refund_act(request: HttpRequest, pk: int, call, done: str, **kwargs) -> HttpResponse:
    try:
        call(refund_id=pk, actor=request.user, **kwargs)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, done)
    return redirect("returns:refund_detail", pk=pk)


@role_required(*REFUND_ROLES)
@require_POST
def refund_issue(request: HttpRequest, pk: int) -> HttpResponse:
    form = ProviderReferenceForm(request.POST)
    form.is_valid()
    return _refund_act(
        request,
        pk,
        refunds.refund_issue,
        "Refund recorded.",
        provider_reference=form.cleaned_data.get("provider_reference", ""),
    )


@role_required(*APPROVER_ROLES)
@require_POST
def refund_approve(request: HttpRequest, pk: int) -> HttpResponse:
    form = ProviderReferenceForm(request.POST)
    form.is_valid()
    return _refund_act(
        request,
        pk,
        refunds.refund_approve,
        "Approved and issued.",
        provider_reference=form.cleaned_data.get("provider_reference", ""),
    )


@role_required(*REFUND_ROLES)
@require_POST
def refund_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the refund is withdrawn.")
        return redirect("returns:refund_detail", pk=pk)
    return _refund_act(request, pk, refunds.refund_cancel, "Refund withdrawn.", **form.cleaned_data)


# Staff: the policy ---------------------------------------------------------------------------


@role_required(*POLICY_ROLES)
def policy_edit(request: HttpRequest) -> HttpResponse:
    current = policy_current()
    form = PolicyForm(request.POST or None, initial=policy_initial(current))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = policy_publish(
                data=PolicyData(
                    window_days=data["window_days"],
                    reasons=data["reasons"],
                    refund_methods=data["refund_methods"],
                    condition_required=data["condition_required"],
                    return_shipping_paid_by=data["return_shipping_paid_by"],
                    final_sale_category_ids=data["final_sale_category_ids"],
                    final_sale_product_ids=data["final_sale_product_ids"],
                    refund_approval_threshold=data["refund_approval_threshold"],
                    public_requests_per_hour=data["public_requests_per_hour"],
                    extra_terms=data["extra_terms"],
                ),
                actor=request.user,
            )
        except ValidationError as exc:
            for name, errors in getattr(exc, "error_dict", {None: exc.error_list}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, f"Version {policy.version} published.")
            return redirect("returns:policy_edit")
    return render(
        request,
        "returns/policy_edit.html",
        {"form": form, "current": current, "versions": list(selectors.policies_all()[:20])},
    )


# Public --------------------------------------------------------------------------------------


@public
@require_GET
@cache_control(public=True, max_age=300)
def policy_page(request: HttpRequest) -> HttpResponse:
    policy = policy_current()
    doc = selectors.policy_document(policy) if policy is not None else None
    return render(request, "returns/policy_public.html", {"doc": doc})


@public
@require_GET
@cache_control(public=True, max_age=300)
def policy_json(request: HttpRequest) -> HttpResponse:
    """The policy for the storefront; {"published": false} until one is published."""
    policy = policy_current()
    if policy is None:
        return JsonResponse({"published": False, "store": settings.STORE_NAME})
    return JsonResponse(selectors.policy_document(policy))


def _rate_limited(request: HttpRequest, *, limit: int) -> bool:
    """Count one attempt for this address; True once it made more than `limit` in the hour."""
    key = f"returns:public:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=PUBLIC_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=PUBLIC_WINDOW_SECONDS)
        count = 1
    return count > limit


def _public_order(number: str, email: str) -> Order | None:
    number = number.strip()
    email = email.strip().lower()
    if not number or not email:
        return None
    return (
        Order.objects.filter(number__in=[number, f"#{number.lstrip('#')}"], email__iexact=email)
        .order_by("-created_at")
        .first()
    )


@public
def public_request(request: HttpRequest) -> HttpResponse:
    """Step 1 of the customer's return form: order number and e-mail, both needed. The answer
    is the same whether the order does not exist or the e-mail does not match."""
    policy = policy_current()
    if policy is None:
        return render(request, "returns/public_unavailable.html")
    form = PublicLookupForm(request.POST or None)
    if request.method == "POST":
        if _rate_limited(request, limit=policy.public_requests_per_hour):
            form = PublicLookupForm()
            messages.error(request, "Too many attempts from your connection. Try again in an hour.")
            return render(request, "returns/public_lookup.html", {"form": form}, status=429)
        if form.is_valid():
            order = _public_order(form.cleaned_data["number"], form.cleaned_data["email"])
            if order is not None:
                request.session.cycle_key()
                request.session[PUBLIC_SESSION_KEY] = order.pk
                return redirect("returns:public_items")
            form.add_error(None, NOT_FOUND)
    return render(request, "returns/public_lookup.html", {"form": form})


@public
def public_items(request: HttpRequest) -> HttpResponse:
    """Step 2: the order's items (shown only after step 1 matched), quantities and reason."""
    policy = policy_current()
    order_id = request.session.get(PUBLIC_SESSION_KEY)
    order = Order.objects.filter(pk=order_id).first() if order_id else None
    if policy is None or order is None:
        messages.info(request, "Enter your order number and e-mail address first.")
        return redirect("returns:public_request")
    eligibility = requests.return_eligibility(order=order, policy=policy)
    form = ReturnCreateForm(
        request.POST or None, policy=policy, line_ids=[e.line.pk for e in eligibility]
    )
    form.fields["customer_note"].label = "Anything we should know (optional)"
    if request.method == "POST" and form.is_valid():
        try:
            ret = requests.return_request_create(
                order_id=order.pk,
                lines=form.lines(),
                reason=form.cleaned_data["reason"],
                refund_method=form.cleaned_data["refund_method"],
                customer_note=form.cleaned_data["customer_note"],
                source=ReturnRequest.Source.CUSTOMER,
                actor=None,
            )
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error(None, message)
        else:
            request.session.pop(PUBLIC_SESSION_KEY, None)
            messages.success(
                request,
                f"Thank you: your return {ret.number} is requested. We will e-mail you once "
                "we have looked at it.",
            )
            return redirect(reverse("returns:public_request") + "?done=1")
    return render(
        request,
        "returns/public_items.html",
        {
            "order": order,
            "form": form,
            "rows": [(e, form[f"qty_{e.line.pk}"]) for e in eligibility],
            "doc": selectors.policy_document(policy),
        },
    )


# Store credit ---------------------------------------------------------------------------


@role_required(*REFUND_ROLES)
def store_credit(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A customer's store credit: balance, history, and spending it on a later order."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404("No such customer.")
    form = CreditSpendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["order"].strip()
        order = (
            Order.objects.filter(customer=customer, number__in=[number, f"#{number.lstrip('#')}"])
            .only("pk", "number")
            .first()
        )
        if order is None:
            form.add_error("order", f"{customer.email} has no order numbered {number}.")
        else:
            try:
                refunds.store_credit_redeem(
                    customer_id=customer.pk,
                    order_id=order.pk,
                    amount=form.cleaned_data["amount"],
                    actor=request.user,
                )
            except ValidationError as exc:
                _flash_errors(request, exc)
            else:
                messages.success(
                    request,
                    f"{form.cleaned_data['amount']} of store credit spent on order {order.number}.",
                )
                return redirect("returns:store_credit", customer_id=customer.pk)
    account, entries = selectors.store_credit_for(customer_id=customer.pk)
    return render(
        request,
        "returns/store_credit.html",
        {"customer": customer, "account": account, "entries": entries, "form": form},
    )
