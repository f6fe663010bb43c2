"""Pages for receiving purchase orders and for the POS stock sync, and the POS push endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inventory import selectors_receiving as selectors
from inventory.forms_receiving import (
    CountAdjustForm,
    PosUploadForm,
    PurchaseOrderForm,
    ReceiptPostForm,
    ScanForm,
    UnknownResolveForm,
)
from inventory.models import PosSyncRun, PurchaseOrder, ReceivingDiscrepancy
from inventory.services import pos_sync, receiving
from inventory.services.receiving import ReceivingDraft
from opsdesk.core.csvsafe import csv_response
from opsdesk.core.permissions import public, role_required
from opsdesk.core.roles import Role

RECEIVING_ROLES = (Role.INVENTORY, Role.MANAGER, Role.OWNER, Role.ADMIN)
POS_SYNC_ROLES = (Role.INVENTORY, Role.MANAGER, Role.OWNER, Role.ADMIN)
PUSH_TOKEN_ROLES = (Role.OWNER, Role.ADMIN)
IN_PROGRESS = (PosSyncRun.Status.UPLOADED, PosSyncRun.Status.PREVIEWING, PosSyncRun.Status.APPLYING)


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _purchase_order(po_id: int) -> PurchaseOrder:
    try:
        return selectors.purchase_order_get_for_detail(po_id=po_id)
    except PurchaseOrder.DoesNotExist:
        raise Http404("No such purchase order.") from None


# Purchase orders --------------------------------------------------------------------------


@role_required(*RECEIVING_ROLES)
def purchase_order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in PurchaseOrder.Status.values:
        status = ""
    page = Paginator(selectors.purchase_order_list(status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "inventory/receiving/purchase_order_list.html",
        {"page": page, "status": status, "statuses": PurchaseOrder.Status.choices},
    )


@role_required(*RECEIVING_ROLES)
def purchase_order_create(request: HttpRequest) -> HttpResponse:
    form = PurchaseOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            purchase_order = receiving.purchase_order_create(
                vendor_id=data["vendor"].pk,
                location_id=data["location"].pk,
                number=data["number"],
                expected_at=data["expected_at"],
                lines=data["lines"],
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Purchase order {purchase_order.number} drafted.")
            return redirect("inventory:po_detail", po_id=purchase_order.pk)
    return render(request, "inventory/receiving/purchase_order_form.html", {"form": form})


@role_required(*RECEIVING_ROLES)
def purchase_order_detail(request: HttpRequest, po_id: int) -> HttpResponse:
    purchase_order = _purchase_order(po_id)
    on_hand = selectors.purchase_order_stock(purchase_order=purchase_order)
    lines = [
        {"line": line, "on_hand": on_hand.get(line.variant_id, 0)}
        for line in purchase_order.lines.all()
    ]
    return render(
        request,
        "inventory/receiving/purchase_order_detail.html",
        {
            "po": purchase_order,
            "lines": lines,
            "discrepancies": purchase_order.discrepancies.all(),
            "resolve_form": UnknownResolveForm(),
            "receivable": purchase_order.status in receiving.RECEIVABLE,
        },
    )


@role_required(*RECEIVING_ROLES)
@require_POST
def purchase_order_send(request: HttpRequest, po_id: int) -> HttpResponse:
    try:
        purchase_order = receiving.purchase_order_send(purchase_order_id=po_id, actor=request.user)
    except PurchaseOrder.DoesNotExist:
        raise Http404("No such purchase order.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{purchase_order.number} marked sent; it is in the receiving queue."
        )
    return redirect("inventory:po_detail", po_id=po_id)


# The receiving screen ---------------------------------------------------------------------


def _session_key(po_id: int) -> str:
    return f"inventory:receiving:{po_id}"


def _draft(request: HttpRequest, po_id: int) -> ReceivingDraft:
    return ReceivingDraft.from_session(request.session.get(_session_key(po_id)))


def _draft_save(request: HttpRequest, po_id: int, draft: ReceivingDraft) -> None:
    request.session[_session_key(po_id)] = draft.to_session()


def _screen_context(purchase_order: PurchaseOrder, draft: ReceivingDraft, **extra) -> dict:
    rows = []
    for line in purchase_order.lines.all():
        counted = draft.counts.get(line.variant_id, 0)
        after = line.quantity_received + counted
        if line.quantity_ordered == 0 or after > line.quantity_ordered:
            state = "over"
        elif after == line.quantity_ordered:
            state = "complete"
        else:
            state = "short"
        rows.append({"line": line, "counted": counted, "after": after, "state": state})
    return {
        "po": purchase_order,
        "rows": rows,
        "draft": draft,
        "counted_units": sum(draft.counts.values()),
        "unknown_units": sum(draft.unknown.values()),
        **extra,
    }


def _receivable(request: HttpRequest, purchase_order: PurchaseOrder) -> bool:
    if purchase_order.status in receiving.RECEIVABLE:
        return True
    if purchase_order.status == PurchaseOrder.Status.DRAFT:
        messages.error(request, f"{purchase_order.number} is a draft: mark it sent first.")
    else:
        messages.error(request, f"{purchase_order.number} is closed.")
    return False


@role_required(*RECEIVING_ROLES)
def receiving_screen(request: HttpRequest, po_id: int) -> HttpResponse:
    purchase_order = _purchase_order(po_id)
    if not _receivable(request, purchase_order):
        return redirect("inventory:po_detail", po_id=po_id)
    draft = _draft(request, po_id)
    _draft_save(request, po_id, draft)
    return render(
        request,
        "inventory/receiving/receiving_screen.html",
        _screen_context(purchase_order, draft),
    )


def _panel(request: HttpRequest, po_id: int, draft: ReceivingDraft, result=None) -> HttpResponse:
    if not request.htmx:
        if result is not None and not result.ok:
            messages.error(request, result.message)
        return redirect("inventory:receiving", po_id=po_id)
    return render(
        request,
        "inventory/receiving/receiving_screen.html#panel",
        _screen_context(_purchase_order(po_id), draft, result=result),
    )


@role_required(*RECEIVING_ROLES)
@require_POST
def receiving_scan(request: HttpRequest, po_id: int) -> HttpResponse:
    form = ScanForm(request.POST)
    draft = _draft(request, po_id)
    result = None
    if form.is_valid():
        result = receiving.receiving_scan(
            purchase_order_id=po_id, code=form.cleaned_data["code"], draft=draft
        )
        _draft_save(request, po_id, draft)
    return _panel(request, po_id, draft, result)


@role_required(*RECEIVING_ROLES)
@require_POST
def receiving_adjust(request: HttpRequest, po_id: int) -> HttpResponse:
    form = CountAdjustForm(request.POST)
    draft = _draft(request, po_id)
    if form.is_valid():
        try:
            receiving.receiving_count_adjust(
                purchase_order_id=po_id,
                variant_id=form.cleaned_data["variant_id"],
                code=form.cleaned_data["code"],
                delta=form.cleaned_data["delta"],
                draft=draft,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _draft_save(request, po_id, draft)
    return _panel(request, po_id, draft)


@role_required(*RECEIVING_ROLES)
@require_POST
def receiving_discard(request: HttpRequest, po_id: int) -> HttpResponse:
    request.session.pop(_session_key(po_id), None)
    messages.info(request, "The count was cleared; nothing was posted.")
    return redirect("inventory:receiving", po_id=po_id)


@role_required(*RECEIVING_ROLES)
@require_POST
def receiving_post(request: HttpRequest, po_id: int) -> HttpResponse:
    form = ReceiptPostForm(request.POST)
    draft = _draft(request, po_id)
    close = request.POST.get("close") == "1"
    if not form.is_valid() or form.cleaned_data["key"] != draft.key:
        messages.error(
            request,
            "The count changed in another window since this page was shown. "
            "Check it below and post again.",
        )
        return redirect("inventory:receiving", po_id=po_id)
    try:
        purchase_order = receiving.receipt_post(
            purchase_order_id=po_id,
            counts=draft.counts,
            unknown_codes=draft.unknown_codes,
            actor=request.user,
            close=close,
            receipt_key=draft.key,
        )
    except PurchaseOrder.DoesNotExist:
        raise Http404("No such purchase order.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("inventory:receiving", po_id=po_id)
    request.session.pop(_session_key(po_id), None)
    units = sum(draft.counts.values())
    text = f"{units} unit{'s' if units != 1 else ''} received into {purchase_order.location}."
    if draft.unknown:
        text += f" {len(draft.unknown)} unknown code(s) recorded."
    if close:
        text += " The receipt is closed."
    messages.success(request, text)
    return redirect("inventory:po_detail", po_id=po_id)


@role_required(*RECEIVING_ROLES)
@require_POST
def receiving_unknown_resolve(request: HttpRequest, discrepancy_id: int) -> HttpResponse:
    discrepancy = ReceivingDiscrepancy.objects.filter(pk=discrepancy_id).first()
    if discrepancy is None:
        raise Http404("No such discrepancy.")
    form = UnknownResolveForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            line = receiving.receiving_unknown_resolve(
                discrepancy_id=discrepancy_id,
                actor=request.user,
                title=data["title"],
                price=data["price"],
                sku=data["sku"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{discrepancy.received} × {line.variant.sku} received into stock.",
            )
    else:
        messages.error(request, "Check the title, SKU and price.")
    return redirect("inventory:po_detail", po_id=discrepancy.purchase_order_id)


# POS sync ---------------------------------------------------------------------------------


@role_required(*POS_SYNC_ROLES)
def pos_sync_list(request: HttpRequest) -> HttpResponse:
    form = PosUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = pos_sync.pos_sync_run_create(
                upload=form.cleaned_data["file"],
                format=form.cleaned_data["format"],
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            return redirect("inventory:pos_sync_detail", run_id=run.pk)
    return render(
        request,
        "inventory/pos_sync/pos_sync_list.html",
        {"form": form, "runs": selectors.pos_sync_run_list()},
    )


def _run(run_id: int) -> PosSyncRun:
    run = PosSyncRun.objects.select_related("created_by").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such POS sync.")
    return run


def _progress(run: PosSyncRun) -> dict:
    return {
        "done": run.rows_done,
        "total": run.rows_total,
        "stage": pos_sync.pos_sync_stage(run_id=run.pk),
    }


@role_required(*POS_SYNC_ROLES)
def pos_sync_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    preview = run.preview or {}
    changed_skus = [c["sku"] for c in preview.get("quantity_changes", [])[:50]]
    stock_now = []
    if run.status == PosSyncRun.Status.APPLIED and changed_skus:
        stock_now = selectors.pos_sync_location_stock(run=run, skus=changed_skus)
    return render(
        request,
        "inventory/pos_sync/pos_sync_detail.html",
        {
            "run": run,
            "preview": preview,
            "counts": preview.get("counts", {}),
            "applied": preview.get("applied"),
            "in_progress": run.status in IN_PROGRESS,
            "progress": _progress(run),
            "stock_now": stock_now,
        },
    )


@role_required(*POS_SYNC_ROLES)
def pos_sync_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    if run.status not in IN_PROGRESS:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "inventory/pos_sync/pos_sync_detail.html#progress",
        {"run": run, "progress": _progress(run), "in_progress": True},
    )


@role_required(*POS_SYNC_ROLES)
@require_POST
def pos_sync_apply(request: HttpRequest, run_id: int) -> HttpResponse:
    _run(run_id)
    try:
        pos_sync.pos_sync_apply_start(run_id=run_id, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("inventory:pos_sync_detail", run_id=run_id)


@role_required(*POS_SYNC_ROLES)
def pos_sync_export(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    if run.status != PosSyncRun.Status.PREVIEWED:
        messages.error(request, "Differences can be downloaded while a file waits to be applied.")
        return redirect("inventory:pos_sync_detail", run_id=run_id)
    return csv_response(
        f"pos-sync-{run.pk}-differences.csv",
        pos_sync.DIFFERENCES_HEADER,
        pos_sync.pos_sync_differences(run_id=run.pk),
    )


# The push endpoint and its tokens ---------------------------------------------------------


@csrf_exempt
@public
@require_POST
def pos_push(request: HttpRequest) -> HttpResponse:
    """JSON stock push from a POS; authenticated by the location's bearer token (no session)."""
    location = pos_sync.location_push_authenticate(
        authorization=request.headers.get("Authorization", "")
    )
    if location is None:
        response = JsonResponse({"error": "Missing or unknown bearer token."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="opsdesk POS push"'
        return response
    status, answer = pos_sync.pos_push_receive(
        location=location, key=request.headers.get("Idempotency-Key", ""), body=request.body
    )
    return JsonResponse(answer, status=status)


@role_required(*PUSH_TOKEN_ROLES)
def pos_push_tokens(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inventory/pos_sync/push_tokens.html",
        {"locations": selectors.location_list_for_push(), "push_url": _push_url(request)},
    )


def _push_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("inventory:pos_push"))


@never_cache
@role_required(*PUSH_TOKEN_ROLES)
@require_POST
def pos_push_token_rotate(request: HttpRequest, location_id: int) -> HttpResponse:
    from inventory.models import Location

    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise Http404("No such location.")
    token = pos_sync.location_push_token_rotate(location_id=location_id, actor=request.user)
    # Shown in this response only; a reload does not show it again.
    return render(
        request,
        "inventory/pos_sync/push_tokens.html",
        {
            "locations": selectors.location_list_for_push(),
            "push_url": _push_url(request),
            "new_token": token,
            "new_token_location": location,
        },
    )
