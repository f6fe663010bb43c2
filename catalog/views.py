"""Catalog pages: products, variants, images, the data-entry queue and the accuracy checks."""

import mimetypes
from pathlib import PurePath

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog import selectors, services
from catalog.exceptions import PublishRefused
from catalog.forms import (
    ProductFilterForm,
    ProductForm,
    ProductImageForm,
    ProductStatusForm,
    VariantForm,
)
from catalog.models import AccuracySnapshot, Product, ProductImage, Variant
from catalog.permissions import CATALOG_EDITORS
from opsdesk.core.permissions import role_required

NOTHING_SAVED = "Nothing was saved: correct the fields marked below."


def _attach(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _product_or_404(product_id: int) -> Product:
    return get_object_or_404(Product.objects.only("pk", "title"), pk=product_id)


# Products ------------------------------------------------------------------------------


@role_required(*CATALOG_EDITORS)
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.warning(request, "Some filters were not understood and are not applied.")
    filters = form.filters()
    page = selectors.product_page(page_number=request.GET.get("page"), **filters)
    return render(
        request,
        "catalog/product_list.html",
        {"page": page, "products": page.object_list, "filter_form": form, "filters": filters},
    )


@role_required(*CATALOG_EDITORS)
def product_create(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                product = services.product_create(
                    title=data["title"],
                    description=data["description"],
                    category_id=data["category"].pk if data["category"] else None,
                    vendor_id=data["vendor"].pk if data["vendor"] else None,
                    actor=request.user,
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(
                    request, f"Created “{product.title}” as a draft. Add its SKUs and pictures."
                )
                return redirect(product.get_absolute_url())
        messages.error(request, NOTHING_SAVED)
    return render(request, "catalog/product_form.html", {"form": form, "product": None})


@role_required(*CATALOG_EDITORS)
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = selectors.product_get_for_detail(product_id=product_id)
    except Product.DoesNotExist:
        raise Http404("No such product.") from None
    labels = dict(Product.Status.choices)
    next_statuses = [(s, labels[s]) for s in Product.ALLOWED_TRANSITIONS.get(product.status, ())]
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "events": selectors.product_timeline(product=product),
            "next_statuses": next_statuses,
            "image_form": ProductImageForm(),
        },
    )


@role_required(*CATALOG_EDITORS)
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id)
    if request.method == "POST":
        form = ProductForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.product_update(
                    product_id=product.pk,
                    title=data["title"],
                    description=data["description"],
                    category_id=data["category"].pk if data["category"] else None,
                    vendor_id=data["vendor"].pk if data["vendor"] else None,
                    actor=request.user,
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, f"Saved “{data['title']}”.")
                return redirect(product.get_absolute_url())
        messages.error(request, NOTHING_SAVED)
    else:
        form = ProductForm(
            initial={
                "title": product.title,
                "description": product.description,
                "category": product.category_id,
                "vendor": product.vendor_id,
            }
        )
    return render(request, "catalog/product_form.html", {"form": form, "product": product})


