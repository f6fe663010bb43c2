"""Stock and backorder pages: the stock list, a SKU's stock and history, adjust and transfer,
the out-of-stock queue and its decisions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog.models import Variant
from inventory import selectors, services
from inventory.forms import (
    BackorderCancelForm,
    BackorderContactForm,
    BackorderSubstituteForm,
    BackorderWaitForm,
    StockAdjustForm,
    StockSearchForm,
    StockTransferForm,
)
from inventory.models import Backorder
from opsdesk.core.permissions import role_required
from opsdesk.core.roles import Role, user_has_role

STOCK_READERS = (Role.INVENTORY, Role.FULFILLMENT, Role.MANAGER, Role.OWNER, Role.ADMIN)
STOCK_EDITORS = (Role.INVENTORY, Role.MANAGER, Role.OWNER, Role.ADMIN)
# Customer service contacts customers about their backordered lines, and decides with them.
BACKORDER_HANDLERS = (Role.INVENTORY, Role.CUSTOMER_SERVICE, Role.MANAGER, Role.OWNER, Role.ADMIN)
BACKORDER_READERS = (*STOCK_READERS, Role.CUSTOMER_SERVICE)

STOCK_PAGE_SIZE = 50
MOVEMENT_PAGE_SIZE = 50
BACKORDER_PAGE_SIZE = 50


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _variant_or_404(variant_id: int) -> Variant:
    try:
        return selectors.variant_get_for_stock(variant_id=variant_id)
    except Variant.DoesNotExist:
        raise Http404("No such variant.") from None


# Stock ----------------------------------------------------------------------------------


@role_required(*STOCK_READERS)
def stock_list(request: HttpRequest) -> HttpResponse:
    form = StockSearchForm(request.GET or None)
    search, low_only = "", False
    if form.is_valid():
        search, low_only = form.cleaned_data["q"], form.cleaned_data["low"]
    locations = selectors.location_list_active()
    page = Paginator(
        selectors.stock_list(search=search, low_only=low_only), STOCK_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/stock_list.html",
        {
            "form": form,
            "locations": locations,
            "page": page,
            "rows": selectors.stock_rows(variants=page.object_list, locations=locations),
            "low_only": low_only,
            "can_edit": user_has_role(request.user, *STOCK_EDITORS),
        },
    )


@role_required(*STOCK_READERS)
def variant_stock(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = _variant_or_404(variant_id)
    movements = Paginator(
        selectors.variant_movements(variant_id=variant.pk), MOVEMENT_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/variant_stock.html",
        {
            "variant": variant,
            "levels": selectors.variant_stock_levels(variant_id=variant.pk),
            "reservations": selectors.variant_reservations_active(variant_id=variant.pk),
            "backorders": selectors.backorder_list_for_variant(variant_id=variant.pk),
            "page": movements,
            "can_edit": user_has_role(request.user, *STOCK_EDITORS),
        },
    )


@role_required(*STOCK_EDITORS)
def stock_adjust(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = _variant_or_404(variant_id)
    form = StockAdjustForm(request.POST or None, initial={"location": request.GET.get("location")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            level = services.stock_adjust(
                variant_id=variant.pk,
                location_id=data["location"].pk,
                delta=data["delta"],
                reason=data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(
                request,
                f"{variant.sku} at {data['location']}: {data['delta']:+d}, "
                f"now {level.on_hand} on hand.",
            )
            return redirect("inventory:variant_stock", variant_id=variant.pk)
    if form.errors:
        messages.error(request, "Nothing was changed: correct what is marked below.")
    return render(
        request,
        "inventory/stock_form.html",
        {
            "variant": variant,
            "form": form,
            "title": f"Adjust {variant.sku}",
            "submit": "Adjust stock",
            "levels": selectors.variant_stock_levels(variant_id=variant.pk),
        },
    )


@role_required(*STOCK_EDITORS)
def stock_transfer(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = _variant_or_404(variant_id)
    form = StockTransferForm(
        request.POST or None, initial={"from_location": request.GET.get("location")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.stock_transfer(
                variant_id=variant.pk,
                from_location_id=data["from_location"].pk,
                to_location_id=data["to_location"].pk,
                quantity=data["quantity"],
                actor=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(
                request,
                f"Moved {data['quantity']} × {variant.sku} from {data['from_location']} "
                f"to {data['to_location']}.",
            )
            return redirect("inventory:variant_stock", variant_id=variant.pk)
    if form.errors:
        messages.error(request, "Nothing was moved: correct what is marked below.")
    return render(
        request,
        "inventory/stock_form.html",
        {
            "variant": variant,
            "form": form,
            "title": f"Transfer {variant.sku}",
            "submit": "Transfer",
            "levels": selectors.variant_stock_levels(variant_id=variant.pk),
        },
    )


# Backorders -----------------------------------------------------------------------------


@role_required(*BACKORDER_READERS)
def backorder_queue(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.backorder_list_pending(), BACKORDER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "inventory/backorder_queue.html", {"page": page})


# The decisions on a backorder that take a form; "reserve" takes none.
BACKORDER_ACTIONS = {
    "wait": BackorderWaitForm,
    "substitute": BackorderSubstituteForm,
    "cancel": BackorderCancelForm,
    "contact": BackorderContactForm,
}


def _backorder_act(action: str, backorder: Backorder, data: dict, user) -> str:
    """Call the service for `action`; returns the message to flash."""
    if action == "wait":
        po = data["purchase_order"]
        services.backorder_wait_for_po(
            backorder_id=backorder.pk,
            actor=user,
            purchase_order_id=po.pk if po else None,
            note=data["note"],
        )
        return f"Waiting for {f'PO {po.number}' if po else 'a purchase order'}."
    if action == "substitute":
        services.backorder_substitute(
            backorder_id=backorder.pk,
            variant_id=data["variant"].pk,
            actor=user,
            note=data["note"],
        )
        return f"Substituted {data['variant'].sku}, reserved for the order."
    if action == "cancel":
        services.backorder_cancel(backorder_id=backorder.pk, actor=user, reason=data["reason"])
        return "Cancelled the line."
    if action == "contact":
        services.backorder_contact_customer(
            backorder_id=backorder.pk, actor=user, note=data["note"]
        )
        return "Recorded the contact with the customer."
    services.backorder_reserve(backorder_id=backorder.pk, actor=user)
    return "Reserved the order from stock."


@role_required(*BACKORDER_READERS)
def backorder_detail(request: HttpRequest, backorder_id: int) -> HttpResponse:
    try:
        backorder = selectors.backorder_get_for_detail(backorder_id=backorder_id)
    except Backorder.DoesNotExist:
        raise Http404("No such backorder.") from None
    can_act = user_has_role(request.user, *BACKORDER_HANDLERS)
    purchase_orders = selectors.purchase_orders_open_for_variant(variant_id=backorder.variant_id)
    forms = {
        name: (
            form_class(prefix=name, purchase_orders=purchase_orders)
            if form_class is BackorderWaitForm
            else form_class(prefix=name)
        )
        for name, form_class in BACKORDER_ACTIONS.items()
    }
    reserve_error = None
    if request.method == "POST":
        if not can_act:
            return render(request, "403.html", {"required_roles": BACKORDER_HANDLERS}, status=403)
        if not backorder.is_pending:
            messages.error(
                request,
                f"This line is already settled ({backorder.get_status_display().lower()}).",
            )
            return redirect(backorder.get_absolute_url())
        action = request.POST.get("action", "")
        if action not in (*BACKORDER_ACTIONS, "reserve"):
            messages.error(request, "Choose one of the actions.")
            return redirect(backorder.get_absolute_url())
        form = None
        if action in BACKORDER_ACTIONS:
            form_class = BACKORDER_ACTIONS[action]
            kwargs = {"purchase_orders": purchase_orders} if form_class is BackorderWaitForm else {}
            form = forms[action] = form_class(request.POST, prefix=action, **kwargs)
        if form is None or form.is_valid():
            try:
                done = _backorder_act(
                    action, backorder, form.cleaned_data if form else {}, request.user
                )
            except ValidationError as exc:
                if form is None:
                    reserve_error = exc
                else:
                    _attach(form, exc)
            else:
                messages.success(request, done)
                return redirect("inventory:backorder_queue")
        messages.error(request, "Nothing was changed: see the message below.")
    return render(
        request,
        "inventory/backorder_detail.html",
        {
            "backorder": backorder,
            "forms": forms,
            "can_act": can_act and backorder.is_pending,
            "reserve_error": reserve_error,
        },
    )
