"""Reads for the catalog pages. Each list is a fixed number of queries, whatever its length."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import (
    DateTimeField,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from catalog.models import AccuracySnapshot, Product, ProductEvent, ProductImage, Variant
from catalog.rules import queue_q, web_ready_annotate, web_ready_check, web_ready_q
from opsdesk.core.roles import Role, user_has_role
from opsdesk.processes.models import Process, WorkItem

PRODUCTS_PER_PAGE = 25
QUEUE_PER_PAGE = 50
TIMELINE_LENGTH = 50
ACCURACY_ROWS_SHOWN = 500
WEB_READY_PROCESS = "web_ready_data"


# Products ------------------------------------------------------------------------------


def _first_image_id() -> Subquery:
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("pk"))
        .order_by("position", "pk")
        .values("pk")[:1]
    )


def _price(agg) -> Subquery:
    return Subquery(
        Variant.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(v=agg("retail_price"))
        .values("v")
    )


def product_list(
    *,
    status: str = "",
    category_id: int | None = None,
    web_ready: bool | None = None,
    search: str = "",
) -> QuerySet[Product]:
    """Products with their web-ready facts, first image and price range, filtered, by title."""
    qs = web_ready_annotate(Product.objects.select_related("category", "vendor")).annotate(
        first_image_id=_first_image_id(),
        min_price=_price(Min),
        max_price=_price(Max),
    )
    if status:
        qs = qs.filter(status=status)
    if category_id is not None:
        qs = qs.filter(category_id=category_id)
    if web_ready is True:
        qs = qs.filter(web_ready_q())
    elif web_ready is False:
        qs = qs.filter(~web_ready_q())
    search = (search or "").strip()
    if search:
        matching_variant = Variant.objects.filter(product=OuterRef("pk")).filter(
            Q(sku__icontains=search) | Q(barcode=search)
        )
        qs = qs.filter(Q(title__icontains=search) | Q(Exists(matching_variant)))
    return qs.order_by("title", "pk")


def _with_problems(page: Page) -> Page:
    rows = list(page.object_list)
    for product in rows:
        product.problems = web_ready_check(product)
    page.object_list = rows
    return page


def product_page(
    *, page_number: int | str | None = 1, per_page: int = PRODUCTS_PER_PAGE, **filters
) -> Page:
    """One page of product_list(**filters), each product with `.problems`: two queries."""
    page = Paginator(product_list(**filters), per_page).get_page(page_number)
    return _with_problems(page)


def product_get_for_detail(*, product_id: int) -> Product:
    """A product with its variants, images, people, open queue item and `.problems`."""
    product = (
        Product.objects.select_related("category", "vendor", "claimed_by", "verified_by")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("sku")),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk")),
        )
        .annotate(**_open_item_annotations())
        .get(pk=product_id)
    )
    product.problems = web_ready_check(product)
    return product


def product_timeline(*, product: Product, limit: int = TIMELINE_LENGTH) -> list[ProductEvent]:
    return list(product.events.select_related("actor")[:limit])


# The data-entry queue ------------------------------------------------------------------


def _open_items() -> QuerySet[WorkItem]:
    return WorkItem.objects.filter(
        process__key=WEB_READY_PROCESS,
        source_type__app_label="catalog",
        source_type__model="product",
        source_id=OuterRef("pk"),
        status=WorkItem.Status.OPEN,
    ).order_by("pk")


def _open_item_annotations() -> dict:
    return {
        "open_item_id": Subquery(_open_items().values("pk")[:1], output_field=IntegerField()),
        "open_item_due_at": Subquery(
            _open_items().values("due_at")[:1], output_field=DateTimeField()
        ),
    }


def web_ready_queue(*, page_number: int | str | None = 1, per_page: int = QUEUE_PER_PAGE) -> Page:
    """The data-entry queue, oldest first: drafts and active items that are not web-ready, or
    web-ready but not verified; with their problems, claimer and queue item. Two queries."""
    qs = (
        web_ready_annotate(Product.objects.select_related("category", "claimed_by"))
        .annotate(first_image_id=_first_image_id(), **_open_item_annotations())
        .filter(queue_q())
        .order_by("created_at", "pk")
    )
    page = _with_problems(Paginator(qs, per_page).get_page(page_number))
    now = timezone.now()
    for product in page.object_list:
        product.is_late = product.open_item_due_at is not None and product.open_item_due_at < now
    return page


def web_ready_process() -> Process:
    return Process.objects.select_related("primary", "backup").get(key=WEB_READY_PROCESS)


def active_not_web_ready() -> QuerySet[Product]:
    """Active products that break the web-ready rule (the launch readiness check)."""
    return (
        web_ready_annotate(Product.objects.filter(status=Product.Status.ACTIVE))
        .filter(~web_ready_q())
        .order_by("created_at", "pk")
    )


# Accuracy: the POS's last sync against the web data -------------------------------------


@dataclass(frozen=True)
class Difference:
    kind: str  # name, price, archived, stock
    label: str
    pos: str
    web: str


@dataclass
class AccuracyRow:
    variant: Variant
    on_hand: int | None  # None: no stock recorded for this SKU
    differences: list[Difference] = field(default_factory=list)


@dataclass
class AccuracyReport:
    rows: list[AccuracyRow]
    checked: int
    accurate: int
    by_kind: dict[str, int]

    @property
    def different(self) -> int:
        return self.checked - self.accurate

    @property
    def score(self) -> Decimal | None:
        if not self.checked:
            return None
        return (Decimal(self.accurate * 100) / Decimal(self.checked)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    @property
    def kind_counts(self) -> list[tuple[str, int]]:
        """(label, SKUs) for each kind of difference found."""
        return [(DIFFERENCE_LABELS[k], n) for k, n in self.by_kind.items() if n]

    @property
    def differing_rows(self) -> list[AccuracyRow]:
        return [row for row in self.rows if row.differences]


DIFFERENCE_LABELS = {
    "name": "Name",
    "price": "Price",
    "archived": "Archived vs active",
    "stock": "Stock vs web",
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _norm(text: str) -> str:
    return _NON_ALNUM.sub(" ", (text or "").casefold()).strip()


def _name_matches(variant: Variant) -> bool:
    """The POS name is the product title, or the title followed by the variant's options."""
    pos = _norm(variant.pos_name)
    title = _norm(variant.product.title)
    with_options = _norm(f"{variant.product.title} {' '.join(map(str, _options(variant)))}")
    return pos in (title, with_options)


