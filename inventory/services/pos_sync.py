"""POS stock sync: files from the POS previewed then applied whole, and the JSON push endpoint.

The POS owns each item's quantity per location, its price and its POS name and archived flag;
the web owns the description and the images, which a sync never touches. A file goes
uploaded → read (a Celery task checks every row and builds the preview) → applied (a Celery
task, in ONE transaction) or rejected whole with the row and column of its first problem.

Applying sets each counted level to the POS's count. Most levels are written in bulk (one
movement per changed level, as every other stock change); a level whose new count is below
what is reserved there goes through `stock_set_from_pos`, which turns the newest
reservations beyond the count into backorders. New SKUs become draft products in the
data-entry queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError

from catalog.models import Product, Variant
from inventory import signals
from inventory.models import Location, PosPushKey, PosSyncRun, StockLevel, StockMovement
from inventory.pos_formats import (
    MAX_UPLOAD_BYTES,
    PLAIN,
    SNIFF_BYTES,
    SQUARE,
    PosFile,
    PosFileError,
    PosItem,
    parse_price,
    parse_quantity,
    parse_sku,
    pos_file_decode,
    pos_file_parse,
    pos_upload_check,
)
from inventory.services.levels import check_sold_out, ensure_levels, retry_on_conflict
from opsdesk.core.bulk import insert_many, update_many

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files import File

logger = logging.getLogger(__name__)

BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, RedisError, OSError)
SHOWN = 500  # entries of each list kept in a preview; the CSV export has them all
SMALL = 2000  # up to this many SKUs, read variants and levels by SKU rather than whole
BATCH = 5000
PUSH_KEY_HOURS = 24
POS_SYNC_PROCESS = "pos_sync"
PUSH_MAX_ITEMS = 10_000
Status = PosSyncRun.Status


# Reading the database --------------------------------------------------------------------


@dataclass(slots=True)
class VariantRow:
    id: int
    sku: str
    product_id: int
    title: str
    product_status: str
    retail_price: Decimal
    pos_price: Decimal | None
    pos_name: str
    pos_archived: bool


# A level as read: (id, on hand, reserved).
LevelRow = tuple[int, int, int]


@dataclass(slots=True)
class QuantityChange:
    item: PosItem
    variant_id: int
    location: str
    location_id: int
    on_hand: int
    reserved: int
    target: int
    level_id: int | None


@dataclass
class PosDiff:
    new_items: list[PosItem]
    price_changes: list[tuple[PosItem, VariantRow]]
    quantity_changes: list[QuantityChange]
    missing: list[VariantRow]


_VARIANT_FIELDS = (
    "id",
    "sku",
    "product_id",
    "product__title",
    "product__status",
    "retail_price",
    "pos_price",
    "pos_name",
    "pos_archived",
)


def _variants(skus: list[str] | None, *, lock: bool = False) -> dict[str, VariantRow]:
    rows = Variant.objects.values_list(*_VARIANT_FIELDS).order_by()
    if lock:
        # One statement, in id order (a small file has fewer SKUs than a batch).
        rows = rows.select_for_update(of=("self",)).order_by("pk")
    if skus is not None:
        found: dict[str, VariantRow] = {}
        for start in range(0, len(skus), BATCH):
            for row in rows.filter(sku__in=skus[start : start + BATCH]):
                found[row[1]] = VariantRow(*row)
        return found
    return {row[1]: VariantRow(*row) for row in rows.iterator(chunk_size=BATCH)}


def _locations() -> dict[str, int]:
    """The locations a POS can count: stores and warehouses (not drop-ship vendors)."""
    return dict(
        Location.objects.filter(active=True)
        .exclude(kind=Location.Kind.VENDOR)
        .values_list("name", "id")
    )


def _levels(
    location_ids: Iterable[int], variant_ids: list[int] | None, *, lock: bool
) -> dict[tuple[int, int], LevelRow]:
    qs = StockLevel.objects.filter(location_id__in=list(location_ids))
    if lock:
        # In id order, as every other writer of levels locks them.
        qs = qs.select_for_update()
    qs = qs.order_by("pk").values_list("id", "variant_id", "location_id", "on_hand", "reserved")
    levels: dict[tuple[int, int], LevelRow] = {}
    batches = (
        [None]
        if variant_ids is None
        else [variant_ids[i : i + BATCH] for i in range(0, len(variant_ids), BATCH)]
    )
    for batch in batches:
        query = qs if batch is None else qs.filter(variant_id__in=batch)
        for level_id, variant_id, location_id, on_hand, reserved in query:
            levels[(variant_id, location_id)] = (level_id, on_hand, reserved)
    return levels


def _diff(
    pos_file: PosFile,
    *,
    locations: dict[str, int],
    variants: dict[str, VariantRow],
    levels: dict[tuple[int, int], LevelRow],
    missing_from: Iterable[VariantRow] = (),
) -> PosDiff:
    new_items: list[PosItem] = []
    price_changes: list[tuple[PosItem, VariantRow]] = []
    quantity_changes: list[QuantityChange] = []
    no_level = (None, 0, 0)
    for item in pos_file.items:
        variant = variants.get(item.sku)
        if variant is None:
            new_items.append(item)
            variant_id = 0
        else:
            variant_id = variant.id
            if item.price is not None and item.price != variant.retail_price:
                price_changes.append((item, variant))
        for location, target in item.quantities.items():
            location_id = locations[location]
            level_id, on_hand, reserved = levels.get((variant_id, location_id), no_level)
            if target != on_hand:
                quantity_changes.append(
                    QuantityChange(
                        item, variant_id, location, location_id, on_hand, reserved, target, level_id
                    )
                )
    in_file = {item.sku for item in pos_file.items}
    missing = [
        v
        for v in missing_from
        if v.sku not in in_file and v.product_status != Product.Status.ARCHIVED
    ]
    missing.sort(key=lambda v: v.sku)
    return PosDiff(new_items, price_changes, quantity_changes, missing)


def _preview(pos_file: PosFile, diff: PosDiff) -> dict[str, Any]:
    def money(value: Decimal | None) -> str:
        return "" if value is None else str(value)

    return {
        "format": pos_file.format,
        "locations": pos_file.location_names,
        "shown": SHOWN,
        "counts": {
            "rows": pos_file.rows_total,
            "skus": len(pos_file.items),
            "new_skus": len(diff.new_items),
            "quantity_changes": len(diff.quantity_changes),
            "price_changes": len(diff.price_changes),
            "missing_from_pos": len(diff.missing),
            "backorders": sum(1 for c in diff.quantity_changes if c.target < c.reserved),
        },
        "new_skus": [
            {"row": i.row, "sku": i.sku, "name": i.name, "price": money(i.price)}
            for i in diff.new_items[:SHOWN]
        ],
        "quantity_changes": [
            {
                "row": c.item.quantity_rows.get(c.location, c.item.row),
                "sku": c.item.sku,
                "location": c.location,
                "from": c.on_hand,
                "to": c.target,
                "reserved": c.reserved,
            }
            for c in diff.quantity_changes[:SHOWN]
        ],
        "price_changes": [
            {
                "row": i.row,
                "sku": i.sku,
                "name": i.name or v.title,
                "from": money(v.retail_price),
                "to": money(i.price),
            }
            for i, v in diff.price_changes[:SHOWN]
        ],
        "missing_from_pos": [{"sku": v.sku, "title": v.title} for v in diff.missing[:SHOWN]],
    }


# Progress ---------------------------------------------------------------------------------


def _stage_key(run_id: int) -> str:
    return f"inventory:pos-sync:{run_id}:stage"


def _stage(run_id: int, text: str) -> None:
    # Inside the apply transaction the run's row cannot show progress to others; the cache can.
    try:
        cache.set(_stage_key(run_id), text, timeout=3600)
    except Exception:  # progress is a nicety: never fail a sync for it
        logger.debug("could not record the stage of POS sync %s", run_id, exc_info=True)


def pos_sync_stage(*, run_id: int) -> str:
    """What an apply in progress is doing now ("Setting stock levels"), for its page."""
    try:
        return cache.get(_stage_key(run_id)) or ""
    except Exception:
        return ""


def _progress_writer(run_id: int) -> Callable[[int, int], None]:
    def write(done: int, total: int) -> None:
        PosSyncRun.objects.filter(pk=run_id).update(rows_done=done, rows_total=total)

    return write


# Files ------------------------------------------------------------------------------------


def _enqueue(task_name: str, *args: Any) -> bool:
    from inventory import tasks_pos

    task = getattr(tasks_pos, task_name)
    try:
        task.delay(*args)
    except BROKER_ERRORS as exc:
        logger.warning("broker unreachable, %s(%s) not sent: %s", task_name, args, exc)
        return False
    return True


def _apply_enqueue(run_id: int, actor_id: int | None) -> None:
    if not _enqueue("pos_sync_apply_task", run_id, actor_id):
        # Nothing started: back to the preview, to be applied again.
        PosSyncRun.objects.filter(pk=run_id, status=Status.APPLYING).update(
            status=Status.PREVIEWED,
            error_message="The task queue could not be reached; nothing was changed. "
            "Apply again in a minute.",
        )


def pos_sync_run_create(
    *, upload: File, format: str, actor: User | None, enqueue: bool = True
) -> PosSyncRun:
    """Take a POS file: refuse it at once if too big or not text, store it, start reading it."""
    if format not in (SQUARE, PLAIN):
        raise ValidationError({"format": "Choose the file's format."})
    name = Path(upload.name or "pos.csv").name
    size = upload.size or 0
    try:
        upload.seek(0)
        head = upload.read(SNIFF_BYTES) if size <= MAX_UPLOAD_BYTES else b""
        upload.seek(0)
        pos_upload_check(name=name, size=size, head=head)
    except PosFileError as exc:
        raise ValidationError({"file": exc.message}) from None
    with transaction.atomic():
        run = PosSyncRun.objects.create(format=format, created_by=actor)
        run.file.save(name, upload, save=True)
        if enqueue:
            transaction.on_commit(lambda: _enqueue("pos_sync_preview_task", run.pk))
    return run


def _read(run: PosSyncRun, locations: dict[str, int]) -> PosFile:
    with run.file.open("rb") as handle:
        data = handle.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PosFileError("The file is over the size limit.")
    text = pos_file_decode(data)
    return pos_file_parse(
        text, format=run.format, locations=locations, progress=_progress_writer(run.pk)
    )


def _reject(run_id: int, error: PosFileError) -> PosSyncRun:
    PosSyncRun.objects.filter(pk=run_id).update(
        status=Status.REJECTED,
        error_row=error.row,
        error_column=error.column[:120],
        error_message=error.message,
    )
    return PosSyncRun.objects.get(pk=run_id)


def pos_sync_preview(*, run_id: int) -> PosSyncRun:
    """Read a whole uploaded file, check every row, and store what applying it would change.

    Safe to run twice (a task delivered again): a run already previewed is left as it is.
    """
    claimed = PosSyncRun.objects.filter(
        pk=run_id, status__in=[Status.UPLOADED, Status.PREVIEWING]
    ).update(status=Status.PREVIEWING, rows_done=0)
    if not claimed:
        return PosSyncRun.objects.get(pk=run_id)
    try:
        return _preview_build(run_id)
    except Exception as exc:
        # Not the file's fault, but the run must not hang "reading" for ever.
        _reject(
            run_id,
            PosFileError(
                f"The file could not be read ({exc.__class__.__name__}). Upload it again."
            ),
        )
        raise


def _preview_build(run_id: int) -> PosSyncRun:
    run = PosSyncRun.objects.get(pk=run_id)
    locations = _locations()
    try:
        pos_file = _read(run, locations)
    except PosFileError as exc:
        return _reject(run_id, exc)
    variants = _variants(None)
    levels = _levels([locations[name] for name in pos_file.location_names], None, lock=False)
    diff = _diff(
        pos_file,
        locations=locations,
        variants=variants,
        levels=levels,
        missing_from=variants.values(),
    )
    with transaction.atomic():
        done = PosSyncRun.objects.filter(pk=run_id, status=Status.PREVIEWING).update(
            status=Status.PREVIEWED,
            preview=_preview(pos_file, diff),
            rows_total=pos_file.rows_total,
            rows_done=pos_file.rows_total,
            error_row=None,
            error_column="",
            error_message="",
        )
        run = PosSyncRun.objects.get(pk=run_id)
        if done:
            _work_item_open(run, diff)
    return run


def _work_item_open(run: PosSyncRun, diff: PosDiff) -> None:
    """A previewed file waits in the POS sync queue until someone applies it."""
    from django.urls import reverse

    from opsdesk.processes.services import work_item_open

    work_item_open(
        process=POS_SYNC_PROCESS,
        title=(
            f"Apply POS file #{run.pk}: {len(diff.quantity_changes)} quantity and "
            f"{len(diff.price_changes)} price changes, {len(diff.new_items)} new SKUs"
        ),
        link=reverse("inventory:pos_sync_detail", kwargs={"run_id": run.pk}),
        source=run,
        # Whoever uploaded it is looking at its preview; the queue keeps it if they leave.
        notify_on_duty=False,
    )


def _work_items_close(run: PosSyncRun, actor: User | None) -> None:
    """Applying a file takes it, and any file previewed before it, out of the queue."""
    from opsdesk.processes.models import WorkItem
    from opsdesk.processes.services import work_item_close

    older = PosSyncRun.objects.filter(pk__lte=run.pk).values_list("pk", flat=True)
    items = WorkItem.objects.filter(
        process__key=POS_SYNC_PROCESS,
        source_type=ContentType.objects.get_for_model(PosSyncRun),
        source_id__in=older,
        status=WorkItem.Status.OPEN,
    ).values_list("pk", flat=True)
    for item_id in items:
        work_item_close(item_id=item_id, actor=actor)


def pos_sync_differences(*, run_id: int) -> Iterator[tuple]:
    """Every difference between a previewed file and opsdesk now, as rows for a CSV export."""
    run = PosSyncRun.objects.get(pk=run_id)
    locations = _locations()
    pos_file = _read_quietly(run, locations)
    variants = _variants(None)
    levels = _levels([locations[n] for n in pos_file.location_names], None, lock=False)
    diff = _diff(
        pos_file,
        locations=locations,
        variants=variants,
        levels=levels,
        missing_from=variants.values(),
    )
    for item in diff.new_items:
        yield ("new SKU", item.row, item.sku, item.name, "", "", item.price or "")
    for change in diff.quantity_changes:
        row = change.item.quantity_rows.get(change.location, change.item.row)
        yield (
            "quantity",
            row,
            change.item.sku,
            change.item.name,
            change.location,
            change.on_hand,
            change.target,
        )
    for item, variant in diff.price_changes:
        yield (
            "price",
            item.row,
            item.sku,
            item.name or variant.title,
            "",
            variant.retail_price,
            item.price,
        )
    for variant in diff.missing:
        yield ("missing from POS", "", variant.sku, variant.title, "", "", "")


DIFFERENCES_HEADER = ("change", "row", "sku", "name", "location", "opsdesk", "pos")


def _read_quietly(run: PosSyncRun, locations: dict[str, int]) -> PosFile:
    with run.file.open("rb") as handle:
        data = handle.read(MAX_UPLOAD_BYTES + 1)
    return pos_file_parse(pos_file_decode(data), format=run.format, locations=locations)


@transaction.atomic
def pos_sync_apply_start(*, run_id: int, actor: User | None, enqueue: bool = True) -> PosSyncRun:
    """Start applying a previewed file (the work runs in a Celery task)."""
    claimed = PosSyncRun.objects.filter(pk=run_id, status=Status.PREVIEWED).update(
        status=Status.APPLYING, rows_done=0, error_message=""
    )
    run = PosSyncRun.objects.get(pk=run_id)
    if not claimed:
        raise ValidationError(
            f"This file is {run.get_status_display().lower()}; only a previewed file is applied."
        )
    actor_id = actor.pk if actor is not None else None
    if enqueue:
        transaction.on_commit(lambda: _apply_enqueue(run_id, actor_id))
    return run


def pos_sync_apply(*, run_id: int, actor_id: int | None = None) -> PosSyncRun:
    """Apply a file whose apply was started: everything in one transaction, or nothing.

    The file is read and checked again first (outside the transaction, with progress). Safe
    to run twice: the run's row is locked while applying and a run no longer "applying" is
    left alone, so a second delivery of the task changes nothing.
    """
    run = PosSyncRun.objects.get(pk=run_id)
    if run.status != Status.APPLYING:
        return run
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    locations = _locations()
    _stage(run_id, "Checking the file again")
    try:
        pos_file = _read(run, locations)
        return _apply_run(run_id=run_id, pos_file=pos_file, actor=actor, locations=locations)
    except PosFileError as exc:
        return _reject(run_id, exc)
    except Exception as exc:
        # Rolled back: nothing changed. Back to the preview, so it can be applied again.
        PosSyncRun.objects.filter(pk=run_id, status=Status.APPLYING).update(
            status=Status.PREVIEWED,
            error_message=f"Applying stopped ({exc.__class__.__name__}); nothing was changed. "
            "Apply again.",
        )
        raise
    finally:
        _stage(run_id, "")


@retry_on_conflict
@transaction.atomic
def _apply_run(
    *, run_id: int, pos_file: PosFile, actor: User | None, locations: dict[str, int]
) -> PosSyncRun:
    run = PosSyncRun.objects.select_for_update().get(pk=run_id)
    if run.status != Status.APPLYING:
        return run
    summary = _apply(pos_file, run=run, actor=actor, locations=locations)
    run.status = Status.APPLIED
    run.applied_at = timezone.now()
    run.rows_done = run.rows_total = pos_file.rows_total
    run.preview = {**run.preview, "applied": summary}
    run.save(update_fields=["status", "applied_at", "rows_done", "rows_total", "preview"])
    _work_items_close(run, actor)
    return run


# Applying ---------------------------------------------------------------------------------


def _movements_write(
    movements: list[tuple[int, int, int]], *, reason: str, source: PosSyncRun, actor, at
) -> None:
    """Insert POS-sync movements, (variant id, location id, on-hand delta) each, and send
    stock_synced_from_pos for each as the stock services do. With nobody listening (the
    usual case) the rows are copied in without a model instance each."""
    same = {
        "kind": StockMovement.Kind.POS_SYNC.value,
        "reserved_delta": 0,
        "reason": reason,
        "actor_id": actor.pk if actor is not None else None,
        "source_type_id": ContentType.objects.get_for_model(PosSyncRun).pk,
        "source_id": source.pk,
        "created_at": at,
    }
    fields = ["variant_id", "location_id", "on_hand_delta"]
    if not signals.stock_synced_from_pos.has_listeners(StockMovement):
        insert_many(StockMovement, fields, movements, same=same)
        return
    created = StockMovement.objects.bulk_create(
        [StockMovement(**dict(zip(fields, row, strict=True)), **same) for row in movements],
        batch_size=BATCH,
    )
    for movement in created:
        signals.stock_synced_from_pos.send(
            sender=StockMovement, movement=movement, source=source, actor=actor
        )


def _draft_from_pos(item: PosItem, actor: User | None, *, notify: bool) -> VariantRow:
    from catalog.services import product_create_draft

    barcode = item.barcode
    if barcode and Variant.objects.filter(barcode=barcode).exists():
        barcode = ""  # another item's barcode: data entry sorts it out
    try:
        variant = product_create_draft(
            sku=item.sku,
            title=item.name or item.sku,
            price=item.price,
            barcode=barcode,
            source="pos_sync",
            actor=actor,
            notify=notify,
        )
    except ValidationError as exc:
        raise PosFileError(
            f"The new item {item.sku} could not be created: {' '.join(exc.messages)}",
            row=item.row,
            column="SKU",
        ) from None
    return VariantRow(
        id=variant.pk,
        sku=variant.sku,
        product_id=variant.product_id,
        title=variant.product.title,
        product_status=variant.product.status,
        retail_price=variant.retail_price,
        pos_price=variant.pos_price,
        pos_name=variant.pos_name,
        pos_archived=variant.pos_archived,
    )


def _variants_pos_write(
    pos_file: PosFile, variants: dict[str, VariantRow], *, actor: User | None, now
) -> int:
    """Write what the POS owns on each variant (catalog's service: POS name, price, archived
    flag, sync time, and the POS price as the retail price) from the rows already read under
    lock. Returns how many prices changed. Description and images are the web's."""
    from catalog.services import VariantPosData, VariantPosRow, variant_pos_update_many

    changes = sum(
        1
        for item in pos_file.items
        if item.price is not None and item.price != variants[item.sku].retail_price
    )
    variant_pos_update_many(
        items=[
            VariantPosData(sku=i.sku, name=i.name, price=i.price, archived=i.archived)
            for i in pos_file.items
        ],
        synced_at=now,
        actor=actor,
        locked={
            sku: VariantPosRow(v.id, v.product_id, v.retail_price, v.pos_name, v.pos_archived)
            for sku, v in variants.items()
        },
    )
    return changes


