import factory

from inventory.models import Location, StockLevel
from tests.catalog.factories import VariantFactory


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Store {n}")
    kind = Location.Kind.STORE
    web_priority = factory.Sequence(lambda n: 10 + n)


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    variant = factory.SubFactory(VariantFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = 10
    reserved = 0
