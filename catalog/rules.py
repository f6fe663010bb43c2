"""The web-ready rule, in one place: what an item needs before it may be published.

An item is web-ready when it has at least one image, a description of real length, at least
one variant and a retail price above zero on every variant, and a category. The same rule is
written twice here, side by side: `web_ready_check` for one product (the detail page, the
publish service) and `web_ready_annotate` + `web_ready_q` for lists, in SQL. A test checks
that both agree.
"""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.models import Product, ProductImage, Variant

MIN_DESCRIPTION_CHARS = 80
# Statuses whose products the data-entry queue cares about; discontinued and archived items
# are on their way out.
QUEUE_STATUSES = (Product.Status.DRAFT, Product.Status.ACTIVE)


@dataclass(frozen=True)
class Problem:
    key: str  # image, description, variant, price, category
    label: str  # short, for lists
    message: str  # the whole sentence, for the item's page and refusals

    def __str__(self) -> str:
        return self.message


def _count(model, **filters) -> Coalesce:
    rows = (
        model.objects.filter(product=OuterRef("pk"), **filters)
        .order_by()
        .values("product")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def web_ready_annotate(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Add image_count, variant_count and unpriced_variant_count, one subquery each."""
    return queryset.annotate(
        image_count=_count(ProductImage),
        variant_count=_count(Variant),
        unpriced_variant_count=_count(Variant, retail_price__lte=0),
    )


def web_ready_q() -> Q:
    """The rule as a filter over web_ready_annotate()'s columns."""
    return (
        Q(image_count__gt=0)
        & Q(description_chars__gte=MIN_DESCRIPTION_CHARS)
        & Q(variant_count__gt=0)
        & Q(unpriced_variant_count=0)
        & Q(category__isnull=False)
    )


def queue_q() -> Q:
    """In the data-entry queue: a draft or active item not web-ready, or not yet verified."""
    return Q(status__in=QUEUE_STATUSES) & (~web_ready_q() | Q(verified_at__isnull=True))


def _prefetched(product: Product, name: str):
    return getattr(product, "_prefetched_objects_cache", {}).get(name)


def web_ready_counts(product_id: int) -> tuple[int, int, int]:
    """(images, variants, variants without a price) of one product, in two small queries."""
    variants = Variant.objects.filter(product_id=product_id).aggregate(
        n=Count("pk"), unpriced=Count("pk", filter=Q(retail_price__lte=0))
    )
    images = ProductImage.objects.filter(product_id=product_id).count()
    return images, variants["n"], variants["unpriced"]


def _variant_facts(product: Product) -> tuple[int, int, list[str]]:
    """(variants, unpriced variants, their SKUs when known without a query)."""
    variants = _prefetched(product, "variants")
    if variants is not None:
        unpriced = [v.sku for v in variants if v.retail_price is None or v.retail_price <= 0]
        return len(variants), len(unpriced), unpriced
    if hasattr(product, "variant_count"):
        return product.variant_count, product.unpriced_variant_count, []
    if product.pk is None:
        return 0, 0, []
    unpriced = list(
        product.variants.filter(retail_price__lte=0).order_by("sku").values_list("sku", flat=True)
    )
    return product.variants.count(), len(unpriced), unpriced


def _image_count(product: Product) -> int:
    images = _prefetched(product, "images")
    if images is not None:
        return len(images)
    if hasattr(product, "image_count"):
        return product.image_count
    return product.images.count() if product.pk is not None else 0


def web_ready_check(
    product: Product, *, counts: tuple[int, int, int] | None = None
) -> list[Problem]:
    """Each missing piece, named. Uses `counts` (from web_ready_counts), annotations or
    prefetched rows when there are, and queries otherwise."""
    problems: list[Problem] = []
    images = counts[0] if counts is not None else _image_count(product)
    if images == 0:
        problems.append(Problem("image", "image", "No image: add at least one picture."))
    chars = product.description_chars
    if chars == 0:
        problems.append(
            Problem(
                "description",
                "description",
                f"No description: write at least {MIN_DESCRIPTION_CHARS} characters.",
            )
        )
    elif chars < MIN_DESCRIPTION_CHARS:
        problems.append(
            Problem(
                "description",
                "description",
                f"Description too short: {chars} characters of text, "
                f"at least {MIN_DESCRIPTION_CHARS} needed.",
            )
        )
    if counts is not None:
        variants, unpriced, skus = counts[1], counts[2], []
    else:
        variants, unpriced, skus = _variant_facts(product)
    if variants == 0:
        problems.append(Problem("variant", "SKU", "No SKU: add at least one variant."))
    elif unpriced:
        which = f": {', '.join(skus)}" if skus else ""
        noun = "SKU has" if unpriced == 1 else "SKUs have"
        problems.append(
            Problem("price", "price", f"{unpriced} {noun} no retail price above zero{which}.")
        )
    if product.category_id is None:
        problems.append(Problem("category", "category", "No category: choose one."))
    return problems


def web_ready_problems(product: Product) -> list[str]:
    """What keeps `product` from being web-ready, one sentence each; empty when it is ready."""
    return [p.message for p in web_ready_check(product)]


def is_web_ready(product: Product) -> bool:
    return not web_ready_check(product)
