"""Reads of inventory for the stock and backorder pages: each list in a fixed number of
queries, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, IntegerField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import Variant
from inventory.models import (
    Backorder,
    BackorderEvent,
    Location,
    PurchaseOrder,
    Reservation,
    StockLevel,
    StockMovement,
)

OPEN_PO_STATUSES = (
    PurchaseOrder.Status.DRAFT,
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.PARTIAL,
)
_WEB = Q(stock_levels__location__active=True) & Q(
    stock_levels__location__kind__in=Location.WEB_KINDS
)


def location_list_active() -> list[Location]:
    """Active locations, in the order web orders use them (the stock list's columns)."""
    return list(Location.objects.filter(active=True).order_by("web_priority", "name"))


def _with_totals(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    zero = Value(0, output_field=IntegerField())
    return variants.annotate(
        on_hand_total=Coalesce(Sum("stock_levels__on_hand"), zero),
        reserved_total=Coalesce(Sum("stock_levels__reserved"), zero),
        sellable=Coalesce(
            Sum(F("stock_levels__on_hand") - F("stock_levels__reserved"), filter=_WEB), zero
        ),
    )


def stock_list(*, search: str = "", low_only: bool = False) -> QuerySet[Variant]:
    """Variants with their stock totals, by SKU; `sellable` is what the web can still sell
    (available at active stores and warehouses). Levels per location are prefetched."""
    variants = Variant.objects.select_related("product")
    search = search.strip()
    if search:
        variants = variants.filter(
            Q(sku__icontains=search) | Q(product__title__icontains=search) | Q(barcode=search)
        )
    variants = _with_totals(variants)
    if low_only:
        variants = variants.filter(
            low_stock_threshold__gt=0, sellable__lte=F("low_stock_threshold")
        )
    return variants.prefetch_related(
        Prefetch("stock_levels", queryset=StockLevel.objects.order_by("location_id"))
    ).order_by("sku")


@dataclass
class StockRow:
    variant: Variant
    cells: list[StockLevel | None]

    @property
    def is_low(self) -> bool:
        threshold = self.variant.low_stock_threshold
        return bool(threshold) and self.variant.sellable <= threshold


def stock_rows(*, variants, locations: list[Location]) -> list[StockRow]:
    """One row per variant with its level at each location (None where it has none)."""
    rows = []
    for variant in variants:
        by_location = {level.location_id: level for level in variant.stock_levels.all()}
        rows.append(StockRow(variant=variant, cells=[by_location.get(loc.pk) for loc in locations]))
    return rows


def variant_get_for_stock(*, variant_id: int) -> Variant:
    """One variant with its totals, for its stock page (Variant.DoesNotExist if none)."""
    return _with_totals(Variant.objects.select_related("product")).get(pk=variant_id)


def variant_stock_levels(*, variant_id: int) -> list[StockLevel]:
    """A variant's level at every location that has one, in web order."""
    return list(
        StockLevel.objects.filter(variant_id=variant_id)
        .select_related("location")
        .order_by("location__web_priority", "location__name")
    )


def variant_movements(*, variant_id: int) -> QuerySet[StockMovement]:
    """A variant's movement history, newest first."""
    return (
        StockMovement.objects.filter(variant_id=variant_id)
        .select_related("location", "actor", "source_type")
        .order_by("-created_at", "-id")
    )


def variant_reservations_active(*, variant_id: int) -> list[Reservation]:
    return list(
        Reservation.objects.filter(variant_id=variant_id, status=Reservation.Status.ACTIVE)
        .select_related("location")
        .order_by("created_at", "id")
    )


def backorder_list_pending() -> QuerySet[Backorder]:
    """The out-of-stock queue: lines waiting for stock or a decision, oldest first."""
    return (
        Backorder.objects.filter(status__in=Backorder.PENDING)
        .select_related("variant__product", "purchase_order")
        .order_by("created_at", "id")
    )


def backorder_list_for_variant(*, variant_id: int) -> list[Backorder]:
    return list(backorder_list_pending().filter(variant_id=variant_id))


def backorder_get_for_detail(*, backorder_id: int) -> Backorder:
    """A backorder with its timeline (newest first) and the other lines of its order."""
    backorder = (
        Backorder.objects.select_related(
            "variant__product",
            "substitute__product",
            "reservation__location",
            "purchase_order__vendor",
        )
        .prefetch_related(
            Prefetch(
                "events",
                queryset=BackorderEvent.objects.select_related("actor").order_by(
                    "-created_at", "-id"
                ),
            )
        )
        .get(pk=backorder_id)
    )
    backorder.siblings = list(
        Backorder.objects.filter(group=backorder.group)
        .exclude(pk=backorder.pk)
        .select_related("variant")
        .order_by("id")
    )
    return backorder


def purchase_orders_open_for_variant(*, variant_id: int) -> QuerySet[PurchaseOrder]:
    """Purchase orders not yet received that have the variant on them."""
    return (
        PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES, lines__variant_id=variant_id)
        .select_related("vendor")
        .distinct()
        .order_by("expected_at", "number")
    )