@role_required(*CATALOG_EDITORS)
@require_POST
def product_status(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    form = ProductStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status to move the product to.")
        return redirect(product.get_absolute_url())
    try:
        product = services.product_transition(
            product_id=product.pk, to_status=form.cleaned_data["to_status"], actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"“{product.title}” is now {product.get_status_display().lower()}."
        )
    return redirect(product.get_absolute_url())


@role_required(*CATALOG_EDITORS)
@require_POST
def product_publish(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    try:
        services.product_publish(product_id=product.pk, actor=request.user)
    except PublishRefused as exc:
        messages.error(request, "Not published. " + " ".join(exc.reasons))
    else:
        messages.success(request, f"“{product.title}” is on the web store.")
    return redirect(product.get_absolute_url())


@role_required(*CATALOG_EDITORS)
@require_POST
def product_unpublish(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    services.product_unpublish(
        product_id=product.pk, actor=request.user, reason=request.POST.get("reason", "")[:200]
    )
    messages.success(request, f"“{product.title}” is off the web store.")
    return redirect(product.get_absolute_url())


# Variants ------------------------------------------------------------------------------


def _variant_kwargs(data: dict) -> dict:
    return {
        "sku": data["sku"],
        "barcode": data["barcode"],
        "option_values": data["options"],
        "retail_price": data["retail_price"],
        "compare_at_price": data["compare_at_price"],
        "unit_cost": data["unit_cost"],
        "weight_grams": data["weight_grams"],
        "low_stock_threshold": data["low_stock_threshold"] or 0,
    }


@role_required(*CATALOG_EDITORS)
def variant_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    form = VariantForm(request.POST or None, initial={"low_stock_threshold": 0})
    if request.method == "POST":
        if form.is_valid():
            try:
                variant = services.variant_create(
                    product_id=product.pk, actor=request.user, **_variant_kwargs(form.cleaned_data)
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, f"Added SKU {variant.sku}.")
                return redirect(product.get_absolute_url())
        messages.error(request, NOTHING_SAVED)
    return render(
        request, "catalog/variant_form.html", {"form": form, "product": product, "variant": None}
    )


@role_required(*CATALOG_EDITORS)
def variant_edit(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = get_object_or_404(Variant.objects.select_related("product"), pk=variant_id)
    product = variant.product
    if request.method == "POST":
        form = VariantForm(request.POST)
        if form.is_valid():
            try:
                services.variant_update(
                    variant_id=variant.pk, actor=request.user, **_variant_kwargs(form.cleaned_data)
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, f"Saved SKU {form.cleaned_data['sku']}.")
                return redirect(product.get_absolute_url())
        messages.error(request, NOTHING_SAVED)
    else:
        form = VariantForm(initial=VariantForm.initial_for(variant))
    return render(
        request,
        "catalog/variant_form.html",
        {"form": form, "product": product, "variant": variant},
    )


# Images --------------------------------------------------------------------------------


@role_required(*CATALOG_EDITORS)
def image_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    form = ProductImageForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.product_image_add(
                    product_id=product.pk,
                    upload=form.cleaned_data["image"],
                    alt_text=form.cleaned_data["alt_text"],
                    actor=request.user,
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, "Added the picture.")
                return redirect(product.get_absolute_url())
        messages.error(request, "The picture was not added: see below.")
    return render(request, "catalog/image_form.html", {"form": form, "product": product})


@role_required(*CATALOG_EDITORS)
@require_POST
def image_delete(request: HttpRequest, image_id: int) -> HttpResponse:
    image = get_object_or_404(ProductImage.objects.select_related("product"), pk=image_id)
    services.product_image_remove(image_id=image.pk, actor=request.user)
    messages.success(request, "Removed the picture.")
    return redirect(image.product.get_absolute_url())


def _image_response(file) -> FileResponse:
    if not file or not file.storage.exists(file.name):
        raise Http404("The picture's file is missing.")
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = FileResponse(
        file.storage.open(file.name, "rb"),
        content_type=content_type,
        filename=PurePath(file.name).name,
    )
    response["Content-Disposition"] = response["Content-Disposition"].replace(
        "attachment", "inline"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


@role_required(*CATALOG_EDITORS)
def image_thumbnail(request: HttpRequest, image_id: int) -> HttpResponse:
    image = get_object_or_404(ProductImage, pk=image_id)
    return _image_response(image.thumbnail or image.image)


@role_required(*CATALOG_EDITORS)
def image_original(request: HttpRequest, image_id: int) -> HttpResponse:
    image = get_object_or_404(ProductImage, pk=image_id)
    return _image_response(image.image)


# The data-entry queue ------------------------------------------------------------------


@role_required(*CATALOG_EDITORS)
def queue(request: HttpRequest) -> HttpResponse:
    page = selectors.web_ready_queue(page_number=request.GET.get("page"))
    return render(
        request,
        "catalog/queue.html",
        {"page": page, "products": page.object_list, "process": selectors.web_ready_process()},
    )


@role_required(*CATALOG_EDITORS)
@require_POST
def product_claim(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    try:
        services.product_claim(product_id=product.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"You claimed “{product.title}”.")
    return redirect(_back(request, reverse("catalog:queue")))


@role_required(*CATALOG_EDITORS)
@require_POST
def product_verify(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_or_404(product_id)
    try:
        services.product_verify(product_id=product.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Verified “{product.title}”; it left the queue.")
    return redirect(_back(request, reverse("catalog:queue")))


# Accuracy ------------------------------------------------------------------------------


@role_required(*CATALOG_EDITORS)
def accuracy(request: HttpRequest) -> HttpResponse:
    report = selectors.accuracy_report()
    snapshots = selectors.accuracy_snapshots()
    differing = report.differing_rows
    return render(
        request,
        "catalog/accuracy.html",
        {
            "report": report,
            "rows": differing[: selectors.ACCURACY_ROWS_SHOWN],
            "rows_left_out": max(len(differing) - selectors.ACCURACY_ROWS_SHOWN, 0),
            "snapshots": snapshots,
            "latest": snapshots[0] if snapshots else None,
            "trend": selectors.accuracy_trend(snapshots),
            "can_sign_off": selectors.accuracy_can_sign_off(user=request.user),
        },
    )


@role_required(*CATALOG_EDITORS)
@require_POST
def accuracy_snapshot_take(request: HttpRequest) -> HttpResponse:
    try:
        snapshot = services.accuracy_snapshot_take(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Snapshot taken: {snapshot.score}% accurate.")
    return redirect("catalog:accuracy")


@role_required(*CATALOG_EDITORS)
@require_POST
def accuracy_sign_off(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = get_object_or_404(AccuracySnapshot, pk=snapshot_id)
    try:
        services.accuracy_snapshot_sign_off(snapshot_id=snapshot.pk, actor=request.user)
    except PermissionDenied:
        return render(
            request,
            "403.html",
            {"required_roles": ["Owner", "Admin", "the primary of Web-ready data entry"]},
            status=403,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Signed off the snapshot of {snapshot.taken_at:%Y-%m-%d}.")
    return redirect("catalog:accuracy")