def _apply(
    pos_file: PosFile,
    *,
    run: PosSyncRun,
    actor: User | None,
    locations: dict[str, int],
) -> dict[str, Any]:
    """Write a checked file; the caller holds the transaction (and the run's row lock)."""
    from inventory.services.stock import stock_set_from_pos

    now = timezone.now()
    skus = [item.sku for item in pos_file.items]
    small = len(skus) <= SMALL
    variants = _variants(skus if small else None, lock=True)

    _stage(run.pk, "Creating new items")
    drafts = [item for item in pos_file.items if item.sku not in variants]
    for number, item in enumerate(drafts):
        # Staff on duty hear of the first few; the queue shows them all.
        variants[item.sku] = _draft_from_pos(item, actor, notify=number < 5)

    _stage(run.pk, "Updating prices and names")
    price_changes = _variants_pos_write(pos_file, variants, actor=actor, now=now)

    _stage(run.pk, "Setting stock levels")
    location_ids = [locations[name] for name in pos_file.location_names]
    variant_ids = sorted({variants[sku].id for sku in skus}) if small else None
    levels = _levels(location_ids, variant_ids, lock=True)
    missing = sorted(
        {
            (variants[item.sku].id, locations[name])
            for item in pos_file.items
            for name, target in item.quantities.items()
            if target and (variants[item.sku].id, locations[name]) not in levels
        }
    )
    if missing:
        # Created at zero, then locked too: their ids come after every level locked above
        # (and in variant order), so the locks are still taken in id order.
        ensure_levels(missing)
        levels.update(_levels(location_ids, sorted({v for v, _ in missing}), lock=True))
    diff = _diff(pos_file, locations=locations, variants=variants, levels=levels)

    reason = f"POS sync #{run.pk} ({run.get_format_display()})"
    level_rows = []
    movements = []
    below_reserved = []
    for change in diff.quantity_changes:
        if change.target < change.reserved:
            below_reserved.append(change)
            continue
        level_rows.append((change.level_id, change.target))
        movements.append((change.variant_id, change.location_id, change.target - change.on_hand))
    update_many(StockLevel, ["on_hand"], level_rows, same={"updated_at": now})
    _stage(run.pk, "Recording stock movements")
    _movements_write(movements, reason=reason, source=run, actor=actor, at=now)
    check_sold_out({variant_id for variant_id, _, delta in movements if delta < 0})
    backorders = 0
    for change in below_reserved:
        # Sold over the counter: the newest reservations beyond the count become backorders.
        backorders += len(
            stock_set_from_pos(
                variant_id=change.variant_id,
                location_id=change.location_id,
                on_hand=change.target,
                actor=actor,
                source=run,
            )
        )
    return {
        "variants_updated": len(pos_file.items),
        "price_changes": price_changes,
        "drafts_created": [item.sku for item in drafts[:SHOWN]],
        "drafts_count": len(drafts),
        "quantity_changes": len(diff.quantity_changes),
        "backorders_created": backorders,
    }


