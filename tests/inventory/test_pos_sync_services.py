"""POS stock sync: preview, apply, and the bad input of RELIABILITY R26."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Product, ProductEvent, Variant
from inventory.models import Backorder, PosSyncRun, Reservation, StockLevel, StockMovement
from inventory.services import pos_sync
from inventory.services.pos_sync import (
    pos_sync_apply,
    pos_sync_apply_start,
    pos_sync_differences,
    pos_sync_preview,
    pos_sync_run_create,
)
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import (
    HARBOUR,
    MAIN,
    WAREHOUSE,
    levels_bulk,
    plain_csv,
    square_csv,
    square_rows,
    upload,
    variants_bulk,
)
from tests.inventory.support import ledger_problems

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture
media_tmp = conftest_pos.media_tmp  # a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_tmp", "pos_processes")]

Status = PosSyncRun.Status


def preview(
    text: str, *, format: str = "square", actor=None, name: str = "items.csv"
) -> PosSyncRun:
    run = pos_sync_run_create(upload=upload(text, name), format=format, actor=actor, enqueue=False)
    return pos_sync_preview(run_id=run.pk)


def apply(run: PosSyncRun, actor=None) -> PosSyncRun:
    pos_sync_apply_start(run_id=run.pk, actor=actor, enqueue=False)
    return pos_sync_apply(run_id=run.pk, actor_id=actor.pk if actor else None)


def snapshot() -> tuple:
    """Everything a sync could change, to compare before and after."""
    return (
        sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand", "reserved")),
        StockMovement.objects.count(),
        sorted(
            Variant.objects.values_list(
                "sku", "retail_price", "pos_price", "pos_name", "pos_archived", "pos_synced_at"
            )
        ),
        Product.objects.count(),
        ProductEvent.objects.count(),
    )


@pytest.fixture
def catalog(pos_locations):
    variants = variants_bulk(3, prefix="TEE")
    levels_bulk(variants, pos_locations[MAIN], 5)
    return variants


# Preview ----------------------------------------------------------------------------------


def test_preview_lists_quantity_price_new_and_missing_without_changing_anything(catalog):
    before = snapshot()
    rows = [
        {"SKU": "TEE-000000", "Item Name": "Tee", "Price": "10.00", "quantities": {MAIN: 5}},
        {"SKU": "TEE-000001", "Item Name": "Tee", "Price": "$12.50", "quantities": {MAIN: 2}},
        {
            "SKU": "NEW-1",
            "Item Name": "Mug",
            "Variation Name": "Large",
            "Price": "9.00",
            "quantities": {MAIN: 4, HARBOUR: 1},
        },
    ]
    run = preview(square_csv(rows, [MAIN, HARBOUR]))

    assert run.status == Status.PREVIEWED
    counts = run.preview["counts"]
    assert counts == {
        "rows": 3,
        "skus": 3,
        "new_skus": 1,
        "quantity_changes": 3,
        "price_changes": 1,
        "missing_from_pos": 1,
        "backorders": 0,
    }
    assert run.preview["new_skus"] == [
        {"row": 4, "sku": "NEW-1", "name": "Mug - Large", "price": "9.00"}
    ]
    assert {
        (c["sku"], c["location"], c["from"], c["to"]) for c in run.preview["quantity_changes"]
    } == {
        ("TEE-000001", MAIN, 5, 2),
        ("NEW-1", MAIN, 0, 4),
        ("NEW-1", HARBOUR, 0, 1),
    }
    assert run.preview["price_changes"][0]["from"] == "10.00"
    assert run.preview["price_changes"][0]["to"] == "12.50"
    assert run.preview["missing_from_pos"] == [{"sku": "TEE-000002", "title": "Item 2"}]
    assert run.rows_done == run.rows_total == 3
    assert snapshot() == before


def test_run_create_enqueues_the_preview_after_commit(
    pos_locations, monkeypatch, django_capture_on_commit_callbacks
):
    from inventory import tasks_pos

    sent = []
    monkeypatch.setattr(tasks_pos.pos_sync_preview_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        run = pos_sync_run_create(
            upload=upload(plain_csv([["A-1", MAIN, 1, ""]])), format="plain", actor=None
        )
    assert sent == [run.pk]
    assert run.status == Status.UPLOADED


def test_preview_twice_changes_nothing_the_second_time(catalog):
    run = preview(plain_csv([["TEE-000000", MAIN, 9, ""]]), format="plain")
    again = pos_sync_preview(run_id=run.pk)
    assert again.status == Status.PREVIEWED
    assert again.preview == run.preview


# Apply ------------------------------------------------------------------------------------


def test_apply_sets_counts_prices_and_pos_fields_and_drafts_new_skus(catalog, role_user):
    actor = role_user("Inventory")
    Product.objects.filter(variants__sku="TEE-000001").update(description="<p>Web copy</p>")
    rows = [
        {
            "SKU": "TEE-000001",
            "Item Name": "Tee at the till",
            "Price": "12.50",
            "Archived": "Y",
            "quantities": {MAIN: 2, HARBOUR: 6},
        },
        {
            "SKU": "NEW-1",
            "Item Name": "Mug",
            "Price": "9.00",
            "GTIN": "4006381333931",
            "quantities": {MAIN: 4},
        },
    ]
    run = apply(preview(square_csv(rows, [MAIN, HARBOUR])), actor=actor)

    assert run.status == Status.APPLIED
    assert run.applied_at is not None
    tee = Variant.objects.select_related("product").get(sku="TEE-000001")
    assert tee.retail_price == Decimal("12.50")
    assert tee.pos_price == Decimal("12.50")
    assert tee.pos_name == "Tee at the till"
    assert tee.pos_archived is True
    assert tee.pos_synced_at is not None
    # Web-owned fields are the web's.
    assert tee.product.description == "<p>Web copy</p>"
    levels = dict(StockLevel.objects.filter(variant=tee).values_list("location__name", "on_hand"))
    assert levels == {MAIN: 2, HARBOUR: 6}
    moves = StockMovement.objects.filter(variant=tee, kind=StockMovement.Kind.POS_SYNC)
    assert sorted(moves.values_list("on_hand_delta", flat=True)) == [-3, 6]
    assert {m.source for m in moves} == {run}
    assert {m.actor for m in moves} == {actor}

    new = Variant.objects.select_related("product").get(sku="NEW-1")
    assert new.product.status == Product.Status.DRAFT
    assert new.product.created_from == "pos_sync"
    assert new.barcode == "4006381333931"
    assert new.retail_price == Decimal("9.00")
    assert StockLevel.objects.get(variant=new, location__name=MAIN).on_hand == 4
    assert run.preview["applied"]["drafts_created"] == ["NEW-1"]
    assert ledger_problems() == []


def test_apply_twice_applies_once(catalog):
    run = preview(plain_csv([["TEE-000000", MAIN, 9, ""]]), format="plain")
    apply(run)
    movements = StockMovement.objects.count()
    again = pos_sync_apply(run_id=run.pk)
    assert again.status == Status.APPLIED
    assert StockMovement.objects.count() == movements
    with pytest.raises(ValidationError):
        pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)


def test_apply_below_reserved_backorders_the_newest_reservations(catalog, pos_locations):
    from inventory.services import stock_reserve

    tee = catalog[0]
    main = pos_locations[MAIN]
    # Only the store has stock, so both orders are reserved there.
    first = stock_reserve(lines=[(tee.pk, 2)], actor=None, reference="#1001")
    second = stock_reserve(lines=[(tee.pk, 2)], actor=None, reference="#1002")
    assert first.reservations and second.reservations

    run = apply(preview(plain_csv([["TEE-000000", MAIN, 3, ""]]), format="plain"))

    assert run.status == Status.APPLIED
    assert run.preview["counts"]["backorders"] == 1
    assert run.preview["applied"]["backorders_created"] == 1
    level = StockLevel.objects.get(variant=tee, location=main)
    assert (level.on_hand, level.reserved) == (3, 2)
    backorder = Backorder.objects.get()
    assert backorder.reference == "#1002"
    assert Reservation.objects.get(reference="#1002").status == Reservation.Status.BACKORDERED
    assert ledger_problems() == []


def test_a_failure_while_applying_changes_nothing_and_the_file_can_be_applied_again(
    catalog, monkeypatch
):
    rows = [
        ["TEE-000000", MAIN, 1, "11.00"],
        ["NEW-9", MAIN, 4, "3.00"],
        ["TEE-000001", MAIN, 8, ""],
    ]
    run = preview(plain_csv(rows), format="plain")
    before = snapshot()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pos_sync, "_movements_write", broken)
    pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)
    with pytest.raises(RuntimeError):
        pos_sync_apply(run_id=run.pk)

    assert snapshot() == before
    run.refresh_from_db()
    assert run.status == Status.PREVIEWED
    assert "nothing was changed" in run.error_message
    monkeypatch.undo()
    assert apply(run).status == Status.APPLIED


def test_differences_export_lists_every_change(catalog):
    rows = [["TEE-000000", MAIN, 1, "11.00"], ["NEW-9", HARBOUR, 4, "3.00"]]
    run = preview(plain_csv(rows), format="plain")
    kinds = sorted(row[0] for row in pos_sync_differences(run_id=run.pk))
    assert kinds == [
        "missing from POS",
        "missing from POS",
        "new SKU",
        "price",
        "quantity",
        "quantity",
    ]


# R26: bad input --------------------------------------------------------------------------

BAD_ROW = 37  # as a spreadsheet shows it: the header is row 1


def _thousand_rows(fmt: str, variants, bad: str) -> tuple[str, str]:
    """A 1,000-row file of the given format with row 37 spoiled in one way; returns the text
    and the column the error must name."""
    index = BAD_ROW - 2  # data rows start at row 2
    if fmt == "square":
        rows = square_rows(variants, [MAIN, HARBOUR], quantity=3)
        column = {
            "sku": "SKU",
            "negative": f"Current Quantity {HARBOUR}",
            "non_numeric": f"Current Quantity {HARBOUR}",
            "duplicate": "SKU",
            "price": "Price",
        }[bad]
        row = rows[index]
        if bad == "sku":
            row["SKU"] = '=HYPERLINK("x")'
        elif bad == "negative":
            row["quantities"][HARBOUR] = -2
        elif bad == "non_numeric":
            row["quantities"][HARBOUR] = "lots"
        elif bad == "duplicate":
            row["SKU"] = rows[3]["SKU"]
        elif bad == "price":
            row["Price"] = "12,5O"
        return square_csv(rows, [MAIN, HARBOUR]), column
    records = [[v.sku, MAIN, 3, str(v.retail_price)] for v in variants]
    row = records[index]
    column = {
        "sku": "sku",
        "negative": "quantity",
        "non_numeric": "quantity",
        "duplicate": "sku",
        "price": "price",
        "location": "location",
    }[bad]
    if bad == "sku":
        row[0] = ""
    elif bad == "negative":
        row[2] = "-1"
    elif bad == "non_numeric":
        row[2] = "3 boxes"
    elif bad == "duplicate":
        row[0] = records[3][0]
    elif bad == "price":
        row[3] = "-4.00"
    elif bad == "location":
        row[1] = "Moon Base"
    return plain_csv(records), column


@pytest.fixture
def thousand(pos_locations):
    variants = variants_bulk(1000, prefix="R26")
    levels_bulk(variants[:100], pos_locations[MAIN], 1)
    return variants


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("square", "sku"),
        ("square", "negative"),
        ("square", "non_numeric"),
        ("square", "duplicate"),
        ("square", "price"),
        ("plain", "sku"),
        ("plain", "negative"),
        ("plain", "non_numeric"),
        ("plain", "duplicate"),
        ("plain", "price"),
        ("plain", "location"),
    ],
)
def test_a_bad_row_37_refuses_the_whole_file_naming_row_and_column(thousand, fmt, bad, capsys):
    text, column = _thousand_rows(fmt, thousand, bad)
    before = snapshot()

    run = preview(text, format=fmt)

    assert run.status == Status.REJECTED
    assert (run.error_row, run.error_column) == (BAD_ROW, column)
    assert run.error_message
    assert run.preview == {}
    with pytest.raises(ValidationError):
        pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)
    # The command line refuses it the same way, --apply or not.
    path = run.file.path
    with pytest.raises(CommandError, match=f"Row {BAD_ROW}, column “{column}”"):
        call_command("pos_sync", path, "--format", fmt, "--apply")
    assert snapshot() == before


def test_unknown_square_location_column_is_refused_naming_the_column(pos_locations):
    text = square_csv(
        [{"SKU": "A-1", "Item Name": "A", "Price": "1.00", "quantities": {"Airport Kiosk": 3}}],
        ["Airport Kiosk"],
    )
    run = preview(text)
    assert run.status == Status.REJECTED
    assert (run.error_row, run.error_column) == (1, "Current Quantity Airport Kiosk")
    assert "Airport Kiosk" in run.error_message


@pytest.mark.parametrize("missing", ["SKU", "Price", "Item Name"])
def test_a_missing_square_column_is_refused(pos_locations, missing):
    text = square_csv(
        [{"SKU": "A-1", "Item Name": "A", "Price": "1.00", "quantities": {MAIN: 3}}], [MAIN]
    )
    header, *rest = text.split("\r\n")
    cells = header.split(",")
    cells[cells.index(missing)] = "Something else"
    run = preview("\r\n".join([",".join(cells), *rest]))
    assert run.status == Status.REJECTED
    assert (run.error_row, run.error_column) == (1, missing)


def test_a_missing_plain_column_is_refused(pos_locations):
    run = preview("sku,quantity\nA-1,3\n", format="plain")
    assert (run.status, run.error_row, run.error_column) == (Status.REJECTED, 1, "location")


def test_a_file_not_in_utf8_is_refused_naming_row_and_column(catalog):
    text = plain_csv(
        [["TEE-000000", MAIN, 1, ""], ["TEE-000001", MAIN, 2, ""]],
        header=("sku", "location", "quantity", "price", "name"),
    )
    data = text.encode() + "TEE-000002,Main Street Store,3,,Café\n".encode("cp1252")
    run = preview(data, format="plain")
    assert run.status == Status.REJECTED
    assert (run.error_row, run.error_column) == (4, "name")
    assert "UTF-8" in run.error_message


def test_utf8_with_a_byte_order_mark_reads(catalog):
    run = preview(square_csv(square_rows(catalog[:1], [MAIN]), [MAIN], bom=True))
    assert run.status == Status.PREVIEWED


# Refused before parsing --------------------------------------------------------------------


@pytest.fixture
def parsing_forbidden(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(pos_sync, "pos_file_parse", never)
    monkeypatch.setattr(pos_sync, "pos_file_decode", never)


@pytest.mark.usefixtures("parsing_forbidden")
@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        (
            "big.csv",
            b"sku,location,quantity\n" + b"A-1,Main Street Store,1\n" * 900_000,
            "limit is 20 MB",
        ),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "not a text file"),
        ("items.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "spreadsheet workbook"),
        ("items.csv", "sku,location\n".encode("utf-16"), "UTF-16"),
        ("empty.csv", b"", "empty"),
        ("items.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "Upload a .csv file"),
    ],
)
def test_oversize_and_non_text_uploads_are_refused_before_parsing(pos_locations, name, data, says):
    with pytest.raises(ValidationError) as refused:
        pos_sync_run_create(upload=upload(data, name), format="plain", actor=None, enqueue=False)
    assert says in " ".join(refused.value.messages)
    assert not PosSyncRun.objects.exists()


# The command -------------------------------------------------------------------------------


def test_command_prints_the_preview_and_changes_nothing_without_apply(catalog, tmp_path, capsys):
    path = tmp_path / "square.csv"
    path.write_text(square_csv(square_rows(catalog[:2], [MAIN], quantity=8), [MAIN]), "utf-8")
    before = snapshot()
    call_command("pos_sync", str(path))
    out = capsys.readouterr().out
    assert "quantity changes: 2" in out
    assert "TEE-000000 @ Main Street Store: 5 -> 8" in out
    assert "Run again with --apply" in out
    assert snapshot() == before


def test_command_with_apply_applies_synchronously(catalog, tmp_path, capsys, role_user):
    role_user("Inventory", username="ines")
    path = tmp_path / "plain.csv"
    path.write_text(plain_csv([["TEE-000000", WAREHOUSE, 12, "10.00"]]), "utf-8")
    call_command("pos_sync", str(path), "--apply", "--user", "ines")
    assert "Applied" in capsys.readouterr().out
    level = StockLevel.objects.get(variant=catalog[0], location__name=WAREHOUSE)
    assert level.on_hand == 12
    run = PosSyncRun.objects.get()
    assert (run.status, run.format, run.created_by.username) == (Status.APPLIED, "plain", "ines")


# Tasks ------------------------------------------------------------------------------------


def test_tasks_call_the_services_and_are_safe_twice(catalog):
    from inventory.tasks_pos import pos_sync_apply_task, pos_sync_preview_task

    run = pos_sync_run_create(
        upload=upload(plain_csv([["TEE-000000", MAIN, 2, ""]])),
        format="plain",
        actor=None,
        enqueue=False,
    )
    pos_sync_preview_task(run.pk)
    pos_sync_preview_task(run.pk)
    pos_sync_apply_start(run_id=run.pk, actor=None, enqueue=False)
    pos_sync_apply_task(run.pk, None)
    pos_sync_apply_task(run.pk, None)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.POS_SYNC).count() == 1
    assert StockLevel.objects.get(variant=catalog[0], location__name=MAIN).on_hand == 2


def test_resume_sends_runs_the_broker_lost(catalog, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from inventory import tasks_pos

    sent = []
    monkeypatch.setattr(tasks_pos.pos_sync_preview_task, "delay", lambda *a: sent.append(a))
    run = pos_sync_run_create(
        upload=upload(plain_csv([["TEE-000000", MAIN, 2, ""]])),
        format="plain",
        actor=None,
        enqueue=False,
    )
    assert pos_sync.pos_sync_runs_resume() == 0
    assert pos_sync.pos_sync_runs_resume(now=timezone.now() + timedelta(minutes=3)) == 1
    assert sent == [(run.pk,)]


def test_an_apply_the_broker_never_got_goes_back_to_the_preview(
    catalog, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from inventory import tasks_pos

    def down(*args):
        raise OperationalError("Redis is down")

    run = preview(plain_csv([["TEE-000000", MAIN, 2, ""]]), format="plain")
    monkeypatch.setattr(tasks_pos.pos_sync_apply_task, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        pos_sync_apply_start(run_id=run.pk, actor=None)
    run.refresh_from_db()
    assert run.status == Status.PREVIEWED
    assert "could not be reached" in run.error_message


def test_a_previewed_file_waits_in_the_pos_sync_queue_until_applied(catalog):
    from opsdesk.processes.models import WorkItem

    older = preview(plain_csv([["TEE-000000", MAIN, 2, ""]]), format="plain")
    run = preview(plain_csv([["TEE-000000", MAIN, 3, ""]]), format="plain")
    items = WorkItem.objects.filter(process__key="pos_sync").order_by("pk")
    assert [item.source for item in items] == [older, run]
    assert all(item.status == WorkItem.Status.OPEN for item in items)
    assert "1 quantity and 0 price changes" in items[1].title
    assert items[1].link == f"/inventory/pos/{run.pk}/"

    apply(run)

    assert set(items.values_list("status", flat=True)) == {WorkItem.Status.DONE}
