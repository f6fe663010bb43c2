"""Reads for receiving and the POS sync pages (inventory.selectors is the stock core's)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce

from inventory.models import (
    Location,
    PosSyncRun,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceivingDiscrepancy,
    StockLevel,
)


def purchase_order_list(*, status: str = "") -> QuerySet[PurchaseOrder]:
    """Purchase orders, newest first, with their line totals (one query)."""
    qs = PurchaseOrder.objects.select_related("vendor", "location").annotate(
        line_count=Count("lines"),
        units_ordered=Coalesce(Sum("lines__quantity_ordered"), 0),
        units_received=Coalesce(Sum("lines__quantity_received"), 0),
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def purchase_order_get_for_detail(*, po_id: int) -> PurchaseOrder:
    lines = PurchaseOrderLine.objects.select_related("variant__product").order_by("pk")
    discrepancies = ReceivingDiscrepancy.objects.select_related(
        "line__variant", "recorded_by"
    ).order_by("-created_at", "-pk")
    return (
        PurchaseOrder.objects.select_related("vendor", "location", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=lines), Prefetch("discrepancies", queryset=discrepancies)
        )
        .get(pk=po_id)
    )


def purchase_order_stock(*, purchase_order: PurchaseOrder) -> dict[int, int]:
    """On hand of each of the order's items at its location: variant id -> units."""
    variant_ids = [line.variant_id for line in purchase_order.lines.all()]
    return dict(
        StockLevel.objects.filter(
            location_id=purchase_order.location_id, variant_id__in=variant_ids
        ).values_list("variant_id", "on_hand")
    )


def pos_sync_run_list(*, limit: int = 30) -> list[PosSyncRun]:
    return list(
        PosSyncRun.objects.select_related("created_by").order_by("-created_at", "-pk")[:limit]
    )


def pos_sync_location_stock(*, run: PosSyncRun, skus: list[str]) -> list[StockLevel]:
    """The stock now of some SKUs of a run, at the run's locations (for its result page)."""
    names = run.preview.get("locations") or (
        [run.preview["location"]] if run.preview.get("location") else []
    )
    return list(
        StockLevel.objects.filter(variant__sku__in=skus, location__name__in=names)
        .select_related("variant", "location")
        .order_by("variant__sku", "location__web_priority", "location__name")
    )


def location_list_for_push() -> list[Location]:
    return list(
        Location.objects.exclude(kind=Location.Kind.VENDOR).order_by("web_priority", "name")
    )