# Resuming after a lost message ------------------------------------------------------------


def pos_sync_runs_resume(*, now=None) -> int:
    """Send again the files whose reading the broker never got (it was down at upload).

    A run being read or applied needs no sweep: its task is acknowledged only when done,
    so the broker hands it to another worker if its worker dies. An apply the broker never
    got goes back to the preview at once (see _apply_enqueue).
    """
    now = now or timezone.now()
    waiting = PosSyncRun.objects.filter(
        status=Status.UPLOADED, created_at__lt=now - timedelta(minutes=2)
    ).values_list("pk", flat=True)
    sent = 0
    for run_id in waiting[:100]:
        sent += _enqueue("pos_sync_preview_task", run_id)
    return sent


# The push endpoint ------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def location_push_token_rotate(*, location_id: int, actor: User | None) -> str:
    """Give a location a new push token, returned this once; only its hash is kept."""
    location = Location.objects.select_for_update().get(pk=location_id)
    # The id in front finds the location; the secret is compared in constant time.
    token = f"{location.pk}.{secrets.token_urlsafe(32)}"
    location.push_token_hash = _token_hash(token)
    location.save(update_fields=["push_token_hash"])
    logger.info("push token for %s replaced by %s", location, actor)
    return token


def location_push_authenticate(*, authorization: str) -> Location | None:
    """The location whose bearer token this is, or None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    location_part, _, secret = token.partition(".")
    digest = _token_hash(token)
    location = None
    if location_part.isdigit() and secret:
        location = (
            Location.objects.filter(pk=int(location_part), active=True)
            .exclude(kind=Location.Kind.VENDOR)
            .first()
        )
    stored = location.push_token_hash if location is not None else ""
    # Compared even when nothing is stored, so a wrong token costs the same either way.
    if not hmac.compare_digest(digest, stored or "0" * 64) or not stored:
        return None
    return location


def _push_items(body: bytes, location: Location) -> PosFile:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PosFileError("The body is not JSON.") from None
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise PosFileError('The body needs "items": a list of {"sku", "quantity", "price"}.')
    if len(items) > PUSH_MAX_ITEMS:
        raise PosFileError(f"At most {PUSH_MAX_ITEMS} items per push.")
    parsed: dict[str, PosItem] = {}
    for number, entry in enumerate(items, start=1):
        if not isinstance(entry, dict):
            raise PosFileError("Each item is an object.", row=number)
        sku = parse_sku(str(entry.get("sku") or "").strip(), number, "sku")
        if sku in parsed:
            raise PosFileError(
                f"The SKU {sku} is already item {parsed[sku].row}.", row=number, column="sku"
            )
        quantity = entry.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, (int, float, str)):
            raise PosFileError(
                "The quantity is missing or not a number.", row=number, column="quantity"
            )
        price = entry.get("price")
        if price is not None and (
            isinstance(price, bool) or not isinstance(price, (int, float, str))
        ):
            raise PosFileError("The price is not a number.", row=number, column="price")
        name = entry.get("name")
        parsed[sku] = PosItem(
            row=number,
            sku=sku,
            name=str(name).strip()[:255] if isinstance(name, str) else "",
            price=parse_price(str(price).strip(), number, "price") if price is not None else None,
            quantities={location.name: parse_quantity(str(quantity).strip(), number, "quantity")},
            quantity_rows={location.name: number},
        )
    return PosFile(
        format=PosSyncRun.Format.PUSH,
        items=list(parsed.values()),
        location_names=[location.name],
        rows_total=len(items),
    )


@retry_on_conflict
def pos_push_receive(*, location: Location, key: str, body: bytes) -> tuple[int, dict]:
    """Apply one push from a location's POS, once per Idempotency-Key (kept 24 hours).

    The key's row is inserted in the same transaction as the changes, so a second request
    with the key waits for the first to commit, then answers with the stored response (or
    422 when its body differs). A refused body is answered, and remembered, as well.
    """
    key = key.strip()
    if not key or len(key) > 200:
        return 400, {"error": "Send an Idempotency-Key header (up to 200 characters)."}
    digest = hashlib.sha256(body).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        PosPushKey.objects.filter(
            location=location, key=key, created_at__lt=now - timedelta(hours=PUSH_KEY_HOURS)
        ).delete()
        try:
            with transaction.atomic():
                record = PosPushKey.objects.create(
                    location=location,
                    key=key,
                    body_sha256=digest,
                    response_status=202,
                    response_body={},
                    created_at=now,
                )
        except IntegrityError:
            earlier = PosPushKey.objects.get(location=location, key=key)
            if earlier.body_sha256 != digest:
                return 422, {
                    "error": "This Idempotency-Key was already used with a different body."
                }
            return earlier.response_status, earlier.response_body
        status, answer = _push_apply(location=location, key=key, body=body)
        record.response_status = status
        record.response_body = answer
        record.save(update_fields=["response_status", "response_body"])
    return status, answer


def _push_apply(*, location: Location, key: str, body: bytes) -> tuple[int, dict]:
    locations = {location.name: location.pk}
    try:
        with transaction.atomic():
            pos_file = _push_items(body, location)
            run = PosSyncRun.objects.create(
                format=PosSyncRun.Format.PUSH,
                status=Status.APPLIED,
                rows_total=pos_file.rows_total,
                rows_done=pos_file.rows_total,
                preview={"location": location.name, "idempotency_key": key},
                applied_at=timezone.now(),
            )
            summary = _apply(pos_file, run=run, actor=None, locations=locations)
            run.preview = {**run.preview, "applied": summary}
            run.save(update_fields=["preview"])
    except PosFileError as exc:
        PosSyncRun.objects.create(
            format=PosSyncRun.Format.PUSH,
            status=Status.REJECTED,
            preview={"location": location.name, "idempotency_key": key},
            error_row=exc.row,
            error_column=exc.column[:120],
            error_message=exc.message,
        )
        return 400, {"error": exc.message, "item": exc.row, "field": exc.column}
    return 200, {
        "status": "applied",
        "sync": run.pk,
        "location": location.name,
        "items": len(pos_file.items),
        "quantity_changes": summary["quantity_changes"],
        "price_changes": summary["price_changes"],
        "new_skus": summary["drafts_created"],
        "backorders": summary["backorders_created"],
    }


def pos_push_keys_purge(*, now=None) -> int:
    """Forget Idempotency-Keys older than 24 hours."""
    now = now or timezone.now()
    deleted, _ = PosPushKey.objects.filter(
        created_at__lt=now - timedelta(hours=PUSH_KEY_HOURS)
    ).delete()
    return deleted
