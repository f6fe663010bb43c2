"""The demo's channels and orders: one channel of each kind, a few orders through the real
intake (each outcome the review queue should show), and nothing more on a second run."""

import pytest

from orders.demo import seed_orders
from orders.models import Channel, Order, WebhookDelivery
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_catalog(pickup_store):
    from inventory.services import stock_receive

    for n in range(4):
        product = ProductFactory(title=f"Demo item {n}", published=True)
        variant = VariantFactory(product=product, sku=f"DEMO-{n}")
        stock_receive(variant_id=variant.pk, location_id=pickup_store.pk, quantity=50, actor=None)


def test_the_demo_has_a_channel_of_each_kind_and_orders_of_every_kind(demo_catalog):
    seed_orders()
    seed_orders()

    assert sorted(Channel.objects.values_list("kind", flat=True)) == [
        "generic",
        "shopify",
        "woocommerce",
    ]
    assert Order.objects.count() == 7
    assert not WebhookDelivery.objects.filter(outcome__in=["failed", "accepted"]).exists()
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"cancelled", "on_hold"} <= statuses
    assert Order.objects.filter(lines__variant__isnull=True).exists()
    assert Order.objects.filter(fulfillment_method="unknown").exists()
    assert Order.objects.filter(fulfillment_method="store_pickup").exists()


def test_without_a_catalog_only_the_channels_are_made(db):
    seed_orders()
    assert Channel.objects.count() == 3
    assert not Order.objects.exists()
