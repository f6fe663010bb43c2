"""R12 in the suite: the hypothesis model of stock, 200 examples (2,000 in tests/faults/)."""

import pytest

from tests.inventory.stock_machine import run_stock_machine

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


def test_r12_stock_invariants_hold_after_every_step_over_200_examples(inventory_processes):
    run_stock_machine(max_examples=200, steps=10)
