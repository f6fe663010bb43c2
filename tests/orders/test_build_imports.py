"""Orders that do not come by webhook: the CSV import (file checks, row and column named on a
refusal, re-import changes nothing) and phone orders; both through the same build."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders.formats.csvfile import CsvRefused, parse_csv
from orders.models import Order, OrderEvent
from orders.services.imports import PhoneLine, PhoneOrder, orders_import_csv, phone_order_create
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)

pytestmark = pytest.mark.django_db

HEADER = (
    "order_id,number,created_at,currency,total,shipping_total,email,first_name,last_name,"
    "billing_address1,billing_city,billing_postcode,billing_country,shipping_method,"
    "payment_status,sku,title,quantity,unit_price\n"
)
GOOD = (
    HEADER + "C-1,1001,2026-03-01T10:00:00+00:00,USD,53.00,5.00,Ann@Example.com,Ann,Bell,"
    "1 High St,Springfield,62701,US,Standard,paid,MUG-OCEAN,Mug,2,24.00\n"
    + "C-2,1002,2026-03-01T11:00:00+00:00,USD,47.00,0.00,bo@example.com,Bo,Chan,"
    "2 Low St,Springfield,62702,US,store_pickup,pending,CANDLE-CEDAR,Candle,1,37.00\n"
    + "C-2,,,,,,,,,,,,,,,CARDS-SET6,Cards,1,10.00\n"
)


def test_a_csv_file_imports_each_order_through_the_build(shopify_channel, stocked):
    result = orders_import_csv(
        channel=shopify_channel, content=GOOD.encode(), actor=None, filename="march.csv"
    )

    assert (len(result.created), len(result.updated), len(result.unchanged)) == (2, 0, 0)
    first = Order.objects.get(external_id="C-1")
    assert (first.source, first.number, first.email) == (
        Order.Source.CSV,
        "1001",
        "ann@example.com",
    )
    assert first.fulfillment_method == Order.Method.SHIP  # through the channel's mapping
    assert first.total == Decimal("53.00")
    assert first.payment_status == Order.PaymentStatus.PAID
    second = Order.objects.get(external_id="C-2")
    assert second.fulfillment_method == Order.Method.STORE_PICKUP
    assert sorted(second.lines.values_list("sku", "quantity")) == [
        ("CANDLE-CEDAR", 1),
        ("CARDS-SET6", 1),
    ]
    assert first.events.get(type=OrderEvent.Type.RECEIVED).data["import"] == "march.csv"
    assert first.status != Order.Status.RECEIVED  # routed on by the fraud check

    again = orders_import_csv(channel=shopify_channel, content=GOOD.encode(), actor=None)
    assert (len(again.created), len(again.unchanged)) == (0, 2)
    assert Order.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "row", "column"),
    [
        (("2,24.00\n", "two,24.00\n"), 2, "quantity"),
        (("2,24.00\n", "2,-1\n"), 2, "unit_price"),
        (("CARDS-SET6,Cards,1,10.00", "CARDS-SET6,Cards,0,10.00"), 4, "quantity"),
        (("2026-03-01T10:00:00+00:00", "1 March"), 2, "created_at"),
        (("USD,53.00", "USD,lots"), 2, "total"),
        (("C-2,,,", ",,,"), 4, "order_id"),
    ],
)
def test_a_bad_cell_refuses_the_whole_file_naming_row_and_column(
    shopify_channel, stocked, change, row, column
):
    bad = GOOD.replace(*change)
    with pytest.raises(CsvRefused) as refused:
        orders_import_csv(channel=shopify_channel, content=bad.encode(), actor=None)

    assert (refused.value.row, refused.value.column) == (row, column)
    assert f"Row {row}, column {column}" in refused.value.messages[0]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text file"),
        (b"order_id,sku\n", "no created_at"),
        ((HEADER.rstrip("\n") + ",colour\n").encode(), "unknown column 'colour'"),
        (b"order_id,title\nC-1,caf\xe9\n", "not UTF-8"),
        (HEADER.encode(), "no orders"),
    ],
)
def test_a_file_that_is_not_an_order_csv_is_refused(content, message):
    with pytest.raises(CsvRefused, match=message):
        parse_csv(content)


def test_an_oversize_file_is_refused_before_reading():
    with pytest.raises(CsvRefused, match="larger than 5 MB"):
        parse_csv(b"x" * (5 * 1024 * 1024 + 1))


def test_a_phone_order_is_built_and_routed_like_a_web_order(stocked, pickup_store, role_user):
    clerk = role_user("Customer service", username="clerk")
    order = phone_order_create(
        data=PhoneOrder(
            lines=[PhoneLine("MUG-OCEAN", 2), PhoneLine("CARDS-SET6", 1, Decimal("8.00"))],
            method=Order.Method.STORE_PICKUP,
            pickup_location_id=pickup_store.pk,
            email="Caller@Example.com",
            first_name="Cal",
            phone="555-0199",
            tax_total=Decimal("1.00"),
            payment_status=Order.PaymentStatus.PAID,
        ),
        actor=clerk,
    )

    assert order.source == Order.Source.PHONE
    assert order.channel is None
    assert order.number == f"P{order.pk:06d}"
    assert order.email == "caller@example.com"
    unit = stocked["MUG-OCEAN"].retail_price
    assert order.subtotal == unit * 2 + Decimal("8.00")
    assert order.total == order.subtotal + Decimal("1.00")
    assert (order.fulfillment_method, order.pickup_location) == (
        Order.Method.STORE_PICKUP,
        pickup_store,
    )
    assert order.events.get(type=OrderEvent.Type.RECEIVED).actor == clerk
    assert order.events.filter(type=OrderEvent.Type.STOCK_RESERVED).exists()
    assert order.status != Order.Status.RECEIVED


def test_a_phone_order_with_an_unknown_sku_is_refused(stocked):
    with pytest.raises(ValidationError, match="Unknown SKU: NOPE"):
        phone_order_create(
            data=PhoneOrder(lines=[PhoneLine("NOPE", 1)], method=Order.Method.SHIP),
            actor=None,
        )
    assert not Order.objects.exists()


def test_a_discount_larger_than_the_order_is_refused(stocked):
    with pytest.raises(ValidationError, match="larger than the order"):
        phone_order_create(
            data=PhoneOrder(
                lines=[PhoneLine("MUG-OCEAN", 1, Decimal("5.00"))],
                method=Order.Method.SHIP,
                discount_total=Decimal("9.00"),
            ),
            actor=None,
        )
