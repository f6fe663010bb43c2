import factory

from inventory.models import Location, PurchaseOrder, PurchaseOrderLine, StockLevel
from tests.catalog.factories import VariantFactory, VendorFactory


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Store {n}")
    kind = Location.Kind.STORE
    web_priority = factory.Sequence(lambda n: 10 + n)


class WarehouseFactory(LocationFactory):
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    kind = Location.Kind.WAREHOUSE


class VendorLocationFactory(LocationFactory):
    name = factory.Sequence(lambda n: f"Vendor stock {n}")
    kind = Location.Kind.VENDOR


class StockLevelFactory(factory.django.DjangoModelFactory):
    """A level written directly, without movements: for tests of reads, not of the ledger."""

    class Meta:
        model = StockLevel

    variant = factory.SubFactory(VariantFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = 10
    reserved = 0


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrder

    vendor = factory.SubFactory(VendorFactory)
    location = factory.SubFactory(WarehouseFactory)
    number = factory.Sequence(lambda n: f"PO-{n:05d}")
    status = PurchaseOrder.Status.SENT


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity_ordered = 10
