"""Pages of the drop-ship, store-pickup and local-delivery flows.

Each view parses, calls one service (or read), then renders or redirects with a flash
message. A shipment asked for under another store's address, or of another method, is a 404
that shows nothing of it. The vendor's page is public: its signed link is the permission.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from inventory.models import Location
from opsdesk.core.permissions import public, role_required
from opsdesk.core.roles import OVERSIGHT_ROLES, Role
from opsdesk.processes.selectors import process_target
from orders.forms_flows import (
    CancelUncollectedForm,
    DeliveredForm,
    FailedForm,
    HandoverForm,
    RouteFilterForm,
    ScheduleForm,
    TrackingForm,
    WindowForm,
    ZoneForm,
    attach,
)
from orders.models import Carrier, DeliveryWindow, DeliveryZone, Shipment
from orders.services import delivery, dropship, pickup

FLOW_ROLES = (Role.FULFILLMENT, *OVERSIGHT_ROLES)
HANDOVER_ROLES = (*FLOW_ROLES, Role.CUSTOMER_SERVICE)
ZONE_ROLES = OVERSIGHT_ROLES
PAGE_SIZE = 50
SHELVE_LIMIT = 100
PICKUP_PAGE_SIZE = 25
# What a row of the pickup queue shows: plain values, not models (the order's and shipment's
# JSON columns, addresses and payment data, cost more to decode than the page takes to render).
QUEUE_COLUMNS = (
    "pk",
    "number",
    "picked_at",
    "ready_at",
    "pickup_reminders_sent",
    "uncollected_flagged_at",
    "order__number",
)
S = Shipment.Status
T = "orders/flows/"


def _page(queryset, request: HttpRequest):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _late_before(process: str):
    """Work waiting since before this moment is past its process's target time."""
    return timezone.now() - (process_target(process) or timedelta(0))


def _when(moment) -> str:
    # strftime, not the template's date filter: a tenth of the cost on a 100-row queue.
    return timezone.localtime(moment).strftime("%a %d %b %H:%M") if moment else "—"


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


# Drop ship ---------------------------------------------------------------------------------

DROPSHIP_OPEN = (S.PENDING, S.VENDOR_PENDING, S.VENDOR_CONFIRMED)


@role_required(*FLOW_ROLES)
def dropship_list(request: HttpRequest) -> HttpResponse:
    shipments = (
        Shipment.objects.filter(method=dropship.METHOD, status__in=DROPSHIP_OPEN)
        .select_related("order", "vendor")
        .annotate(units=Sum("lines__quantity"))
        .order_by("created_at", "pk")
    )
    page = _page(shipments, request)
    return render(
        request,
        T + "dropship_list.html",
        {
            "page": page,
            "carriers": list(Carrier.objects.filter(active=True).order_by("position", "name")),
            "link_days": dropship.link_days(),
            "late_before": _late_before("drop_ship"),
        },
    )


