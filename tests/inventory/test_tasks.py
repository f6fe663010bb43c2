from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import LowStockAlert, Reservation
from inventory.services import low_stock_check, reservation_expire_due, stock_reserve
from inventory.tasks import low_stock_check_task, reservation_expire_due_task
from opsdesk.notifications.models import Notification
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.inventory.factories import StockLevelFactory
from tests.inventory.support import ledger_problems, level

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


def _hold(variant, store, give_stock, *, minutes: int) -> Reservation:
    give_stock(variant, store, 3)
    return stock_reserve(
        lines=[(variant.pk, 2)], actor=None, expires_at=timezone.now() + timedelta(minutes=minutes)
    ).reservations[0]


# Expiry (R11) ----------------------------------------------------------------------------


def test_expiry_sweep_releases_holds_past_their_expiry_only(store, give_stock):
    due = _hold(VariantFactory(), store, give_stock, minutes=1)
    later = _hold(VariantFactory(), store, give_stock, minutes=30)
    forever = stock_reserve(lines=[(due.variant_id, 1)], actor=None).reservations[0]

    released = reservation_expire_due(now=due.expires_at + timedelta(seconds=1))

    assert released == 1
    statuses = {r.pk: r.status for r in Reservation.objects.all()}
    assert statuses == {due.pk: "expired", later.pk: "active", forever.pk: "active"}
    assert level(due.variant, store).reserved == 1
    assert ledger_problems() == []


def test_a_hold_is_released_by_the_first_sweep_after_it_expires(settings, store, give_stock):
    # Beat starts the sweep every SWEEP_INTERVAL seconds, so a hold is released within that.
    assert settings.SWEEP_INTERVAL <= 60
    hold = _hold(VariantFactory(), store, give_stock, minutes=1)

    assert reservation_expire_due(now=hold.expires_at - timedelta(seconds=1)) == 0
    assert (
        reservation_expire_due(now=hold.expires_at + timedelta(seconds=settings.SWEEP_INTERVAL))
        == 1
    )


def test_expiry_task_calls_the_sweep_and_is_safe_to_run_twice(store, give_stock):
    hold = _hold(VariantFactory(), store, give_stock, minutes=1)
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert reservation_expire_due_task() == 1
    assert reservation_expire_due_task() == 0
    assert level(hold.variant, store).reserved == 0
    assert ledger_problems() == []


# Low stock -------------------------------------------------------------------------------


@pytest.fixture
def receiving_staff(role_user, inventory_processes):
    return role_user("Owner", username="olga")


def test_low_stock_is_told_once_per_sku_per_day(store, receiving_staff):
    low = VariantFactory(sku="TEA-LOW", low_stock_threshold=3)
    StockLevelFactory(variant=low, location=store, on_hand=4, reserved=1)
    StockLevelFactory(variant=VariantFactory(sku="TEA-OK", low_stock_threshold=3), location=store)
    VariantFactory(sku="NO-THRESHOLD")
    StockLevelFactory(
        variant=VariantFactory(
            sku="OLD", low_stock_threshold=3, product=ProductFactory(status="archived")
        ),
        location=store,
        on_hand=0,
    )
    now = timezone.now()

    assert low_stock_check(now=now) == 1
    assert low_stock_check(now=now + timedelta(hours=1)) == 0
    assert low_stock_check(now=now + timedelta(days=1)) == 1

    notes = Notification.objects.filter(recipient=receiving_staff, process__key="receiving")
    assert notes.count() == 2
    assert "TEA-LOW" in notes.first().body and "3 available (threshold 3)" in notes.first().body
    assert LowStockAlert.objects.filter(variant=low).count() == 2


def test_low_stock_task_runs_once_per_period(store, receiving_staff):
    StockLevelFactory(variant=VariantFactory(low_stock_threshold=5), location=store, on_hand=1)

    assert low_stock_check_task() == 1
    assert low_stock_check_task() == 0
