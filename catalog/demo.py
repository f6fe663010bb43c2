"""The demo store's catalog: about 120 products and 300 variants, built through the services.

`seed_catalog()` is idempotent: a product whose first SKU exists is left alone, so running it
again changes nothing and keeps what people edited. Most products are active, web-ready,
verified and published, each with a small generated picture; some drafts miss a picture, a
description, a price or a category (they wait in the data-entry queue); a couple are
discontinued; the POS has reported most SKUs, with a few deliberate differences for the
accuracy page.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from catalog.models import AccuracySnapshot, Category, Product, Variant, Vendor
from catalog.services import (
    VariantPosData,
    accuracy_snapshot_take,
    product_create,
    product_image_add,
    product_publish,
    product_transition,
    product_unpublish,
    product_verify,
    variant_create,
    variant_pos_update_many,
)
from catalog.validators import gtin_complete

SEED = 20261126
IMAGE_SIZE = 400

CATEGORIES = [
    ("Apparel", "apparel", None),
    ("T-shirts", "t-shirts", "apparel"),
    ("Hoodies", "hoodies", "apparel"),
    ("Socks", "socks", "apparel"),
    ("Homewares", "homewares", None),
    ("Mugs", "mugs", "homewares"),
    ("Candles", "candles", "homewares"),
    ("Cushions and throws", "cushions-throws", "homewares"),
    ("Gifts", "gifts", None),
    ("Cards and paper", "cards-paper", "gifts"),
    ("Bags", "bags", "gifts"),
]

VENDORS = [
    ("Northwind Textiles", "orders@northwind-textiles.example", False),
    ("Harbour Ceramics", "hello@harbourceramics.example", False),
    ("Little Paper Co.", "trade@littlepaper.example", False),
    ("Evergreen Candle Works", "wholesale@evergreencandles.example", False),
    ("Direct Goods Supply", "dropship@directgoods.example", True),
]


@dataclass(frozen=True)
class Kind:
    code: str
    noun: str
    category: str
    vendor: str
    price: Decimal
    axis: str  # the option that varies between variants
    values: tuple[str, ...]
    words: tuple[str, ...]
    blurb: str


KINDS = [
    Kind(
        "TS",
        "T-shirt",
        "t-shirts",
        "Northwind Textiles",
        Decimal("24.00"),
        "Size",
        ("S", "M", "L", "XL"),
        ("Harbour", "Sunrise", "Pine", "Salt Marsh", "Lighthouse", "Tidal", "Fern", "Ember"),
        "Soft, heavyweight organic cotton with a relaxed fit and a screen-printed design that "
        "holds its colour wash after wash.",
    ),
    Kind(
        "HD",
        "Hoodie",
        "hoodies",
        "Northwind Textiles",
        Decimal("58.00"),
        "Size",
        ("S", "M", "L", "XL"),
        ("Fog", "Driftwood", "Harbour", "Storm", "Moss"),
        "A brushed-back fleece hoodie with a lined hood, ribbed cuffs and a kangaroo pocket, "
        "made for cold mornings by the water.",
    ),
    Kind(
        "SK",
        "Socks",
        "socks",
        "Northwind Textiles",
        Decimal("12.00"),
        "Size",
        ("S/M", "L/XL"),
        ("Striped", "Wool Hiking", "Anchor", "Polka", "Ribbed"),
        "Cushioned socks knitted from a merino blend, with a reinforced heel and toe and a "
        "seamless finish that does not rub.",
    ),
    Kind(
        "MG",
        "Mug",
        "mugs",
        "Harbour Ceramics",
        Decimal("18.00"),
        "Colour",
        ("Sea Green", "Sand", "Ink"),
        ("Speckled", "Stoneware", "Morning", "Tall", "Espresso", "Glazed"),
        "Thrown and glazed by hand in small batches, so no two are quite alike. Dishwasher "
        "and microwave safe, holds 350 ml.",
    ),
    Kind(
        "CN",
        "Candle",
        "candles",
        "Evergreen Candle Works",
        Decimal("26.00"),
        "Size",
        ("Small", "Large"),
        ("Cedar", "Sea Salt", "Fig Leaf", "Amber", "Linen", "Wild Mint", "Bonfire"),
        "Poured by hand from a soy and coconut wax blend with a cotton wick, for a clean, "
        "even burn of around forty hours.",
    ),
    Kind(
        "CU",
        "Cushion",
        "cushions-throws",
        "Direct Goods Supply",
        Decimal("42.00"),
        "Colour",
        ("Oat", "Rust", "Slate"),
        ("Linen", "Woven", "Boucle", "Striped"),
        "A generous feather-filled cushion in a removable, washable cover with a hidden zip. "
        "Ships directly from our supplier.",
    ),
    Kind(
        "TH",
        "Throw",
        "cushions-throws",
        "Direct Goods Supply",
        Decimal("85.00"),
        "Colour",
        ("Oat", "Charcoal"),
        ("Waffle", "Herringbone", "Lambswool"),
        "A large throw woven from soft recycled wool, big enough for a sofa or the end of a "
        "bed. Ships directly from our supplier.",
    ),
    Kind(
        "CD",
        "Card",
        "cards-paper",
        "Little Paper Co.",
        Decimal("5.50"),
        "Pack",
        ("Single",),
        ("Birthday", "Thank You", "Congratulations", "New Home", "Wedding", "Sympathy"),
        "Printed on heavy recycled card with a kraft envelope and left blank inside for your "
        "own message. Made by a small letterpress studio.",
    ),
    Kind(
        "NB",
        "Notebook",
        "cards-paper",
        "Little Paper Co.",
        Decimal("14.00"),
        "Ruling",
        ("Lined", "Dotted", "Plain"),
        ("Pocket", "A5", "Field", "Sketch"),
        "A lay-flat notebook with 192 pages of smooth, fountain-pen-friendly paper, a cloth "
        "spine and a ribbon marker.",
    ),
    Kind(
        "TB",
        "Tote Bag",
        "bags",
        "Northwind Textiles",
        Decimal("22.00"),
        "Colour",
        ("Natural", "Black"),
        ("Market", "Harbour", "Canvas", "Library"),
        "A heavy canvas tote with long, reinforced handles and an inside pocket, roomy enough "
        "for the weekly shop.",
    ),
]

# Names for the products beyond the kinds' own words.
EXTRA_WORDS = [
    "Coastline",
    "Everyday",
    "Weekend",
    "Meadow",
    "Harvest",
    "Nordic",
    "Quay",
    "Orchard",
    "Dune",
    "Slate",
    "Heather",
    "Beacon",
    "Rowan",
    "Cove",
    "Willow",
    "Aster",
    "Brook",
    "Juniper",
    "Ridge",
    "Clover",
]

PALETTE = [
    (46, 94, 170),
    (34, 139, 110),
    (196, 92, 58),
    (121, 85, 160),
    (204, 153, 51),
    (70, 70, 90),
    (178, 64, 98),
    (60, 130, 160),
]


@dataclass
class DemoProduct:
    number: int
    kind: Kind
    title: str
    skus: list[tuple[str, str, Decimal]]  # (sku, option value, price)
    state: str  # ready, unverified, draft, discontinued, archived
    missing: set[str] = field(default_factory=set)  # image, description, price, category


def _plan() -> list[DemoProduct]:
    rng = random.Random(SEED)
    products: list[DemoProduct] = []
    number = 0
    for kind in KINDS:
        for word in kind.words:
            for variant_set in (0, 1):
                if number >= 120:
                    break
                number += 1
                title = f"{word} {kind.noun}" if variant_set == 0 else f"{word} {kind.noun} II"
                # Most come in every option; some in fewer.
                count = len(kind.values) if rng.random() < 0.7 else rng.randint(1, len(kind.values))
                values = kind.values[:count]
                step = Decimal("2.00") if kind.axis == "Size" else Decimal("0.00")
                skus = [
                    (
                        f"{kind.code}-{number:04d}" + (f"-{i + 1}" if len(values) > 1 else ""),
                        value,
                        kind.price + step * (i if value in ("XL", "Large") else 0),
                    )
                    for i, value in enumerate(values)
                ]
                products.append(DemoProduct(number, kind, title, skus, "ready"))
    # Fill to 120 with more of each kind, so the count does not depend on the lists.
    extra_words = iter(EXTRA_WORDS)
    while len(products) < 120:
        kind = KINDS[len(products) % len(KINDS)]
        number = len(products) + 1
        skus = [
            (f"{kind.code}-{number:04d}-{i + 1}", value, kind.price)
            for i, value in enumerate(kind.values)
        ]
        title = f"{next(extra_words, 'Classic')} {kind.noun}"
        if any(p.title == title for p in products):
            title = f"{title} {number}"
        products.append(DemoProduct(number, kind, title, skus, "ready"))
    # Not everything is ready: drafts missing pieces, some unverified, a few on their way out.
    gaps = [
        {"image"},
        {"description"},
        {"price"},
        {"category"},
        {"image", "description"},
        {"image", "price"},
        {"description", "category"},
        {"image"},
        {"description"},
        {"price"},
        {"image", "description", "price", "category"},
        {"image"},
    ]
    picks = rng.sample(range(len(products)), len(gaps) + 6)
    for index, gap in zip(picks, gaps, strict=False):
        products[index].state = "draft"
        products[index].missing = gap
    rest = picks[len(gaps) :]
    products[rest[0]].state = "unverified"
    products[rest[1]].state = "unverified"
    products[rest[2]].state = "discontinued"
    products[rest[3]].state = "sold_out"  # discontinued, and its last unit sold
    products[rest[4]].state = "archived"
    products[rest[5]].state = "web_draft"  # web-ready, not yet active
    return products


def _picture(product: DemoProduct) -> SimpleUploadedFile:
    colour = PALETTE[product.number % len(PALETTE)]
    picture = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), colour)
    draw = ImageDraw.Draw(picture)
    initials = "".join(w[0] for w in product.title.replace("II", "").split()[:2]).upper()
    font = ImageFont.load_default(size=IMAGE_SIZE // 3)
    draw.text((IMAGE_SIZE / 2, IMAGE_SIZE / 2), initials, fill="white", font=font, anchor="mm")
    draw.rectangle((16, 16, IMAGE_SIZE - 17, IMAGE_SIZE - 17), outline=(255, 255, 255), width=4)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    name = f"{product.skus[0][0].lower()}.png"
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def _description(product: DemoProduct) -> str:
    kind = product.kind
    if "description" in product.missing:
        return "" if product.number % 2 else f"{product.title}. Coming soon."
    options = ", ".join(v for _, v, _ in product.skus)
    return (
        f"<p>{kind.blurb}</p>"
        f"<p>The <strong>{product.title}</strong> comes in {options}. "
        f"Designed and stocked by our team; questions are welcome in store or by e-mail.</p>"
    )


def _barcode(product: DemoProduct, index: int) -> str:
    # 20-29 is the GS1 prefix range for a store's own numbers.
    return gtin_complete(f"20{product.number:06d}{index:04d}")


def _seed_taxonomy() -> tuple[dict[str, Category], dict[str, Vendor]]:
    categories: dict[str, Category] = {}
    for name, slug, parent in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": categories.get(parent)}
        )
    vendors: dict[str, Vendor] = {}
    for name, email, drop_ships in VENDORS:
        vendors[name], _ = Vendor.objects.get_or_create(
            name=name, defaults={"email": email, "drop_ships": drop_ships}
        )
    return categories, vendors


def _build(product: DemoProduct, categories, vendors, actor) -> Product:
    kind = product.kind
    created = product_create(
        title=product.title,
        description=_description(product),
        category_id=None if "category" in product.missing else categories[kind.category].pk,
        vendor_id=vendors[kind.vendor].pk,
        actor=actor,
        source="demo",
        notify=False,
    )
    for index, (sku, value, price) in enumerate(product.skus):
        variant_create(
            product_id=created.pk,
            sku=sku,
            barcode=_barcode(product, index),
            option_values={kind.axis: value},
            retail_price=Decimal("0.00") if "price" in product.missing else price,
            compare_at_price=(price + Decimal("10.00")) if product.number % 9 == 0 else None,
            unit_cost=(price * Decimal("0.45")).quantize(Decimal("0.01")),
            weight_grams=150 + 50 * index,
            low_stock_threshold=3,
            actor=actor,
        )
    if "image" not in product.missing:
        product_image_add(
            product_id=created.pk,
            upload=_picture(product),
            alt_text=f"{product.title}, product photo",
            actor=actor,
        )
    if product.state in ("draft", "web_draft"):
        return created
    product_transition(product_id=created.pk, to_status=Product.Status.ACTIVE, actor=actor)
    if product.state == "unverified":
        return created
    product_verify(product_id=created.pk, actor=actor)
    product_publish(product_id=created.pk, actor=actor)
    if product.state in ("discontinued", "sold_out"):
        product_transition(
            product_id=created.pk, to_status=Product.Status.DISCONTINUED, actor=actor
        )
        if product.state == "sold_out":
            product_unpublish(product_id=created.pk, actor=actor, reason="sold out")
    elif product.state == "archived":
        product_transition(product_id=created.pk, to_status=Product.Status.ARCHIVED, actor=actor)
    return created


def _pos_report(plan: list[DemoProduct]) -> list[VariantPosData]:
    """What the POS says about the SKUs on sale: mostly the same, a few deliberate slips."""
    items = []
    for product in plan:
        if product.state in ("draft", "web_draft"):
            continue
        for index, (sku, _value, price) in enumerate(product.skus):
            name, pos_price, archived = product.title, price, False
            if product.state == "archived":
                archived = True
            if product.number % 23 == 0 and index == 0:
                pos_price = price - Decimal("1.00")  # a price changed at the till only
            if product.number % 37 == 0 and index == 0:
                name = f"{product.title} (old)"
            if product.number == 50:
                archived = True  # archived in the POS, still active on the web
            items.append(VariantPosData(sku=sku, name=name, price=pos_price, archived=archived))
    return items


def seed_catalog() -> None:
    """Load the demo catalog; whatever already exists is left as it is."""
    User = get_user_model()
    actor = User.objects.filter(username="content").first()
    plan = _plan()
    existing = set(
        Variant.objects.filter(sku__in=[p.skus[0][0] for p in plan]).values_list("sku", flat=True)
    )
    todo = [p for p in plan if p.skus[0][0] not in existing]
    with transaction.atomic():
        categories, vendors = _seed_taxonomy()
    for product in todo:
        with transaction.atomic():
            _build(product, categories, vendors, actor)
    if todo:
        with transaction.atomic():
            variant_pos_update_many(items=_pos_report(todo), apply_price=False, actor=None)
    if (
        not AccuracySnapshot.objects.exists()
        and Variant.objects.filter(pos_synced_at__isnull=False).exists()
    ):
        accuracy_snapshot_take(actor=None)
