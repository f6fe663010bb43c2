"""Stock under real parallel PostgreSQL connections (RELIABILITY R7 to R11).

transaction=True: each thread has its own connection and sees only committed rows; each
closes its connection when it ends.
"""

import logging
import random
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.exceptions import InsufficientStock, ReservationUnavailable
from inventory.models import Reservation, StockLevel
from inventory.services import (
    reservation_expire_due,
    stock_adjust,
    stock_reserve,
    stock_ship,
)
from inventory.services.levels import retry_on_conflict
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import LocationFactory
from tests.inventory.support import last_units_race, ledger_problems, race

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("inventory_processes"),
]


@pytest.mark.parametrize("run", range(10))
def test_r7_100_orders_race_for_10_units_and_exactly_10_are_reserved(run):
    # Most runs refuse the 90 others; two backorder them instead (slower: 90 queue items).
    last_units_race(allow_backorder=run % 5 == 4)


@pytest.mark.parametrize("allow_backorder", [False, True])
def test_r8_two_lines_of_one_sku_6_and_6_against_10_are_refused_or_backordered_whole(
    allow_backorder, give_stock
):
    variant = VariantFactory()
    store = LocationFactory()
    stock = give_stock(variant, store, 10)

    try:
        result = stock_reserve(
            lines=[(variant.pk, 6), (variant.pk, 6)], actor=None, allow_backorder=allow_backorder
        )
    except InsufficientStock as refused:
        assert not allow_backorder
        assert [(s.requested, s.available) for s in refused.shortages] == [(12, 10)]
    else:
        assert allow_backorder
        assert result.reservations == []
        assert [(b.variant_id, b.quantity) for b in result.backorders] == [(variant.pk, 12)]

    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (10, 0)
    assert not Reservation.objects.exists()


def test_r9_200_parallel_plus_one_and_200_minus_one_leave_the_level_where_it_started(
    give_stock,
):
    variant = VariantFactory()
    store = LocationFactory()
    stock = give_stock(variant, store, 200)
    deltas = [1] * 200 + [-1] * 200
    random.Random(9).shuffle(deltas)

    def adjust(i: int):
        return stock_adjust(
            variant_id=variant.pk,
            location_id=store.pk,
            delta=deltas[i],
            reason=f"race {i}",
            actor=None,
        )

    outcome = race(adjust, count=len(deltas), threads=20)

    assert outcome.errors == [], outcome.errors[:3]
    assert len(outcome.results) == 400
    stock.refresh_from_db()
    assert stock.on_hand == 200
    assert ledger_problems([variant.pk]) == []


def test_r10_50_two_sku_orders_locking_in_opposite_orders_never_deadlock(give_stock, caplog):
    a, b = VariantFactory(), VariantFactory()
    store = LocationFactory()
    give_stock(a, store, 30)
    give_stock(b, store, 30)

    def order(i: int):
        lines = [(a.pk, 1), (b.pk, 1)] if i % 2 else [(b.pk, 1), (a.pk, 1)]
        return stock_reserve(lines=lines, actor=None, allow_backorder=False)

    with caplog.at_level(logging.INFO, logger="inventory.services.levels"):
        outcome = race(order, count=50, expected=(InsufficientStock,), timeout=30)

    assert outcome.errors == [], outcome.errors[:3]
    assert outcome.seconds < 10
    reserved = [r for r in outcome.results if not isinstance(r, InsufficientStock)]
    assert len(reserved) == 30
    assert StockLevel.objects.filter(reserved=30).count() == 2
    # Locks are taken in one order, so there was not even a conflict to retry.
    assert "conflict" not in caplog.text
    assert ledger_problems([a.pk, b.pk]) == []


def test_r10_a_real_deadlock_is_retried_and_both_transactions_finish(give_stock, caplog):
    variant = VariantFactory()
    first, second = (give_stock(variant, LocationFactory(), 1) for _ in range(2))
    both_hold_one = threading.Barrier(2)
    first_try = {0: True, 1: True}

    @retry_on_conflict
    @transaction.atomic
    def lock_both(i: int) -> int:
        order = [first.pk, second.pk] if i == 0 else [second.pk, first.pk]
        StockLevel.objects.select_for_update().get(pk=order[0])
        if first_try[i]:
            first_try[i] = False
            both_hold_one.wait(5)
        StockLevel.objects.select_for_update().get(pk=order[1])
        return i

    with caplog.at_level(logging.INFO, logger="inventory.services.levels"):
        outcome = race(lock_both, count=2, timeout=30)

    assert outcome.errors == []
    assert sorted(outcome.results) == [0, 1]
    assert "conflict on attempt 1" in caplog.text


def test_r11_the_sweep_and_a_shipment_racing_for_an_expired_hold(give_stock):
    variant = VariantFactory()
    store = LocationFactory()
    give_stock(variant, store, 3)
    hold = stock_reserve(
        lines=[(variant.pk, 3)], actor=None, expires_at=timezone.now() + timedelta(minutes=5)
    ).reservations[0]
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    def work(i: int):
        if i == 0:
            return reservation_expire_due()
        return stock_ship(reservation_id=hold.pk, actor=None)

    outcome = race(work, count=2, expected=(ReservationUnavailable,))

    assert outcome.errors == []
    assert sorted(map(type, outcome.results), key=str) == sorted(
        [int, ReservationUnavailable], key=str
    )
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.EXPIRED
    stock = StockLevel.objects.get(variant=variant, location=store)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert ledger_problems([variant.pk]) == []
