"""Fulfillment pages: the queues, shipments, pick lists, the pack screen, slips, shipping.

Actions post to their own URLs and redirect back with a message (post/redirect/get); the
pack screen's scan answers an htmx request with its panel only, so a scanner can go on.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from inventory.models import Location
from opsdesk.core.permissions import role_required
from opsdesk.core.roles import OVERSIGHT_ROLES, Role
from opsdesk.processes.selectors import process_target
from orders.barcodes import code128_svg
from orders.forms_fulfillment import CancelShipmentForm, PickListCreateForm, ScanForm, ShipForm
from orders.models import CustomerNotice, Order, PickList, Shipment, ShipmentEvent, ShipmentLine
from orders.services import fulfillment, picking
from orders.services.notices import customer_notice_resend, tracking_url_for

FULFILLMENT_ROLES = (Role.FULFILLMENT, *OVERSIGHT_ROLES)
# Customer service answers "where is my parcel?": they see shipments, and resend notices.
VIEW_ROLES = (*FULFILLMENT_ROLES, Role.CUSTOMER_SERVICE)
QUEUE_LIMIT = picking.QUEUE_LIMIT
SIDE_LIMIT = 10
S = Shipment.Status
STATUS_LABELS = dict(S.choices)
METHOD_LABELS = dict(Order.Method.choices)
EVENT_LABELS = {
    "created": "Shipment made",
    "stock_committed": "Stock left the shelf",
    "pack_restarted": "Packing started again",
    "scanned": "Scanned",
}


def _event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind) or str(
        STATUS_LABELS.get(kind, kind.replace("_", " ").capitalize())
    )


def _rows(rows: list[picking.QueueRow], late_before, prefix: str) -> list[picking.QueueRow]:
    """What each row shows, worked out here: the date filter and {% url %} a row cost more
    than the rest of a long queue's rendering."""
    for row in rows:
        row.method_label = METHOD_LABELS.get(row.method, row.method)
        row.late = late_before is not None and row.created_at < late_before
        row.since = timezone.localtime(row.created_at).strftime("%a %d %b %H:%M")
        row.url = f"{prefix}{row.pk}/"
    return rows


def _prefix(name: str) -> str:
    """The path of `name` for pk 0, without the "0/": a row's link is prefix + pk + "/"."""
    url = reverse(name, kwargs={"pk": 0})
    assert url.endswith("/0/"), url
    return url[: -len("0/")]


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# Home and queues ---------------------------------------------------------------------------


@role_required(*FULFILLMENT_ROLES)
def fulfillment_home(request: HttpRequest) -> HttpResponse:
    """The three queues of one location: to pick (with a pick list form), to pack, to ship."""
    locations = list(
        Location.objects.filter(active=True, kind__in=Location.WEB_KINDS).order_by("name")
    )
    chosen = request.GET.get("location", "")
    location = next((loc for loc in locations if str(loc.pk) == chosen), None)
    if location is None and locations:
        location = locations[0]
    # A shipment waiting longer than the process's target time is late (its work item is
    # escalated by the processes' sweep; here it is marked).
    target = process_target(fulfillment.PICK_PACK_SHIP)
    late_before = timezone.now() - target if target else None
    prefix = _prefix("orders:shipment_detail")
    context = {
        "locations": [
            {"location": loc, "current": location is not None and loc.pk == location.pk}
            for loc in locations
        ],
        "location": location,
        "limit": QUEUE_LIMIT,
        "side_limit": SIDE_LIMIT,
        "count_cap": picking.COUNT_CAP,
    }
    if location is not None:
        here = picking.fulfillment_counts(location_id=location.pk)
        queues = picking.fulfillment_queues(
            location_id=location.pk,
            limits={"pick": QUEUE_LIMIT, "pack": SIDE_LIMIT, "ship": SIDE_LIMIT},
        )
        context.update(
            to_pick=_rows(queues["pick"], late_before, prefix),
            to_pack=_rows(queues["pack"], late_before, prefix),
            to_ship=_rows(queues["ship"], late_before, prefix),
            to_pick_count=here.get(S.PENDING, 0),
            to_pack_count=here.get(S.PICKED, 0),
            to_ship_count=here.get(S.PACKED, 0),
            pick_lists=list(
                PickList.objects.filter(location=location, status=PickList.Status.OPEN)
                .select_related("created_by")
                .order_by("-created_at")[:10]
            ),
        )
    return render(request, "orders/fulfillment/home.html", context)


# The shipment page -------------------------------------------------------------------------


def _shipment(pk: int) -> Shipment:
    try:
        return (
            Shipment.objects.select_related(
                "order",
                "location",
                "vendor",
                "carrier",
                "pick_list",
                "picked_by",
                "packed_by",
                "shipped_by",
                "pickup_location",
            )
            .prefetch_related(
                Prefetch(
                    "lines",
                    queryset=ShipmentLine.objects.select_related("variant", "order_line").order_by(
                        "pk"
                    ),
                ),
                Prefetch(
                    "events",
                    queryset=ShipmentEvent.objects.select_related("actor").order_by(
                        "created_at", "pk"
                    ),
                ),
                Prefetch(
                    "notices",
                    queryset=CustomerNotice.objects.select_related("requested_by").order_by(
                        "-created_at", "-pk"
                    ),
                ),
            )
            .get(pk=pk)
        )
    except Shipment.DoesNotExist:
        raise Http404("No such shipment.") from None