def _options(variant: Variant) -> list:
    return list(variant.option_values.values()) if isinstance(variant.option_values, dict) else []


def accuracy_differences(variant: Variant, on_hand: int | None) -> list[Difference]:
    """What differs between the POS's last report of a SKU and the web data."""
    product = variant.product
    out: list[Difference] = []
    if variant.pos_name and not _name_matches(variant):
        out.append(Difference("name", DIFFERENCE_LABELS["name"], variant.pos_name, product.title))
    if variant.pos_price is not None and variant.pos_price != variant.retail_price:
        out.append(
            Difference(
                "price",
                DIFFERENCE_LABELS["price"],
                str(variant.pos_price),
                str(variant.retail_price),
            )
        )
    on_web = product.status == Product.Status.ACTIVE or product.published
    if variant.pos_archived and on_web:
        web = "published" if product.published else product.get_status_display().lower()
        out.append(Difference("archived", DIFFERENCE_LABELS["archived"], "archived", web))
    elif not variant.pos_archived and product.status == Product.Status.ARCHIVED:
        out.append(Difference("archived", DIFFERENCE_LABELS["archived"], "active", "archived"))
    if on_hand is not None:
        if product.published and on_hand <= 0:
            out.append(
                Difference("stock", DIFFERENCE_LABELS["stock"], f"{on_hand} on hand", "published")
            )
        elif on_hand > 0 and product.status in (Product.Status.DRAFT, Product.Status.ARCHIVED):
            out.append(
                Difference(
                    "stock",
                    DIFFERENCE_LABELS["stock"],
                    f"{on_hand} on hand",
                    product.get_status_display().lower(),
                )
            )
    return out


def accuracy_report() -> AccuracyReport:
    """Every SKU the POS has reported, with its differences from the web: one query."""
    StockLevel = apps.get_model("inventory", "StockLevel")
    on_hand = (
        StockLevel.objects.filter(variant=OuterRef("pk"))
        .order_by()
        .values("variant")
        .annotate(total=Sum("on_hand"))
        .values("total")
    )
    variants = (
        Variant.objects.filter(pos_synced_at__isnull=False)
        .select_related("product")
        .annotate(on_hand_total=Subquery(on_hand, output_field=IntegerField()))
        .order_by("sku")
    )
    rows: list[AccuracyRow] = []
    by_kind = dict.fromkeys(DIFFERENCE_LABELS, 0)
    accurate = 0
    for variant in variants:
        differences = accuracy_differences(variant, variant.on_hand_total)
        rows.append(AccuracyRow(variant, variant.on_hand_total, differences))
        if differences:
            for kind in {d.kind for d in differences}:
                by_kind[kind] += 1
        else:
            accurate += 1
    return AccuracyReport(rows=rows, checked=len(rows), accurate=accurate, by_kind=by_kind)


def accuracy_snapshots(*, limit: int = 30) -> list[AccuracySnapshot]:
    """The latest snapshots, newest first, with who signed them off."""
    return list(AccuracySnapshot.objects.select_related("signed_off_by", "taken_by")[:limit])


CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_PAD = 24


def accuracy_trend(snapshots: list[AccuracySnapshot]) -> dict:
    """Coordinates for an inline SVG line of the scores, oldest on the left (0 to 100 %)."""
    ordered = sorted(snapshots, key=lambda s: (s.taken_at, s.pk))
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / (len(ordered) - 1) if len(ordered) > 1 else 0
    points = []
    for i, snap in enumerate(ordered):
        x = CHART_PAD + (i * step if len(ordered) > 1 else inner_w / 2)
        y = CHART_PAD + inner_h * (1 - float(snap.score) / 100)
        points.append({"x": round(x, 1), "y": round(y, 1), "snapshot": snap})
    gridlines = [
        {"y": round(CHART_PAD + inner_h * (1 - pct / 100), 1), "label": pct} for pct in (0, 50, 100)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "gridlines": gridlines,
    }


def accuracy_can_sign_off(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """The web-ready data process's primary, or an Owner or Admin, signs off snapshots."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user_has_role(user, Role.OWNER, Role.ADMIN):
        return True
    primary_id = (
        Process.objects.filter(key=WEB_READY_PROCESS).values_list("primary_id", flat=True).first()
    )
    return primary_id is not None and primary_id == user.pk
