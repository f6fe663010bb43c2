"""Receiving: purchase orders, scans, partial receipts, discrepancies and unknown items."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Product, Variant
from inventory.models import (
    Backorder,
    PurchaseOrder,
    ReceivingDiscrepancy,
    StockLevel,
    StockMovement,
)
from inventory.services.receiving import (
    LineInput,
    ReceivingDraft,
    purchase_order_create,
    purchase_order_send,
    receipt_post,
    receiving_count_adjust,
    receiving_scan,
    receiving_unknown_resolve,
)
from opsdesk.processes.models import WorkItem
from tests.catalog.factories import VariantFactory, VendorFactory
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import MAIN
from tests.inventory.support import ledger_problems

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pos_processes")]

Status = PurchaseOrder.Status
Kind = ReceivingDiscrepancy.Kind


@pytest.fixture
def clerk(role_user):
    return role_user("Inventory", username="rita")


@pytest.fixture
def items(db):
    return {
        "mug": VariantFactory(sku="MUG-BLUE", barcode="4006381333931"),
        "tee": VariantFactory(sku="TEE-M", barcode="5012345678900"),
    }


@pytest.fixture
def order(pos_locations, items, clerk):
    purchase_order = purchase_order_create(
        vendor_id=VendorFactory(name="Harbour Ceramics").pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 10, Decimal("4.20")), LineInput("TEE-M", 5)],
        expected_at=date(2030, 3, 2),
        actor=clerk,
    )
    return purchase_order_send(purchase_order_id=purchase_order.pk, actor=clerk)


def on_hand(variant, location_name=MAIN) -> int:
    level = StockLevel.objects.filter(variant=variant, location__name=location_name).first()
    return level.on_hand if level else 0


# Purchase orders --------------------------------------------------------------------------


def test_create_numbers_the_order_and_keeps_its_lines(pos_locations, items, clerk):
    purchase_order = purchase_order_create(
        vendor_id=VendorFactory().pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 3)],
        actor=clerk,
    )
    assert purchase_order.number == f"PO-{purchase_order.pk:05d}"
    assert purchase_order.status == Status.DRAFT
    assert purchase_order.created_by == clerk
    assert list(purchase_order.lines.values_list("variant__sku", "quantity_ordered")) == [
        ("MUG-BLUE", 3)
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "at least one line"),
        ([LineInput("NOPE", 1)], "No item with the SKU NOPE"),
        ([LineInput("MUG-BLUE", 1), LineInput("MUG-BLUE", 2)], "Each SKU once"),
        ([LineInput("MUG-BLUE", 0)], "Order at least one"),
    ],
)
def test_create_refuses_bad_lines(pos_locations, items, clerk, lines, message):
    with pytest.raises(ValidationError, match=message):
        purchase_order_create(
            vendor_id=VendorFactory().pk,
            location_id=pos_locations[MAIN].pk,
            lines=lines,
            actor=clerk,
        )
    assert not PurchaseOrder.objects.exists()


def test_send_puts_the_order_in_the_receiving_queue_due_on_the_expected_day(order):
    assert order.status == Status.SENT
    item = WorkItem.objects.get(
        source_type=ContentType.objects.get_for_model(PurchaseOrder), source_id=order.pk
    )
    assert item.process.key == "receiving"
    assert item.status == WorkItem.Status.OPEN
    assert order.number in item.title
    assert item.link == f"/inventory/purchase-orders/{order.pk}/"
    assert timezone.localtime(item.due_at).date() == date(2030, 3, 2)


def test_sending_twice_is_refused(order, clerk):
    with pytest.raises(ValidationError, match="cannot become sent"):
        purchase_order_send(purchase_order_id=order.pk, actor=clerk)


# Scans ------------------------------------------------------------------------------------


def test_scans_count_by_barcode_or_sku_and_flag_the_unknown(order, items):
    draft = ReceivingDraft()
    results = [
        receiving_scan(purchase_order_id=order.pk, code=code, draft=draft)
        for code in ["4006381333931", "4006381333931", "tee-m", " MUG-BLUE ", "999", ""]
    ]
    assert [r.outcome for r in results] == [
        "counted",
        "counted",
        "counted",
        "counted",
        "unknown",
        "empty",
    ]
    assert draft.counts == {items["mug"].pk: 3, items["tee"].pk: 1}
    assert draft.unknown == {"999": 1}
    assert "3 counted of 10 ordered" in results[3].message
    assert draft.log[0]["code"] == "999"
    assert not StockMovement.objects.exists()  # a scan changes nothing


def test_a_catalog_item_not_on_the_order_is_flagged_as_such(order):
    VariantFactory(sku="CANDLE-1")
    draft = ReceivingDraft()
    result = receiving_scan(purchase_order_id=order.pk, code="CANDLE-1", draft=draft)
    assert result.outcome == "not_on_order"
    assert "not on this order" in result.message
    assert draft.unknown == {"CANDLE-1": 1}


def test_draft_survives_the_session_round_trip(order, items):
    draft = ReceivingDraft()
    receiving_scan(purchase_order_id=order.pk, code="MUG-BLUE", draft=draft)
    again = ReceivingDraft.from_session(draft.to_session())
    assert (again.key, again.counts, again.unknown) == (draft.key, draft.counts, draft.unknown)


def test_adjust_corrects_a_count_but_not_below_zero(order, items):
    draft = ReceivingDraft(counts={items["mug"].pk: 1})
    receiving_count_adjust(
        purchase_order_id=order.pk, variant_id=items["mug"].pk, code="", delta=-1, draft=draft
    )
    receiving_count_adjust(
        purchase_order_id=order.pk, variant_id=items["mug"].pk, code="", delta=-1, draft=draft
    )
    assert draft.counts == {}
    with pytest.raises(ValidationError):
        receiving_count_adjust(
            purchase_order_id=order.pk,
            variant_id=VariantFactory().pk,
            code="",
            delta=1,
            draft=draft,
        )


# Receipts ---------------------------------------------------------------------------------


def test_partial_receipt_puts_counted_units_into_stock(order, items, clerk):
    mug, tee = items["mug"], items["tee"]
    order = receipt_post(
        purchase_order_id=order.pk,
        counts={mug.pk: 4},
        unknown_codes=[],
        actor=clerk,
        close=False,
    )
    assert order.status == Status.PARTIAL
    assert on_hand(mug) == 4
    assert on_hand(tee) == 0
    line = order.lines.get(variant=mug)
    assert line.quantity_received == 4
    movement = StockMovement.objects.get(variant=mug)
    assert (movement.kind, movement.on_hand_delta, movement.actor) == ("receive", 4, clerk)
    assert movement.source == order
    assert not ReceivingDiscrepancy.objects.exists()

    order = receipt_post(
        purchase_order_id=order.pk,
        counts={mug.pk: 6, tee.pk: 5},
        unknown_codes=[],
        actor=clerk,
        close=False,
    )
    assert order.status == Status.RECEIVED
    assert (on_hand(mug), on_hand(tee)) == (10, 5)
    assert ledger_problems() == []


def test_closing_records_over_and_under_and_leaves_the_queue(order, items, clerk):
    mug, tee = items["mug"], items["tee"]
    order = receipt_post(
        purchase_order_id=order.pk,
        counts={mug.pk: 12, tee.pk: 3},
        unknown_codes=[],
        actor=clerk,
        close=True,
    )
    assert order.status == Status.CLOSED
    found = {
        (d.line.variant.sku, d.kind, d.expected, d.received, d.recorded_by)
        for d in ReceivingDiscrepancy.objects.select_related("line__variant")
    }
    assert found == {("MUG-BLUE", Kind.OVER, 10, 12, clerk), ("TEE-M", Kind.UNDER, 5, 3, clerk)}
    assert (on_hand(mug), on_hand(tee)) == (12, 3)
    item = WorkItem.objects.get(source_id=order.pk, process__key="receiving")
    assert item.status == WorkItem.Status.DONE
    with pytest.raises(ValidationError, match="already closed"):
        receipt_post(
            purchase_order_id=order.pk,
            counts={mug.pk: 1},
            unknown_codes=[],
            actor=clerk,
            close=False,
        )


def test_closing_an_exact_receipt_records_no_discrepancy(order, items, clerk):
    receipt_post(
        purchase_order_id=order.pk,
        counts={items["mug"].pk: 10, items["tee"].pk: 5},
        unknown_codes=[],
        actor=clerk,
        close=True,
    )
    assert not ReceivingDiscrepancy.objects.exists()


def test_unknown_codes_are_recorded_with_their_count(order, clerk):
    VariantFactory(sku="CANDLE-1")
    receipt_post(
        purchase_order_id=order.pk,
        counts={},
        unknown_codes=["999", "999", "CANDLE-1"],
        actor=clerk,
        close=False,
    )
    found = {
        (d.scanned_code, d.kind, d.received, d.note.split(" [")[0])
        for d in ReceivingDiscrepancy.objects.all()
    }
    assert found == {
        ("999", Kind.UNKNOWN, 2, "Not in the catalog."),
        ("CANDLE-1", Kind.UNKNOWN, 1, "In the catalog as CANDLE-1, not on this order."),
    }
    assert not StockMovement.objects.exists()


def test_posting_the_same_count_twice_receives_once(order, items, clerk):
    args = {
        "purchase_order_id": order.pk,
        "counts": {items["mug"].pk: 2},
        "unknown_codes": ["999"],
        "actor": clerk,
        "close": False,
        "receipt_key": "draft-1",
    }
    receipt_post(**args)
    receipt_post(**args)
    assert on_hand(items["mug"]) == 2
    assert ReceivingDiscrepancy.objects.count() == 1


def test_a_draft_order_cannot_be_received(pos_locations, items, clerk):
    draft_order = purchase_order_create(
        vendor_id=VendorFactory().pk,
        location_id=pos_locations[MAIN].pk,
        lines=[LineInput("MUG-BLUE", 3)],
        actor=clerk,
    )
    with pytest.raises(ValidationError, match="mark it sent first"):
        receipt_post(
            purchase_order_id=draft_order.pk,
            counts={items["mug"].pk: 1},
            unknown_codes=[],
            actor=clerk,
            close=False,
        )


def test_counts_for_items_not_on_the_order_are_refused(order, clerk):
    with pytest.raises(ValidationError, match="not on this purchase order"):
        receipt_post(
            purchase_order_id=order.pk,
            counts={VariantFactory().pk: 1},
            unknown_codes=[],
            actor=clerk,
            close=False,
        )
    assert not StockMovement.objects.exists()


def test_received_stock_serves_backorders_first(order, items, clerk):
    from inventory.services import stock_reserve

    mug = items["mug"]
    waiting = stock_reserve(lines=[(mug.pk, 3)], actor=None, reference="#2001")
    assert waiting.backordered
    receipt_post(
        purchase_order_id=order.pk, counts={mug.pk: 5}, unknown_codes=[], actor=clerk, close=False
    )
    level = StockLevel.objects.get(variant=mug, location__name=MAIN)
    assert (level.on_hand, level.reserved) == (5, 3)
    assert Backorder.objects.get().status == Backorder.Status.RESERVED


# Unknown items ----------------------------------------------------------------------------


def _unknown(order, clerk, code, times=2) -> ReceivingDiscrepancy:
    receipt_post(
        purchase_order_id=order.pk,
        counts={},
        unknown_codes=[code] * times,
        actor=clerk,
        close=False,
    )
    return ReceivingDiscrepancy.objects.get(scanned_code=code)


def test_an_unknown_barcode_becomes_a_draft_in_the_data_entry_queue(order, clerk):
    discrepancy = _unknown(order, clerk, "0012345678905")
    line = receiving_unknown_resolve(
        discrepancy_id=discrepancy.pk, actor=clerk, title="Blue vase", price=Decimal("24.00")
    )
    variant = Variant.objects.select_related("product").get(barcode="0012345678905")
    assert variant.sku == "RCV-0012345678905"
    assert variant.product.status == Product.Status.DRAFT
    assert variant.product.created_from == "receiving"
    assert variant.retail_price == Decimal("24.00")
    assert WorkItem.objects.filter(process__key="web_ready_data", source_id=variant.product_id)
    assert (line.variant, line.quantity_ordered, line.quantity_received) == (variant, 0, 2)
    assert on_hand(variant) == 2
    discrepancy.refresh_from_db()
    assert discrepancy.line == line
    assert "Draft RCV-0012345678905 created" in discrepancy.note
    with pytest.raises(ValidationError, match="already"):
        receiving_unknown_resolve(
            discrepancy_id=discrepancy.pk, actor=clerk, title="Blue vase", price=Decimal("24.00")
        )
    assert on_hand(variant) == 2


def test_an_unknown_code_needs_a_title_and_a_price(order, clerk):
    discrepancy = _unknown(order, clerk, "HANDWRITTEN-7")
    with pytest.raises(ValidationError) as refused:
        receiving_unknown_resolve(discrepancy_id=discrepancy.pk, actor=clerk, title="", price=None)
    assert set(refused.value.message_dict) == {"title", "price"}
    assert not Variant.objects.filter(sku="HANDWRITTEN-7").exists()


def test_a_known_item_not_on_the_order_is_received_as_itself(order, clerk):
    candle = VariantFactory(sku="CANDLE-1")
    discrepancy = _unknown(order, clerk, "CANDLE-1", times=3)
    line = receiving_unknown_resolve(discrepancy_id=discrepancy.pk, actor=clerk)
    assert line.variant == candle
    assert on_hand(candle) == 3
    assert Product.objects.filter(status=Product.Status.DRAFT).count() == 0