def _shipment_page(request: HttpRequest, shipment: Shipment, **forms) -> HttpResponse:
    can_work = request.user.is_authenticated and _user_in(request, FULFILLMENT_ROLES)
    events = list(shipment.events.all())
    for event in events:
        event.label = _event_label(event.type)
        event.from_label = STATUS_LABELS.get(event.from_status, event.from_status)
        event.to_label = STATUS_LABELS.get(event.to_status, event.to_status)
    return render(
        request,
        "orders/fulfillment/shipment_detail.html",
        {
            "shipment": shipment,
            "order": shipment.order,
            "lines": list(shipment.lines.all()),
            "events": events,
            "method_label": METHOD_LABELS.get(shipment.method, shipment.method),
            "notices": list(shipment.notices.all()),
            "tracking_url": tracking_url_for(shipment),
            "can_work": can_work,
            "can_pick": can_work
            and shipment.status in (S.PENDING, S.PICKING)
            and shipment.method in picking.PICKABLE_METHODS,
            "can_pack": can_work
            and shipment.status == S.PICKED
            and shipment.method in picking.PACKABLE_METHODS,
            "can_ship": can_work and shipment.status == S.PACKED and shipment.method == "ship",
            "can_cancel": can_work and shipment.can_become(S.CANCELLED),
            "ship_form": forms.get("ship") or ShipForm(),
            "cancel_form": forms.get("cancel") or CancelShipmentForm(),
        },
    )


def _user_in(request: HttpRequest, roles) -> bool:
    from opsdesk.core.roles import user_has_role

    return user_has_role(request.user, *roles)


@role_required(*VIEW_ROLES)
def shipment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _shipment_page(request, _shipment(pk))


