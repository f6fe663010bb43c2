"""Factories for orders: channels, customers, orders and their lines.

Rows are written directly (not through the intake), for tests of review, fraud and reads.
Addresses have the shape the intake stores (orders.formats.ADDRESS_KEYS).
"""

from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Channel, Customer, Order, OrderEvent, OrderLine
from tests.catalog.factories import VariantFactory


def address(**overrides) -> dict:
    base = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "",
        "address1": "12 Analytical Row",
        "address2": "",
        "city": "Springfield",
        "region": "IL",
        "postcode": "62701",
        "country": "US",
        "phone": "",
    }
    return {**base, **overrides}


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Web store {n}")
    slug = factory.Sequence(lambda n: f"web-{n}")
    kind = Channel.Kind.SHOPIFY
    secret = factory.Sequence(lambda n: f"channel-secret-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Customer{n}")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order as built from the web store, RECEIVED and not yet checked, paid by card."""

    class Meta:
        model = Order

    channel = factory.SubFactory(ChannelFactory)
    external_id = factory.Sequence(lambda n: str(450789469 + n))
    number = factory.Sequence(lambda n: f"#{1001 + n}")
    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda o: o.customer.email if o.customer else "")
    billing_address = factory.LazyFunction(address)
    shipping_address = factory.LazyFunction(address)
    currency = "USD"
    subtotal = Decimal("40.00")
    shipping_total = Decimal("5.00")
    tax_total = Decimal("0.00")
    total = Decimal("45.00")
    payment_status = Order.PaymentStatus.PAID
    payment_gateway = "shopify_payments"
    shipping_line = factory.LazyFunction(lambda: {"code": "standard", "title": "Standard"})
    fulfillment_method = Order.Method.SHIP
    status = Order.Status.RECEIVED
    placed_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    sku = factory.LazyAttribute(lambda line: line.variant.sku if line.variant else "UNKNOWN-1")
    title = factory.Sequence(lambda n: f"Stoneware mug {n}")
    quantity = 2
    unit_price = Decimal("20.00")


class OrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderEvent

    order = factory.SubFactory(OrderFactory)
    type = OrderEvent.Type.RECEIVED


def order_with_lines(lines: int = 1, **fields) -> Order:
    """An order with `lines` lines of a known variant each."""
    order = OrderFactory(**fields)
    for _ in range(lines):
        OrderLineFactory(order=order)
    return order
