"""Helpers of the inventory tests: reading levels, checking the ledger, racing threads."""

import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection

from inventory.models import StockLevel


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


LEDGER_SQL = """
    SELECT l.variant_id, l.location_id, l.on_hand, l.reserved,
        COALESCE((SELECT SUM(m.on_hand_delta) FROM inventory_stockmovement m
                  WHERE m.variant_id = l.variant_id AND m.location_id = l.location_id), 0),
        COALESCE((SELECT SUM(m.reserved_delta) FROM inventory_stockmovement m
                  WHERE m.variant_id = l.variant_id AND m.location_id = l.location_id), 0),
        COALESCE((SELECT SUM(r.quantity - r.quantity_shipped) FROM inventory_reservation r
                  WHERE r.variant_id = l.variant_id AND r.location_id = l.location_id
                  AND r.status = 'active'), 0)
    FROM inventory_stocklevel l
"""


def ledger_check(variant_ids: Iterable[int] | None = None) -> tuple[list[str], dict]:
    """Every way the levels disagree with their movements, their active holds, or
    0 <= reserved <= on hand (empty when all is well), and on hand per (variant, location).
    One query (plain SQL: the hypothesis model runs it after every step)."""
    sql, params = LEDGER_SQL, []
    if variant_ids is not None:
        sql += " WHERE l.variant_id = ANY(%s)"
        params = [list(variant_ids)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    problems = []
    on_hand_by_key = {}
    for variant_id, location_id, on_hand, reserved, moved, moved_reserved, held in rows:
        key = (variant_id, location_id)
        on_hand_by_key[key] = on_hand
        if on_hand < 0 or not 0 <= reserved <= on_hand:
            problems.append(f"{key}: on hand {on_hand}, reserved {reserved}")
        if (on_hand, reserved) != (moved, moved_reserved):
            problems.append(
                f"{key}: level {on_hand}/{reserved}, movements {moved}/{moved_reserved}"
            )
        if reserved != held:
            problems.append(f"{key}: reserved {reserved}, active holds {held}")
    return problems, on_hand_by_key


def ledger_problems(variant_ids: Iterable[int] | None = None) -> list[str]:
    """See ledger_check; just the problems."""
    return ledger_check(variant_ids)[0]


@dataclass
class RaceResult:
    results: list = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    seconds: float = 0.0


def race(
    work: Callable[[int], object],
    *,
    count: int,
    threads: int | None = None,
    expected: tuple[type[BaseException], ...] = (),
    timeout: float = 60.0,
) -> RaceResult:
    """Run work(0) ... work(count - 1) from `threads` threads (default: one each), released
    together by a barrier, each thread on its own database connection (closed at its end).

    Returns what they returned; exceptions of the `expected` types count as results, any
    other is collected in `errors` (what would have been a 500)."""
    threads = threads or count
    barrier = threading.Barrier(threads)
    outcome = RaceResult()
    lock = threading.Lock()
    jobs = list(range(count))

    def runner(mine: list[int]) -> None:
        try:
            barrier.wait(timeout)
            for job in mine:
                try:
                    value = work(job)
                except expected as exc:
                    value = exc
                except BaseException as exc:  # collected for the assertion
                    with lock:
                        outcome.errors.append(exc)
                    continue
                with lock:
                    outcome.results.append(value)
        finally:
            connection.close()

    workers = [
        threading.Thread(target=runner, args=(jobs[i::threads],), daemon=True)
        for i in range(threads)
    ]
    # The transaction holding the row lock needs the GIL for each round trip; handing it
    # over sooner keeps many threads on one interpreter from serializing on it rather than
    # on the database.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    started = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout)
    finally:
        sys.setswitchinterval(switch_interval)
    outcome.seconds = time.monotonic() - started
    if any(worker.is_alive() for worker in workers):
        raise AssertionError(f"the race did not finish in {timeout:.0f} s")
    return outcome


class Watcher:
    """Polls the lowest available (on hand - reserved) of some levels while a race runs."""

    def __init__(self, level_ids: list[int], *, every: float = 0.02) -> None:
        self.level_ids = level_ids
        self.every = every
        self.lowest: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Watcher":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for on_hand, reserved in StockLevel.objects.filter(
                    pk__in=self.level_ids
                ).values_list("on_hand", "reserved"):
                    available = on_hand - reserved
                    if self.lowest is None or available < self.lowest:
                        self.lowest = available
                self.samples += 1
                time.sleep(self.every)
        finally:
            connection.close()


def last_units_race(*, allow_backorder: bool, orders: int = 100, units: int = 10) -> None:
    """R7: `orders` single-unit orders race for `units` units; exactly `units` are reserved,
    the others refused (or backordered), available never below 0, nothing unexpected raised.
    Needs a transaction=True test (the threads see only committed rows)."""
    from inventory.exceptions import InsufficientStock
    from inventory.models import Backorder
    from inventory.services import stock_receive, stock_reserve
    from tests.catalog.factories import VariantFactory
    from tests.inventory.factories import LocationFactory

    variant = VariantFactory()
    store = LocationFactory()
    stock = stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=units, actor=None)

    def order(i: int):
        return stock_reserve(
            lines=[(variant.pk, 1)],
            actor=None,
            reference=f"#{i}",
            allow_backorder=allow_backorder,
        )

    with Watcher([stock.pk]) as watcher:
        outcome = race(order, count=orders, expected=(InsufficientStock,))

    assert outcome.errors == [], outcome.errors[:3]
    reserved = [r for r in outcome.results if not isinstance(r, Exception) and r.reservations]
    turned_away = [r for r in outcome.results if isinstance(r, Exception) or r.backorders]
    assert (len(reserved), len(turned_away)) == (units, orders - units)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (units, units)
    assert watcher.samples > 0 and watcher.lowest is not None and watcher.lowest >= 0
    backorders = Backorder.objects.filter(variant=variant).count()
    assert backorders == (orders - units if allow_backorder else 0)
    assert ledger_problems([variant.pk]) == []


PROCESSES = {
    "out_of_stock": "Out-of-stock handling",
    "receiving": "Receiving",
}


def inventory_processes_ensure() -> dict:
    """The processes inventory opens work in. Seeded by a migration, but a transaction=True
    test empties every table when it ends, so later ones put them back with this."""
    from django.contrib.auth.models import Group

    from opsdesk.core.roles import Role
    from opsdesk.processes.models import Process

    group, _ = Group.objects.get_or_create(name=Role.INVENTORY)
    return {
        key: Process.objects.get_or_create(
            key=key, defaults={"name": name, "owner_role": group, "target_minutes": 24 * 60}
        )[0]
        for key, name in PROCESSES.items()
    }
