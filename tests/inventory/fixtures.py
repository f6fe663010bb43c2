"""Fixtures of the inventory tests: locations, stock put in through the services (so the
movement ledger matches), and the seeded processes that transaction=True tests lose.

A plugin module, not tests/inventory/conftest.py: pytest would import a conftest here as
`inventory.conftest`, which the inventory app itself shadows. Test modules load it with
`pytest_plugins = ["tests.inventory.fixtures"]`.
"""

from collections.abc import Callable

import pytest

from inventory.models import Location, StockLevel
from inventory.services import stock_receive
from opsdesk.processes.models import Process
from tests.inventory.factories import LocationFactory, WarehouseFactory
from tests.inventory.support import inventory_processes_ensure


@pytest.fixture
def inventory_processes(db) -> dict[str, Process]:
    """The processes inventory opens work in (see inventory_processes_ensure)."""
    return inventory_processes_ensure()


@pytest.fixture
def store(db) -> Location:
    return LocationFactory(name="Main Street store", web_priority=10, is_pickup=True)


@pytest.fixture
def warehouse(db) -> Location:
    return WarehouseFactory(name="Warehouse", web_priority=20)


@pytest.fixture
def give_stock() -> Callable[..., StockLevel]:
    """give_stock(variant, location, units): received through stock_receive, with its movement."""

    def give(variant, location, units: int) -> StockLevel:
        return stock_receive(
            variant_id=variant.pk, location_id=location.pk, quantity=units, actor=None
        )

    return give
