"""Intake: the webhook endpoints, the delivery log and replay, channels and their shipping
mappings, the CSV import, phone orders, and the fixes reviewers make to incoming orders
(matching an unknown line, choosing a method)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from opsdesk.core.middleware import machine_endpoint
from opsdesk.core.permissions import public, role_required
from opsdesk.core.roles import Role, user_has_role
from orders import selectors_intake as selectors
from orders.forms_intake import (
    ChannelCreateForm,
    CsvImportForm,
    DeliveryFilterForm,
    LineMatchForm,
    MappingForm,
    MethodSetForm,
    PhoneOrderForm,
    SecretRotateForm,
)
from orders.models import Channel, Order, OrderLine, WebhookDelivery
from orders.services import build, imports, intake

INTAKE_READERS = (Role.ORDER_REVIEWER, Role.MANAGER, Role.OWNER, Role.ADMIN)
REPLAYERS = (Role.MANAGER, Role.OWNER, Role.ADMIN)
CHANNEL_ADMINS = (Role.ADMIN,)
IMPORTERS = (Role.MANAGER, Role.OWNER, Role.ADMIN)
PHONE_ORDER_TAKERS = (
    Role.ORDER_REVIEWER,
    Role.CUSTOMER_SERVICE,
    Role.MANAGER,
    Role.OWNER,
    Role.ADMIN,
)
ORDER_FIXERS = (Role.ORDER_REVIEWER, Role.MANAGER, Role.OWNER, Role.ADMIN)
DELIVERY_PAGE_SIZE = 50
# The body shown on a delivery's page; the whole of it stays in the database.
BODY_SHOWN = 100_000


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Webhooks --------------------------------------------------------------------------------


def _webhook(request: HttpRequest, kind: str, channel: str) -> JsonResponse:
    answer = intake.delivery_receive(
        kind=kind,
        channel_slug=channel,
        headers=request.headers,
        body=request.body,
        content_type=request.content_type or "",
    )
    return JsonResponse(answer.body, status=answer.status)


# Stores sign their deliveries (checked in delivery_receive); there is no session or CSRF
# token to check, so they skip the browser middleware (MachineEndpointMiddleware).
@machine_endpoint
@csrf_exempt
@public
@require_POST
def webhook_shopify(request: HttpRequest, channel: str) -> JsonResponse:
    return _webhook(request, Channel.Kind.SHOPIFY, channel)


@machine_endpoint
@csrf_exempt
@public
@require_POST
def webhook_woocommerce(request: HttpRequest, channel: str) -> JsonResponse:
    return _webhook(request, Channel.Kind.WOOCOMMERCE, channel)


@machine_endpoint
@csrf_exempt
@public
@require_POST
def webhook_generic(request: HttpRequest, channel: str) -> JsonResponse:
    return _webhook(request, Channel.Kind.GENERIC, channel)


# The delivery log --------------------------------------------------------------------------


@role_required(*INTAKE_READERS)
def delivery_list(request: HttpRequest) -> HttpResponse:
    channels = list(Channel.objects.order_by("name"))
    form = DeliveryFilterForm(request.GET or None, channels=channels)
    outcome, channel_id = "", None
    if form.is_valid():
        outcome, channel_id = form.cleaned_data["outcome"], form.cleaned_data["channel"]
    page = Paginator(
        selectors.delivery_list(outcome=outcome, channel_id=channel_id), DELIVERY_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    counts = selectors.delivery_outcome_counts(channel_id=channel_id)
    tabs = [
        {"value": "", "label": "All", "count": sum(counts.values())},
        *(
            {"value": value, "label": label, "count": counts.get(value, 0)}
            for value, label in WebhookDelivery.Outcome.choices
        ),
    ]
    return render(
        request,
        "orders/intake/delivery_list.html",
        {
            "form": form,
            "page": page,
            "tabs": tabs,
            "outcome": outcome,
            "channel_id": channel_id,
        },
    )


def _delivery_or_404(delivery_id: int) -> WebhookDelivery:
    try:
        return selectors.delivery_get_for_detail(delivery_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404("No such delivery.") from None


@role_required(*INTAKE_READERS)
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = _delivery_or_404(delivery_id)
    body = bytes(delivery.body)
    return render(
        request,
        "orders/intake/delivery_detail.html",
        {
            "delivery": delivery,
            "body_text": body[:BODY_SHOWN].decode("utf-8", errors="replace"),
            "body_cut": len(body) > BODY_SHOWN,
            "body_size": len(body),
            "can_replay": delivery.outcome in intake.REPLAYABLE
            and delivery.signature_ok
            and user_has_role(request.user, *REPLAYERS),
        },
    )


@role_required(*REPLAYERS)
@require_POST
def delivery_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _delivery_or_404(delivery_id)
    try:
        delivery = intake.delivery_replay(delivery_id=delivery_id, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if delivery.outcome == WebhookDelivery.Outcome.FAILED:
            messages.error(request, f"Built again, and failed again: {delivery.error}")
        else:
            messages.success(
                request, f"Delivery {delivery.pk}: {delivery.get_outcome_display().lower()}."
            )
    return redirect("orders:delivery_detail", delivery_id=delivery_id)


# Channels --------------------------------------------------------------------------------


def _channel_or_404(channel_id: int) -> Channel:
    try:
        return Channel.objects.get(pk=channel_id)
    except Channel.DoesNotExist:
        raise Http404("No such channel.") from None


@role_required(*CHANNEL_ADMINS)
def channel_list(request: HttpRequest) -> HttpResponse:
    form = ChannelCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            channel = intake.channel_create(**form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Channel {channel.name} added.")
            # The secret is shown once, on the channel's page, when it was generated here.
            if not form.cleaned_data["secret"]:
                return _channel_page(request, channel, shown_secret=channel.secret)
            return redirect("orders:channel_detail", channel_id=channel.pk)
    channels = selectors.channel_list()
    return render(
        request,
        "orders/intake/channel_list.html",
        {
            "form": form,
            "rows": [(c, intake.channel_webhook_url(c)) for c in channels],
        },
    )


def _channel_page(
    request: HttpRequest,
    channel: Channel,
    *,
    mapping_form: MappingForm | None = None,
    rotate_form: SecretRotateForm | None = None,
    shown_secret: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "orders/intake/channel_detail.html",
        {
            "channel": channel,
            "url": intake.channel_webhook_url(channel),
            "mappings": selectors.channel_mappings(channel_id=channel.pk),
            "mapping_form": mapping_form or MappingForm(),
            "rotate_form": rotate_form or SecretRotateForm(),
            "shown_secret": shown_secret,
            "secret_hint": f"…{channel.secret[-4:]}" if channel.secret else "",
        },
        status=status,
    )


@role_required(*CHANNEL_ADMINS)
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    form = MappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mapping = intake.shipping_mapping_save(
                channel_id=channel.pk,
                match_value=data["match_value"],
                method=data["method"],
                pickup_location_id=data["pickup_location"].pk if data["pickup_location"] else None,
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(
                request, f"{mapping.match_value!r} now means {mapping.get_method_display()}."
            )
            return redirect("orders:channel_detail", channel_id=channel.pk)
    return _channel_page(request, channel, mapping_form=form, status=400 if form.errors else 200)


@role_required(*CHANNEL_ADMINS)
@require_POST
def channel_rotate(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    form = SecretRotateForm(request.POST)
    if form.is_valid():
        try:
            channel = intake.channel_secret_rotate(
                channel_id=channel.pk,
                actor=request.user,
                new_secret=form.cleaned_data["new_secret"],
                grace_hours=form.cleaned_data["grace_hours"],
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(
                request,
                "Secret rotated; the previous one is accepted until "
                f"{channel.previous_secret_valid_until:%Y-%m-%d %H:%M %Z}.",
            )
            # Rendered, not redirected: a generated secret is shown this once and is never
            # put in a cookie or a URL.
            shown = "" if form.cleaned_data["new_secret"] else channel.secret
            return _channel_page(request, channel, shown_secret=shown)
    return _channel_page(request, channel, rotate_form=form, status=400)


@role_required(*CHANNEL_ADMINS)
@require_POST
def mapping_delete(request: HttpRequest, channel_id: int, mapping_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    if not channel.method_mappings.filter(pk=mapping_id).exists():
        raise Http404("No such mapping.")
    try:
        intake.shipping_mapping_delete(mapping_id=mapping_id, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Mapping removed.")
    return redirect("orders:channel_detail", channel_id=channel.pk)


# CSV import and phone orders ---------------------------------------------------------------


@role_required(*IMPORTERS)
def import_csv(request: HttpRequest) -> HttpResponse:
    form = CsvImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = imports.orders_import_csv(
                channel=form.cleaned_data["channel"],
                content=upload.read(),
                actor=request.user,
                filename=upload.name,
            )
        except ValidationError as exc:
            _attach(form, exc)
    return render(
        request,
        "orders/intake/import_csv.html",
        {"form": form, "result": result},
        status=400 if form.errors else 200,
    )


@role_required(*PHONE_ORDER_TAKERS)
def phone_order(request: HttpRequest) -> HttpResponse:
    form = PhoneOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        address = form.address()
        try:
            order = imports.phone_order_create(
                data=imports.PhoneOrder(
                    lines=data["lines"],
                    method=data["method"],
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    phone=data["phone"],
                    billing_address=address,
                    shipping_address=address,
                    pickup_location_id=data["pickup_location"].pk
                    if data["pickup_location"]
                    else None,
                    shipping_total=data["shipping_total"],
                    discount_total=data["discount_total"],
                    tax_total=data["tax_total"],
                    payment_status=data["payment_status"],
                    note=data["note"],
                ),
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Order {order.number} entered.")
            return redirect(order.get_absolute_url())
    return render(
        request,
        "orders/intake/phone_order.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# Fixing an incoming order ------------------------------------------------------------------


@role_required(*ORDER_FIXERS)
def line_match(request: HttpRequest, line_id: int) -> HttpResponse:
    try:
        line = selectors.order_line_get_for_match(line_id=line_id)
    except OrderLine.DoesNotExist:
        raise Http404("No such order line.") from None
    form = LineMatchForm(request.POST or None, initial={"sku": line.sku})
    if request.method == "POST" and form.is_valid():
        try:
            build.order_line_match(
                line_id=line.pk, variant_id=form.cleaned_data["sku"].pk, actor=request.user
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Line matched to {form.cleaned_data['sku'].sku}.")
            return redirect(line.order.get_absolute_url())
    return render(
        request,
        "orders/intake/line_match.html",
        {"line": line, "form": form},
        status=400 if form.errors else 200,
    )


@role_required(*ORDER_FIXERS)
def order_method(request: HttpRequest, pk: int) -> HttpResponse:
    order = Order.objects.filter(pk=pk).first()
    if order is None:
        raise Http404("No such order.")
    form = MethodSetForm(
        request.POST or None,
        initial={"method": order.fulfillment_method, "pickup_location": order.pickup_location_id},
    )
    if request.method == "POST" and form.is_valid():
        location = form.cleaned_data["pickup_location"]
        try:
            build.order_fulfillment_method_set(
                order_id=order.pk,
                method=form.cleaned_data["method"],
                pickup_location_id=location.pk if location else None,
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, "Fulfillment method set.")
            return redirect(order.get_absolute_url())
    return render(
        request,
        "orders/intake/order_method.html",
        {"order": order, "form": form},
        status=400 if form.errors else 200,
    )