@role_required(*FULFILLMENT_ROLES)
@require_POST
def shipment_pick(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        shipment = picking.shipment_pick(shipment_id=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("orders:shipment_detail", pk=pk)
    messages.success(request, f"Shipment {shipment.number} picked. Pack it next.")
    if shipment.method in picking.PACKABLE_METHODS:
        return redirect("orders:pack", pk=pk)
    return redirect("orders:shipment_detail", pk=pk)


@role_required(*FULFILLMENT_ROLES)
@require_POST
def shipment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = CancelShipmentForm(request.POST)
    if form.is_valid():
        try:
            fulfillment.shipment_cancel(
                shipment_id=pk, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Shipment cancelled; its stock is back on the shelf.")
            return redirect("orders:shipment_detail", pk=pk)
    messages.error(request, "The shipment was not cancelled: " + _form_errors(form))
    return _shipment_page(request, _shipment(pk), cancel=form)


def _form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# Pick lists --------------------------------------------------------------------------------


@role_required(*FULFILLMENT_ROLES)
@require_POST
def pick_list_create(request: HttpRequest) -> HttpResponse:
    form = PickListCreateForm(request.POST)
    back = reverse("orders:fulfillment")
    if form.is_valid():
        location_id = form.cleaned_data["location"]
        back = f"{back}?location={location_id}"
        try:
            pick_list = picking.pick_list_create(
                location_id=location_id,
                shipment_ids=form.cleaned_data["shipments"],
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
            return redirect(back)
        count = len(form.cleaned_data["shipments"])
        messages.success(
            request, f"{pick_list} made with {count} shipment{'s' if count != 1 else ''}."
        )
        return redirect("orders:pick_list_detail", pk=pick_list.pk)
    messages.error(request, _form_errors(form) or "Tick the shipments to pick first.")
    return redirect(back)


def _pick_list(pk: int) -> PickList:
    try:
        return PickList.objects.select_related("location", "created_by").get(pk=pk)
    except PickList.DoesNotExist:
        raise Http404("No such pick list.") from None


def _pick_list_context(pick_list: PickList, *, barcodes: bool) -> dict:
    rows = picking.pick_list_rows(pick_list)
    prefix = _prefix("orders:shipment_detail")
    shipments = [
        {
            "number": number,
            "url": f"{prefix}{pk}/",
            "status_label": STATUS_LABELS.get(status, status),
        }
        for pk, number, status in pick_list.shipments.order_by("number").values_list(
            "pk", "number", "status"
        )
    ]
    if barcodes:
        for row in rows:
            row.svg = code128_svg(row.barcode or row.sku, height=36, module=1.2)
        for shipment in shipments:
            shipment["svg"] = code128_svg(shipment["number"], height=30, module=1.0)
    return {
        "pick_list": pick_list,
        "rows": rows,
        "shipments": shipments,
        "units": sum(row.quantity for row in rows),
    }


@role_required(*FULFILLMENT_ROLES)
def pick_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _pick_list_context(_pick_list(pk), barcodes=False)
    return render(request, "orders/fulfillment/pick_list_detail.html", context)


@role_required(*FULFILLMENT_ROLES)
def pick_list_print(request: HttpRequest, pk: int) -> HttpResponse:
    context = _pick_list_context(_pick_list(pk), barcodes=True)
    return render(request, "orders/fulfillment/pick_list_print.html", context)


@role_required(*FULFILLMENT_ROLES)
@require_POST
def pick_list_complete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        pick_list = picking.pick_list_complete(pick_list_id=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("orders:pick_list_detail", pk=pk)
    messages.success(request, f"{pick_list} picked. Its shipments wait at the pack screen.")
    return redirect(f"{reverse('orders:fulfillment')}?location={pick_list.location_id}")


# Packing -----------------------------------------------------------------------------------


def _pack_context(shipment: Shipment, *, form=None, result=None, warning: str = "") -> dict:
    lines = list(shipment.lines.select_related("variant", "order_line").order_by("pk"))
    return {
        "shipment": shipment,
        "lines": lines,
        "units": sum(ln.quantity for ln in lines),
        "packed": sum(ln.quantity_packed for ln in lines),
        "complete": all(ln.quantity_packed >= ln.quantity for ln in lines),
        "form": form or ScanForm(),
        "result": result,
        "warning": warning,
        "ship_form": ShipForm(),
        "can_scan": shipment.status == S.PICKED,
    }


def _pack_shipment(pk: int) -> Shipment:
    try:
        return Shipment.objects.select_related("order", "location", "carrier").get(pk=pk)
    except Shipment.DoesNotExist:
        raise Http404("No such shipment.") from None


@role_required(*FULFILLMENT_ROLES)
def pack(request: HttpRequest, pk: int) -> HttpResponse:
    """The pack screen: GET shows it; POST takes one scan (or a typed SKU)."""
    shipment = _pack_shipment(pk)
    if request.method != "POST":
        return render(request, "orders/fulfillment/pack.html", _pack_context(shipment))
    form = ScanForm(request.POST)
    result, warning = None, ""
    if form.is_valid():
        try:
            result = picking.pack_scan(
                shipment_id=pk, code=form.cleaned_data["code"], actor=request.user
            )
        except ValidationError as exc:
            warning = _errors(exc)
        else:
            form = ScanForm()
    else:
        warning = "Scan a barcode or type a SKU."
    if request.htmx:
        # 200 even for a refused scan: htmx swaps only successful answers, and the panel
        # carries the warning.
        context = _pack_context(_pack_shipment(pk), form=form, result=result, warning=warning)
        return render(request, "orders/fulfillment/pack.html#pack_panel", context)
    if warning:
        messages.error(request, warning)
    elif result is not None:
        messages.success(request, f"{result.sku}: {result.packed} of {result.quantity} packed.")
    return redirect("orders:pack", pk=pk)


@role_required(*FULFILLMENT_ROLES)
@require_POST
def pack_close(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        shipment = picking.shipment_pack_close(shipment_id=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("orders:pack", pk=pk)
    messages.success(request, f"Parcel {shipment.number} closed. Print the slip and ship it.")
    return redirect("orders:shipment_detail", pk=pk)


@role_required(*FULFILLMENT_ROLES)
@require_POST
def pack_reset(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        picking.pack_reset(shipment_id=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.info(request, "Packing started again: scan every unit.")
    return redirect("orders:pack", pk=pk)


@role_required(*FULFILLMENT_ROLES)
def packing_slip(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _pack_shipment(pk)
    lines = list(shipment.lines.select_related("variant", "order_line").order_by("pk"))
    return render(
        request,
        "orders/fulfillment/packing_slip.html",
        {
            "shipment": shipment,
            "order": shipment.order,
            "lines": lines,
            "barcode": code128_svg(shipment.number, height=40, module=1.4),
            "tracking_url": tracking_url_for(shipment),
        },
    )


# Shipping and notices ----------------------------------------------------------------------


@role_required(*FULFILLMENT_ROLES)
@require_POST
def ship(request: HttpRequest, pk: int) -> HttpResponse:
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            shipment = picking.shipment_ship(
                shipment_id=pk,
                carrier_id=form.cleaned_data["carrier"].pk,
                tracking_number=form.cleaned_data["tracking_number"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            told = " The customer is e-mailed the tracking link." if shipment.order.email else ""
            messages.success(request, f"Shipment {shipment.number} shipped.{told}")
            return redirect("orders:shipment_detail", pk=pk)
    messages.error(request, "Not shipped: " + _form_errors(form))
    return _shipment_page(request, _shipment(pk), ship=form)


@role_required(*VIEW_ROLES)
@require_POST
def notice_resend(request: HttpRequest, pk: int) -> HttpResponse:
    notice = CustomerNotice.objects.filter(pk=pk).only("order_id", "shipment_id").first()
    if notice is None:
        raise Http404("No such e-mail.")
    try:
        again = customer_notice_resend(notice_id=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"The e-mail is being sent again to {again.to}.")
    if notice.shipment_id:
        return redirect("orders:shipment_detail", pk=notice.shipment_id)
    if notice.order_id:
        return redirect("orders:detail", pk=notice.order_id)
    return redirect("orders:fulfillment")