@role_required(*FLOW_ROLES)
@require_POST
def dropship_send(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_object_or_404(Shipment.objects.only("pk", "status"), pk=pk, method="drop_ship")
    try:
        if shipment.status == S.PENDING:
            done = dropship.dropship_send_to_vendor(shipment_id=pk, actor=request.user)
            messages.success(request, f"Purchase order for {done.number} sent to the vendor.")
        else:
            done = dropship.dropship_link_resend(shipment_id=pk, actor=request.user)
            messages.success(request, f"A new link for {done.number} was sent to the vendor.")
    except ValidationError as exc:
        _error(request, exc)
    return redirect("orders:dropship_list")


@role_required(*FLOW_ROLES)
@require_POST
def dropship_tracking(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Shipment.objects.only("pk"), pk=pk, method="drop_ship")
    form = TrackingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the carrier and enter the tracking number.")
        return redirect("orders:dropship_list")
    try:
        done = dropship.dropship_ship(
            shipment_id=pk,
            carrier_id=form.cleaned_data["carrier"].pk,
            tracking_number=form.cleaned_data["tracking_number"],
            actor=request.user,
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{done.number} shipped; the customer gets the tracking link.")
    return redirect("orders:dropship_list")


@public
def vendor_shipment(request: HttpRequest, token: str) -> HttpResponse:
    """The vendor's page for one shipment: confirm it, then give the tracking number."""
    try:
        shipment_id = dropship.vendor_link_shipment_id(token)
    except dropship.VendorLinkInvalid as exc:
        return render(request, T + "vendor_link_invalid.html", {"expired": exc.expired}, status=400)
    form = TrackingForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "confirm":
                dropship.dropship_vendor_confirm(shipment_id=shipment_id, actor=None)
                messages.success(request, "Thank you: the order is confirmed.")
                return redirect("orders:vendor_shipment", token=token)
            if action == "ship":
                form = TrackingForm(request.POST)
                if form.is_valid():
                    dropship.dropship_ship(
                        shipment_id=shipment_id,
                        carrier_id=form.cleaned_data["carrier"].pk,
                        tracking_number=form.cleaned_data["tracking_number"],
                        actor=None,
                    )
                    messages.success(request, "Thank you: the tracking number is recorded.")
                    return redirect("orders:vendor_shipment", token=token)
            else:
                messages.error(request, "Choose an action.")
        except ValidationError as exc:
            attach(form, exc)
    shipment = (
        Shipment.objects.select_related("order", "vendor", "carrier")
        .prefetch_related("lines__order_line", "lines__variant")
        .get(pk=shipment_id)
    )
    return render(
        request,
        T + "vendor_shipment.html",
        {
            "shipment": shipment,
            "form": form,
            "can_confirm": shipment.status == S.VENDOR_PENDING,
            "can_ship": shipment.status in dropship.WAITING,
            "tracking_url": dropship.tracking_url(shipment.carrier, shipment.tracking_number),
        },
    )


# Store pickup ------------------------------------------------------------------------------


def _pickup_location(location_id: int) -> Location:
    return get_object_or_404(Location, pk=location_id, is_pickup=True)


@role_required(*HANDOVER_ROLES)
def pickup_index(request: HttpRequest) -> HttpResponse:
    counts = Q(pickup_shipments__method=pickup.METHOD)
    locations = (
        Location.objects.filter(is_pickup=True, active=True)
        .annotate(
            to_shelve=Count(
                "pickup_shipments", filter=counts & Q(pickup_shipments__status=S.PICKED)
            ),
            waiting=Count(
                "pickup_shipments", filter=counts & Q(pickup_shipments__status=S.READY_FOR_PICKUP)
            ),
            flagged=Count(
                "pickup_shipments",
                filter=counts
                & Q(
                    pickup_shipments__status=S.READY_FOR_PICKUP,
                    pickup_shipments__uncollected_flagged_at__isnull=False,
                ),
            ),
        )
        .order_by("name")
    )
    return render(request, T + "pickup_index.html", {"locations": locations})


@role_required(*FLOW_ROLES)
def pickup_queue(request: HttpRequest, location_id: int) -> HttpResponse:
    location = _pickup_location(location_id)
    base = Shipment.objects.filter(method=pickup.METHOD, pickup_location=location).values(
        *QUEUE_COLUMNS
    )
    picked = base.filter(status=S.PICKED).order_by("created_at", "pk")[:SHELVE_LIMIT]
    waiting = base.filter(status=S.READY_FOR_PICKUP).order_by(
        F("uncollected_flagged_at").asc(nulls_last=True), "ready_at", "pk"
    )
    page = Paginator(waiting, PICKUP_PAGE_SIZE).get_page(request.GET.get("page"))
    # One reverse() per page, not per row: the rows' addresses differ only by the id.
    ready_url = reverse("orders:pickup_mark_ready", args=[location.pk, 0]).replace("/0/", "/{}/")
    cancel_url = reverse("orders:pickup_cancel", args=[location.pk, 0]).replace("/0/", "/{}/")
    late_before = _late_before("store_pickup")
    # What each row shows, for the rows' template tags (orders/templatetags/fulfillment_rows).
    to_shelve = [
        {
            "number": row["number"],
            "order_number": row["order__number"],
            "picked_label": _when(row["picked_at"]),
            "is_late": row["picked_at"] is not None and row["picked_at"] < late_before,
            "ready_url": ready_url.format(row["pk"]),
        }
        for row in picked
    ]
    rows = [
        {
            "number": row["number"],
            "order_number": row["order__number"],
            "ready_label": _when(row["ready_at"]),
            "flagged": row["uncollected_flagged_at"] is not None,
            "reminders": row["pickup_reminders_sent"],
            "cancel_url": cancel_url.format(row["pk"]),
        }
        for row in page.object_list
    ]
    return render(
        request,
        T + "pickup_queue.html",
        {
            "location": location,
            "to_shelve": to_shelve,
            "shelve_limit": SHELVE_LIMIT,
            "page": page,
            "rows": rows,
            "hold_days": pickup.hold_days(),
            "reminder_days": pickup.reminder_days(),
        },
    )


@role_required(*FLOW_ROLES)
@require_POST
def pickup_mark_ready(request: HttpRequest, location_id: int, pk: int) -> HttpResponse:
    location = _pickup_location(location_id)
    try:
        shipment = pickup.pickup_mark_ready(
            shipment_id=pk, actor=request.user, location_id=location.pk
        )
    except Shipment.DoesNotExist:
        raise Http404("No such pickup order at this store.") from None
    except ValidationError as exc:
        _error(request, exc)
    else:
        # The code is the customer's proof at the counter: it is e-mailed, never shown here.
        messages.success(
            request, f"{shipment.number} is ready for pickup; the customer is e-mailed the code."
        )
    return redirect("orders:pickup_queue", location_id=location.pk)


@role_required(*FLOW_ROLES)
@require_POST
def pickup_cancel(request: HttpRequest, location_id: int, pk: int) -> HttpResponse:
    location = _pickup_location(location_id)
    form = CancelUncollectedForm(request.POST)
    form.is_valid()
    try:
        shipment = pickup.pickup_cancel_uncollected(
            shipment_id=pk,
            actor=request.user,
            location_id=location.pk,
            reason=form.cleaned_data.get("reason", ""),
        )
    except Shipment.DoesNotExist:
        raise Http404("No such pickup order at this store.") from None
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(
            request, f"{shipment.number} cancelled; put its items back on the shelves."
        )
    return redirect("orders:pickup_queue", location_id=location.pk)


@role_required(*HANDOVER_ROLES)
def pickup_handover(request: HttpRequest, location_id: int) -> HttpResponse:
    """Check the code (or order number and last name), see the order, then hand it over."""
    location = _pickup_location(location_id)
    form = HandoverForm(request.POST or None)
    found: list[Shipment] = []
    if request.method == "POST" and form.is_valid():
        answer = {
            "code": form.cleaned_data["code"],
            "order_number": form.cleaned_data["order_number"],
            "last_name": form.cleaned_data["last_name"],
        }
        try:
            if request.POST.get("action") == "hand_over":
                done = pickup.pickup_hand_over(
                    location_id=location.pk, actor=request.user, **answer
                )
                numbers = ", ".join(s.number for s in done)
                messages.success(request, f"Handed over: {numbers}.")
                return redirect("orders:pickup_handover", location_id=location.pk)
            found = pickup.pickup_find(location_id=location.pk, **answer)
        except ValidationError as exc:
            attach(form, exc)
            found = []
    shipments = []
    if found:
        shipments = list(
            Shipment.objects.filter(pk__in=[s.pk for s in found])
            .select_related("order", "order__customer")
            .prefetch_related("lines__order_line", "lines__variant")
            .order_by("pk")
        )
    return render(
        request,
        T + "pickup_handover.html",
        {"location": location, "form": form, "shipments": shipments},
    )


# Local delivery ----------------------------------------------------------------------------

DELIVERY_OPEN = (*delivery.SCHEDULABLE, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED)
DELIVERY_VIEWS = {
    "open": ("Open", DELIVERY_OPEN),
    "unscheduled": ("To schedule", delivery.SCHEDULABLE),
    "out": ("Out for delivery", (S.OUT_FOR_DELIVERY,)),
    "failed": ("Failed, to reschedule", (S.DELIVERY_FAILED,)),
}


@role_required(*FLOW_ROLES)
def local_delivery_queue(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("show", "open")
    if view not in DELIVERY_VIEWS:
        view = "open"
    label, statuses = DELIVERY_VIEWS[view]
    shipments = Shipment.objects.filter(method=delivery.METHOD, status__in=statuses)
    if view == "unscheduled":
        shipments = shipments.filter(delivery_date__isnull=True)
    shipments = (
        shipments.select_related("order", "delivery_window", "driver", "delivery_zone")
        .annotate(units=Sum("lines__quantity"))
        .order_by(F("delivery_date").asc(nulls_first=True), "delivery_window__starts", "pk")
    )
    return render(
        request,
        T + "local_delivery_queue.html",
        {
            "page": _page(shipments, request),
            "views": [(key, text) for key, (text, _) in DELIVERY_VIEWS.items()],
            "current": view,
            "label": label,
            "route_form": RouteFilterForm(initial={"date": timezone.localdate()}),
        },
    )


def _delivery_shipment(pk: int) -> Shipment:
    return get_object_or_404(
        Shipment.objects.select_related(
            "order", "delivery_window", "delivery_zone", "driver"
        ).prefetch_related("lines__order_line", "lines__variant"),
        pk=pk,
        method=delivery.METHOD,
    )


def _delivery_page(request: HttpRequest, shipment: Shipment, **forms) -> HttpResponse:
    postcode = delivery.ship_to_postcode(shipment.ship_to)
    zone = delivery.delivery_zone_for_postcode(postcode)
    initial = {}
    if shipment.delivery_date:
        initial = {
            "date": shipment.delivery_date,
            "window": shipment.delivery_window_id,
            "driver": shipment.driver_id,
        }
    status = shipment.status
    return render(
        request,
        T + "local_delivery_shipment.html",
        {
            "shipment": shipment,
            "postcode": postcode,
            "zone": zone,
            "schedule_form": forms.get("schedule") or ScheduleForm(zone=zone, initial=initial),
            "done_form": forms.get("done") or DeliveredForm(),
            "failed_form": forms.get("failed") or FailedForm(),
            "can_schedule": status in delivery.SCHEDULABLE or status == S.DELIVERY_FAILED,
            "can_go_out": status == S.PACKED,
            "is_out": status == S.OUT_FOR_DELIVERY,
            "events": list(shipment.events.select_related("actor").order_by("created_at", "pk")),
        },
    )


@role_required(*FLOW_ROLES)
def local_delivery_shipment(request: HttpRequest, pk: int) -> HttpResponse:
    return _delivery_page(request, _delivery_shipment(pk))


@role_required(*FLOW_ROLES)
@require_POST
def local_delivery_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _delivery_shipment(pk)
    zone = delivery.delivery_zone_for_postcode(delivery.ship_to_postcode(shipment.ship_to))
    form = ScheduleForm(request.POST, zone=zone)
    if form.is_valid():
        call = (
            delivery.delivery_reschedule
            if shipment.status == S.DELIVERY_FAILED
            else delivery.delivery_schedule
        )
        try:
            done = call(
                shipment_id=pk,
                date=form.cleaned_data["date"],
                window_id=form.cleaned_data["window"],
                driver_id=form.cleaned_data["driver"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.success(
                request, f"{done.number} is scheduled for {done.delivery_date:%a %d %b}."
            )
            return redirect("orders:local_delivery_shipment", pk=pk)
    return _delivery_page(request, shipment, schedule=form)


@role_required(*FLOW_ROLES)
@require_POST
def local_delivery_out(request: HttpRequest, pk: int) -> HttpResponse:
    _delivery_shipment(pk)
    try:
        done = delivery.delivery_out(shipment_id=pk, actor=request.user)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{done.number} is out for delivery; the customer is told.")
    return redirect("orders:local_delivery_shipment", pk=pk)


@role_required(*FLOW_ROLES)
@require_POST
def local_delivery_done(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _delivery_shipment(pk)
    form = DeliveredForm(request.POST)
    if form.is_valid():
        try:
            done = delivery.delivery_done(
                shipment_id=pk, actor=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.success(request, f"{done.number} delivered.")
            return redirect("orders:local_delivery_shipment", pk=pk)
    return _delivery_page(request, shipment, done=form)


@role_required(*FLOW_ROLES)
@require_POST
def local_delivery_failed(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _delivery_shipment(pk)
    form = FailedForm(request.POST)
    if form.is_valid():
        try:
            done = delivery.delivery_failed(
                shipment_id=pk, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.warning(request, f"{done.number} not delivered; schedule it again.")
            return redirect("orders:local_delivery_shipment", pk=pk)
    return _delivery_page(request, shipment, failed=form)


@role_required(*FLOW_ROLES)
def route_sheet(request: HttpRequest) -> HttpResponse:
    """Each driver's deliveries of one day, grouped by window; printable."""
    form = RouteFilterForm(request.GET or None)
    on: date = timezone.localdate()
    driver_id = None
    if form.is_bound and form.is_valid():
        on = form.cleaned_data["date"] or on
        driver_id = form.cleaned_data["driver"]
    shipments = (
        Shipment.objects.filter(
            method=delivery.METHOD,
            delivery_date=on,
            status__in=(*DELIVERY_OPEN, S.DELIVERED),
        )
        .select_related("order", "delivery_window", "driver")
        .prefetch_related("lines__order_line")
        .order_by(
            "driver__first_name", "driver__username", "driver_id", "delivery_window__starts", "pk"
        )
    )
    if driver_id:
        shipments = shipments.filter(driver_id=driver_id)
    drivers: list[dict] = []
    for shipment in shipments:
        label = (
            (shipment.driver.get_full_name() or shipment.driver.get_username())
            if shipment.driver
            else "No driver yet"
        )
        if not drivers or drivers[-1]["driver_id"] != shipment.driver_id:
            drivers.append({"driver_id": shipment.driver_id, "label": label, "windows": []})
        windows = drivers[-1]["windows"]
        window = shipment.delivery_window
        if not windows or windows[-1]["window"] != window:
            windows.append({"window": window, "stops": []})
        windows[-1]["stops"].append(shipment)
    return render(request, T + "route_sheet.html", {"form": form, "on": on, "drivers": drivers})


# Zones and windows -------------------------------------------------------------------------


@role_required(*ZONE_ROLES)
def zone_list(request: HttpRequest) -> HttpResponse:
    form = ZoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            zone = delivery.delivery_zone_save(
                zone_id=None, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.success(request, f"Zone {zone.name} added; now give it delivery windows.")
            return redirect("orders:zone_edit", pk=zone.pk)
    zones = DeliveryZone.objects.annotate(window_count=Count("windows")).order_by("name")
    return render(request, T + "zone_list.html", {"zones": zones, "form": form})


@role_required(*ZONE_ROLES)
def zone_edit(request: HttpRequest, pk: int) -> HttpResponse:
    zone = get_object_or_404(DeliveryZone, pk=pk)
    form = ZoneForm(request.POST or None, initial=_zone_initial(zone))
    if request.method == "POST" and form.is_valid():
        try:
            delivery.delivery_zone_save(zone_id=zone.pk, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.success(request, f"Zone {form.cleaned_data['name']} saved.")
            return redirect("orders:zone_edit", pk=zone.pk)
    return _zone_page(request, zone, form=form)


def _zone_initial(zone: DeliveryZone) -> dict:
    return {"name": zone.name, "postcodes": zone.postcodes, "fee": zone.fee, "active": zone.active}


def _zone_page(request, zone: DeliveryZone, *, form=None, window_form=None) -> HttpResponse:
    windows = list(zone.windows.order_by("starts"))
    return render(
        request,
        T + "zone_edit.html",
        {
            "zone": zone,
            "form": form or ZoneForm(initial=_zone_initial(zone)),
            "windows": [
                (
                    w,
                    WindowForm(
                        initial={
                            "weekdays": w.weekdays,
                            "starts": w.starts,
                            "ends": w.ends,
                            "capacity": w.capacity,
                            "active": w.active,
                        },
                        prefix=f"w{w.pk}",
                    ),
                )
                for w in windows
            ],
            "window_form": window_form or WindowForm(prefix="new"),
            "weekday_names": delivery.WEEKDAY_NAMES,
        },
    )


@role_required(*ZONE_ROLES)
@require_POST
def zone_window_save(request: HttpRequest, pk: int) -> HttpResponse:
    zone = get_object_or_404(DeliveryZone, pk=pk)
    window_id = request.POST.get("window") or None
    if window_id is not None:
        if not str(window_id).isdigit():
            raise Http404("No such window.")
        window = get_object_or_404(DeliveryWindow, pk=window_id, zone=zone)
        prefix = f"w{window.pk}"
    else:
        window, prefix = None, "new"
    form = WindowForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            delivery.delivery_window_save(
                zone_id=zone.pk,
                window_id=window.pk if window else None,
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            attach(form, exc)
        else:
            messages.success(request, "Window saved." if window else "Window added.")
            return redirect("orders:zone_edit", pk=zone.pk)
    messages.error(
        request,
        "The window was not saved: "
        + " ".join(str(e) for errors in form.errors.values() for e in errors),
    )
    return _zone_page(request, zone, window_form=form if window is None else None)
