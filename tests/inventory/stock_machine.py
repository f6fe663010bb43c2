"""A hypothesis model of stock (RELIABILITY R12): receive, reserve, release, ship, return,
adjust, transfer, POS counts and expiry over two variants at three locations.

After every step: on hand >= 0, 0 <= reserved <= on hand, on hand and reserved equal the
sums of the movement ledger, reserved equals the active holds, and on hand equals what a
plain model of the same steps expects. Each example runs in a savepoint of the test's
transaction, rolled back at its end, so examples start from the same empty stock.
"""

from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from inventory.exceptions import InsufficientStock, ReservationUnavailable
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import (
    reservation_expire_due,
    stock_adjust,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_return_restock,
    stock_set_from_pos,
    stock_ship,
    stock_transfer,
)
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import LocationFactory, WarehouseFactory
from tests.inventory.support import ledger_check

VARIANTS = 2
LOCATIONS = 3
units = st.integers(min_value=1, max_value=6)
variant_index = st.integers(min_value=0, max_value=VARIANTS - 1)
location_index = st.integers(min_value=0, max_value=LOCATIONS - 1)


class StockMachine(RuleBasedStateMachine):
    # Set by run_stock_machine before the run: the rows every example shares.
    variant_ids: list[int] = []
    location_ids: list[int] = []

    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint_create()
        self.on_hand: dict[tuple[int, int], int] = defaultdict(int)

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @initialize(
        start=st.lists(
            st.integers(min_value=0, max_value=8),
            min_size=VARIANTS * LOCATIONS,
            max_size=VARIANTS * LOCATIONS,
        )
    )
    def some_stock(self, start):
        """Start from some stock everywhere, written as received (two queries, not six
        service calls: the examples are many)."""
        keys = [(v, loc) for v in self.variant_ids for loc in self.location_ids]
        stocked = [(key, units) for key, units in zip(keys, start, strict=True) if units]
        StockLevel.objects.bulk_create(
            [StockLevel(variant_id=v, location_id=loc, on_hand=n) for (v, loc), n in stocked]
        )
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    variant_id=v,
                    location_id=loc,
                    kind=StockMovement.Kind.RECEIVE,
                    on_hand_delta=n,
                    reason="opening stock",
                )
                for (v, loc), n in stocked
            ]
        )
        for key, units in stocked:
            self.on_hand[key] = units

    def _key(self, v: int, loc: int) -> tuple[int, int]:
        return self.variant_ids[v], self.location_ids[loc]

    def _level(self, key: tuple[int, int]) -> StockLevel | None:
        return StockLevel.objects.filter(variant_id=key[0], location_id=key[1]).first()

    @rule(v=variant_index, loc=location_index, quantity=units)
    def receive(self, v, loc, quantity):
        key = self._key(v, loc)
        stock_receive(variant_id=key[0], location_id=key[1], quantity=quantity, actor=None)
        self.on_hand[key] += quantity

    @rule(v=variant_index, loc=location_index, quantity=units)
    def return_restock(self, v, loc, quantity):
        key = self._key(v, loc)
        stock_return_restock(variant_id=key[0], location_id=key[1], quantity=quantity, actor=None)
        self.on_hand[key] += quantity

    @rule(
        target=holds,
        lines=st.lists(
            st.tuples(variant_index, st.integers(min_value=1, max_value=3)), min_size=1, max_size=3
        ),
        allow_backorder=st.booleans(),
        expiring=st.booleans(),
    )
    def reserve(self, lines, allow_backorder, expiring):
        expires_at = timezone.now() + timedelta(hours=1) if expiring else None
        try:
            result = stock_reserve(
                lines=[(self.variant_ids[v], q) for v, q in lines],
                actor=None,
                expires_at=expires_at,
                allow_backorder=allow_backorder,
            )
        except InsufficientStock:
            assert not allow_backorder
            return multiple()
        assert bool(result.reservations) != bool(result.backorders)
        return multiple(*(r.pk for r in result.reservations))

    @rule(hold=holds)
    def release(self, hold):
        before = Reservation.objects.get(pk=hold).status
        try:
            stock_release(reservation_id=hold, actor=None)
        except ReservationUnavailable:
            assert before in (Reservation.Status.SHIPPED, Reservation.Status.BACKORDERED)

    @rule(hold=holds, one=st.booleans())
    def ship(self, hold, one):
        before = Reservation.objects.get(pk=hold)
        try:
            stock_ship(reservation_id=hold, actor=None, quantity=1 if one else None)
        except ReservationUnavailable:
            assert before.status != Reservation.Status.ACTIVE or before.is_expired()
            return
        self.on_hand[(before.variant_id, before.location_id)] -= 1 if one else before.remaining

    @rule(
        v=variant_index,
        loc=location_index,
        delta=st.integers(min_value=-6, max_value=6).filter(bool),
    )
    def adjust(self, v, loc, delta):
        key = self._key(v, loc)
        level = self._level(key)
        try:
            stock_adjust(
                variant_id=key[0], location_id=key[1], delta=delta, reason="count", actor=None
            )
        except ValidationError:
            assert level is None or level.on_hand + delta < level.reserved
            return
        self.on_hand[key] += delta

    @rule(v=variant_index, origin=location_index, to=location_index, quantity=units)
    def transfer(self, v, origin, to, quantity):
        source, destination = self._key(v, origin), self._key(v, to)
        level = self._level(source)
        try:
            stock_transfer(
                variant_id=source[0],
                from_location_id=source[1],
                to_location_id=destination[1],
                quantity=quantity,
                actor=None,
            )
        except ValidationError:
            assert origin == to or level is None or level.available < quantity
            return
        self.on_hand[source] -= quantity
        self.on_hand[destination] += quantity

    @rule(v=variant_index, loc=location_index, count=st.integers(min_value=0, max_value=8))
    def pos_count(self, v, loc, count):
        key = self._key(v, loc)
        stock_set_from_pos(variant_id=key[0], location_id=key[1], on_hand=count, actor=None)
        self.on_hand[key] = count

    @rule(v=variant_index, short=st.integers(min_value=1, max_value=3))
    def pos_count_under_holds(self, v, short):
        """The store sold reserved units over the counter (the path a random count rarely
        finds): the count comes in below what is reserved at the first location."""
        key = self._key(v, 0)
        level = self._level(key)
        if level is None or not level.reserved:
            return
        count = max(level.reserved - short, 0)
        backorders = stock_set_from_pos(
            variant_id=key[0], location_id=key[1], on_hand=count, actor=None
        )
        assert backorders
        self.on_hand[key] = count

    @rule()
    def holds_expire(self):
        reservation_expire_due(now=timezone.now() + timedelta(hours=2))

    @invariant()
    def ledger_and_model_agree(self):
        problems, actual = ledger_check(self.variant_ids)
        assert problems == []
        for key in set(actual) | set(self.on_hand):
            assert actual.get(key, 0) == self.on_hand.get(key, 0), key


def run_stock_machine(*, max_examples: int, steps: int) -> None:
    """Run the model inside a django_db test (it uses savepoints of the test's transaction)."""
    StockMachine.variant_ids = [VariantFactory().pk for _ in range(VARIANTS)]
    StockMachine.location_ids = [
        LocationFactory(web_priority=10).pk,
        WarehouseFactory(web_priority=20).pk,
        LocationFactory(web_priority=30).pk,
    ]
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
