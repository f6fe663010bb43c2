"""The long versions of the stock checks (RELIABILITY R7 and R12): 20 runs of 100 orders
racing for 10 units, and 2,000 examples of the hypothesis model of stock."""

import pytest

from tests.inventory.stock_machine import run_stock_machine
from tests.inventory.support import last_units_race

pytest_plugins = ["tests.inventory.fixtures"]


@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(20))
def test_r7_100_orders_race_for_10_units_20_runs_out_of_20(run, inventory_processes):
    last_units_race(allow_backorder=bool(run % 2))


@pytest.mark.faults
@pytest.mark.django_db
def test_r12_stock_invariants_hold_over_2000_examples(inventory_processes):
    run_stock_machine(max_examples=2000, steps=10)
