"""POS-vs-web accuracy: differences per SKU, the score, snapshots and their sign-off."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from catalog import services
from catalog.models import AccuracySnapshot
from catalog.selectors import accuracy_report, accuracy_trend
from opsdesk.core.roles import Role
from opsdesk.processes.models import Process
from tests.catalog.factories import AccuracySnapshotFactory, VariantFactory
from tests.inventory.factories import StockLevelFactory

pytestmark = pytest.mark.django_db


def synced(**kwargs):
    defaults = {
        "product__title": "Sand Mug",
        "retail_price": Decimal("18.00"),
        "pos_name": "Sand Mug",
        "pos_price": Decimal("18.00"),
        "pos_synced_at": timezone.now(),
    }
    return VariantFactory(**(defaults | kwargs))


@pytest.fixture
def known_set():
    """Eight synced SKUs, three of them accurate, and one the POS never reported."""
    accurate = synced(sku="OK-1")
    synced(sku="OK-2", pos_name="sand mug  - SAND", option_values={"Colour": "Sand"})
    ok_stock = synced(sku="OK-3", product__published=True)
    StockLevelFactory(variant=ok_stock, on_hand=4)
    synced(sku="PRICE-1", pos_price=Decimal("17.00"))
    synced(sku="NAME-1", pos_name="Sand Mug (old)")
    synced(sku="ARCH-1", pos_archived=True)
    synced(sku="ARCH-2", product__status="archived")
    sold_out = synced(sku="STOCK-1", product__published=True)
    StockLevelFactory(variant=sold_out, on_hand=0)
    VariantFactory(sku="NEVER-1")  # not synced: not counted
    return accurate


def test_the_report_finds_each_difference_and_scores_the_catalog(known_set):
    report = accuracy_report()
    assert (report.checked, report.accurate, report.different) == (8, 3, 5)
    assert report.score == Decimal("37.50")
    found = {
        row.variant.sku: [(d.kind, d.pos, d.web) for d in row.differences]
        for row in report.differing_rows
    }
    assert found == {
        "PRICE-1": [("price", "17.00", "18.00")],
        "NAME-1": [("name", "Sand Mug (old)", "Sand Mug")],
        "ARCH-1": [("archived", "archived", "active")],
        "ARCH-2": [("archived", "active", "archived")],
        "STOCK-1": [("stock", "0 on hand", "published")],
    }
    assert report.by_kind == {"name": 1, "price": 1, "archived": 2, "stock": 1}


def test_stock_on_hand_for_an_item_not_yet_active_is_a_difference():
    draft = synced(sku="D-1", product__status="draft")
    StockLevelFactory(variant=draft, on_hand=3)
    [row] = accuracy_report().rows
    assert [(d.kind, d.pos, d.web) for d in row.differences] == [("stock", "3 on hand", "draft")]


def test_a_snapshot_stores_the_score_counts_and_differences(known_set, editor):
    snapshot = services.accuracy_snapshot_take(actor=editor)
    assert (snapshot.variants_checked, snapshot.variants_accurate) == (8, 3)
    assert snapshot.score == Decimal("37.50")
    assert snapshot.taken_by == editor
    assert snapshot.differences["by_kind"]["archived"] == 2
    skus = {entry["sku"] for entry in snapshot.differences["skus"]}
    assert skus == {"PRICE-1", "NAME-1", "ARCH-1", "ARCH-2", "STOCK-1"}


def test_a_snapshot_is_refused_when_nothing_was_synced():
    VariantFactory()
    with pytest.raises(ValidationError, match="No SKU has been synced"):
        services.accuracy_snapshot_take(actor=None)
    assert not AccuracySnapshot.objects.exists()


def test_the_daily_snapshot_is_taken_once_a_day(known_set):
    now = timezone.now()
    assert services.accuracy_snapshot_take_daily(now=now) is not None
    assert services.accuracy_snapshot_take_daily(now=now) is None
    assert services.accuracy_snapshot_take_daily(now=now + timedelta(days=1)) is not None
    assert AccuracySnapshot.objects.count() == 2


def test_the_process_primary_signs_off_the_latest_snapshot(editor):
    Process.objects.filter(key="web_ready_data").update(primary=editor)
    AccuracySnapshotFactory()
    latest = AccuracySnapshotFactory()
    services.accuracy_snapshot_sign_off(snapshot_id=latest.pk, actor=editor)
    latest.refresh_from_db()
    assert latest.signed_off_by == editor and latest.signed_off_at is not None


def test_an_owner_may_sign_off(owner_user):
    snapshot = AccuracySnapshotFactory()
    services.accuracy_snapshot_sign_off(snapshot_id=snapshot.pk, actor=owner_user)
    assert AccuracySnapshot.objects.get().signed_off_by == owner_user


def test_someone_else_may_not_sign_off(role_user):
    colleague = role_user(Role.CONTENT_EDITOR)
    manager = role_user(Role.MANAGER)
    snapshot = AccuracySnapshotFactory()
    for person in (colleague, manager):
        with pytest.raises(PermissionDenied):
            services.accuracy_snapshot_sign_off(snapshot_id=snapshot.pk, actor=person)
    assert AccuracySnapshot.objects.get().signed_off_at is None


def test_an_older_snapshot_or_a_second_sign_off_is_refused(owner_user):
    older = AccuracySnapshotFactory(taken_at=timezone.now() - timedelta(days=1))
    latest = AccuracySnapshotFactory()
    with pytest.raises(ValidationError, match="Only the latest snapshot"):
        services.accuracy_snapshot_sign_off(snapshot_id=older.pk, actor=owner_user)
    services.accuracy_snapshot_sign_off(snapshot_id=latest.pk, actor=owner_user)
    with pytest.raises(ValidationError, match="already signed off"):
        services.accuracy_snapshot_sign_off(snapshot_id=latest.pk, actor=owner_user)


def test_the_trend_places_scores_oldest_first():
    now = timezone.now()
    old = AccuracySnapshotFactory(taken_at=now - timedelta(days=2), score=Decimal("50"))
    new = AccuracySnapshotFactory(taken_at=now, score=Decimal("100"))
    trend = accuracy_trend([new, old])
    first, last = trend["points"]
    assert first["snapshot"] == old and last["snapshot"] == new
    assert first["x"] < last["x"]
    assert last["y"] < first["y"]  # higher score, higher on the chart
    assert trend["polyline"] == f"{first['x']},{first['y']} {last['x']},{last['y']}"
