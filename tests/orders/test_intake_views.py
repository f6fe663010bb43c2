"""The intake pages: each with a happy path, a refused role, the anonymous visitor and an error
case; the delivery list in a fixed number of queries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opsdesk.core.roles import Role
from orders.models import Channel, Order, ShippingMethodMapping, WebhookDelivery
from orders.services.build import order_build
from orders.services.intake import delivery_build, delivery_receive
from orders.signatures import signature_valid
from tests.orders.intake_support import *  # noqa: F403 (fixtures and helpers)
from tests.orders.intake_support import (
    SHOPIFY_SECRET,
    dumps,
    shopify_headers,
    shopify_order,
)
from tests.orders.test_build_imports import GOOD

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


def receive(order_id: int, *, build: bool = True, **headers) -> int:
    """One delivery through the intake, built at once as the worker would."""
    body = dumps(shopify_order(order_id))
    answer = delivery_receive(
        kind="shopify",
        channel_slug="web",
        headers={**shopify_headers(body), **headers},
        body=body,
    )
    if build:
        delivery_build(delivery_id=answer.delivery_id)
    return answer.delivery_id


# The delivery log ---------------------------------------------------------------------------


def test_the_delivery_list_shows_deliveries_with_their_outcome(
    staff_client_for, shopify_channel, stocked, broker
):
    receive(1)
    receive(2, **{"X-Shopify-Hmac-Sha256": "bad"})
    client = staff_client_for(Role.ORDER_REVIEWER)

    page = client.get(reverse("orders:delivery_list"))
    rejected = client.get(reverse("orders:delivery_list"), {"outcome": "rejected"})

    assert page.status_code == 200
    assert page.content.count(b"orders/create") == 2
    assert b"Signature does not match" in page.content
    assert rejected.content.count(b"orders/create") == 1


def test_the_delivery_list_takes_the_same_queries_for_many_rows(
    staff_client_for, shopify_channel, stocked, broker, django_assert_num_queries
):
    client = staff_client_for(Role.MANAGER)
    url = reverse("orders:delivery_list")
    for n in range(3):
        receive(100 + n)
    client.get(url)  # warm the session and user
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(30):
        receive(200 + n)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.count(b"orders/create") == 33


def test_the_delivery_list_refuses_other_roles_and_anonymous(client, staff_client_for, db):
    url = reverse("orders:delivery_list")
    assert staff_client_for(Role.FULFILLMENT).get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_delivery_page_shows_the_body_and_headers(staff_client_for, shopify_channel):
    delivery_id = receive(3)
    response = staff_client_for(Role.ADMIN).get(
        reverse("orders:delivery_detail", args=[delivery_id])
    )
    assert response.status_code == 200
    assert b"X-Shopify-Webhook-Id" in response.content
    assert b"&quot;line_items&quot;" in response.content
    assert (
        staff_client_for(Role.MANAGER)
        .get(reverse("orders:delivery_detail", args=[999_999]))
        .status_code
        == 404
    )


def test_a_manager_replays_a_failed_delivery(staff_client_for, shopify_channel, stocked):
    delivery_id = receive(4, build=False)
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        outcome=Outcome.FAILED, error="database restarted"
    )
    client = staff_client_for(Role.MANAGER)

    page = client.get(reverse("orders:delivery_detail", args=[delivery_id]))
    response = client.post(reverse("orders:delivery_replay", args=[delivery_id]), follow=True)

    assert b"Replay" in page.content
    assert response.status_code == 200
    assert WebhookDelivery.objects.get(pk=delivery_id).outcome == Outcome.BUILT
    assert Order.objects.count() == 1
    event = Order.objects.get().events.first()
    assert event.actor == client.user


def test_replay_is_refused_to_reviewers_and_for_built_deliveries(
    staff_client_for, shopify_channel, stocked, broker
):
    delivery_id = receive(5)
    url = reverse("orders:delivery_replay", args=[delivery_id])

    assert staff_client_for(Role.ORDER_REVIEWER).post(url).status_code == 403
    response = staff_client_for(Role.OWNER).post(url, follow=True)

    assert b"Only a failed delivery" in response.content
    assert Order.objects.count() == 1


# Channels -----------------------------------------------------------------------------------


def test_an_admin_adds_a_channel_and_sees_the_generated_secret_once(staff_client_for, db):
    client = staff_client_for(Role.ADMIN)
    response = client.post(
        reverse("orders:channel_list"), {"kind": "woocommerce", "name": "Garden shop"}
    )

    channel = Channel.objects.get()
    assert response.status_code == 200
    assert channel.secret.encode() in response.content
    assert b"/webhooks/woocommerce/garden-shop/" in response.content
    again = client.get(reverse("orders:channel_detail", args=[channel.pk]))
    assert channel.secret.encode() not in again.content


def test_a_short_secret_is_refused_on_the_form(staff_client_for, db):
    response = staff_client_for(Role.ADMIN).post(
        reverse("orders:channel_list"), {"kind": "shopify", "name": "Web", "secret": "short"}
    )
    assert b"at least 16 characters" in response.content
    assert not Channel.objects.exists()


def test_channel_pages_are_for_admins_only(client, staff_client_for, shopify_channel):
    for role in (Role.MANAGER, Role.OWNER, Role.ORDER_REVIEWER):
        staff = staff_client_for(role)
        assert staff.get(reverse("orders:channel_list")).status_code == 403
        assert (
            staff.post(reverse("orders:channel_rotate", args=[shopify_channel.pk])).status_code
            == 403
        )
    assert client.get(reverse("orders:channel_list")).status_code == 302


def test_rotating_keeps_the_old_secret_for_the_grace_period(staff_client_for, shopify_channel):
    client = staff_client_for(Role.ADMIN)
    response = client.post(
        reverse("orders:channel_rotate", args=[shopify_channel.pk]), {"grace_hours": 48}
    )

    channel = Channel.objects.get()
    assert response.status_code == 200
    assert channel.secret != SHOPIFY_SECRET
    assert channel.previous_secret == SHOPIFY_SECRET
    assert channel.secret.encode() in response.content
    body = dumps(shopify_order(6))
    assert signature_valid(
        channel=channel, body=body, header_value=shopify_headers(body)["X-Shopify-Hmac-Sha256"]
    )
    bad = client.post(
        reverse("orders:channel_rotate", args=[channel.pk]),
        {"grace_hours": 48, "new_secret": channel.secret},
    )
    assert bad.status_code == 400
    assert b"That is the current secret" in bad.content


def test_an_admin_maps_and_unmaps_a_shipping_method(staff_client_for, woo_channel, pickup_store):
    client = staff_client_for(Role.ADMIN)
    url = reverse("orders:channel_detail", args=[woo_channel.pk])

    refused = client.post(url, {"match_value": "local_delivery", "method": "store_pickup"})
    saved = client.post(url, {"match_value": "local_delivery", "method": "local_delivery"})

    assert refused.status_code == 400
    assert b"Choose where customers collect" in refused.content
    assert saved.status_code == 302
    mapping = ShippingMethodMapping.objects.get(match_value="local_delivery")
    assert mapping.method == "local_delivery"
    response = client.post(
        reverse("orders:mapping_delete", args=[woo_channel.pk, mapping.pk]), follow=True
    )
    assert b"Mapping removed" in response.content
    assert not ShippingMethodMapping.objects.filter(pk=mapping.pk).exists()


# Import and phone orders ----------------------------------------------------------------------


def test_the_import_page_imports_a_file(staff_client_for, shopify_channel, stocked):
    upload = SimpleUploadedFile("orders.csv", GOOD.encode(), content_type="text/csv")
    response = staff_client_for(Role.MANAGER).post(
        reverse("orders:import_csv"), {"channel": shopify_channel.pk, "file": upload}
    )
    assert response.status_code == 200
    assert b"2 new" in response.content
    assert Order.objects.count() == 2


def test_the_import_page_names_the_bad_row(staff_client_for, shopify_channel, stocked):
    upload = SimpleUploadedFile(
        "orders.csv", GOOD.replace("2,24.00", "x,24.00").encode(), content_type="text/csv"
    )
    response = staff_client_for(Role.OWNER).post(
        reverse("orders:import_csv"), {"channel": shopify_channel.pk, "file": upload}
    )
    assert response.status_code == 400
    assert b"Row 2, column quantity" in response.content
    assert not Order.objects.exists()
    assert (
        staff_client_for(Role.ORDER_REVIEWER).get(reverse("orders:import_csv")).status_code == 403
    )


PHONE = {
    "first_name": "Cal",
    "last_name": "Ng",
    "email": "cal@example.com",
    "phone": "555-0101",
    "address1": "3 Side St",
    "city": "Springfield",
    "postcode": "62703",
    "country": "us",
    "method": "ship",
    "lines": "MUG-OCEAN 2\nCARDS-SET6, 1, 4.50",
    "shipping_total": "5.00",
    "discount_total": "0",
    "tax_total": "0",
    "payment_status": "paid",
}


def test_customer_service_enters_a_phone_order(staff_client_for, stocked):
    response = staff_client_for(Role.CUSTOMER_SERVICE).post(reverse("orders:phone_order"), PHONE)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.billing_address["country"] == "US"
    assert sorted(order.lines.values_list("sku", "quantity")) == [
        ("CARDS-SET6", 1),
        ("MUG-OCEAN", 2),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [("NOPE 1", b"Unknown SKU: NOPE"), ("MUG-OCEAN", b"write the SKU and the quantity")],
)
def test_a_phone_order_with_bad_lines_is_refused(staff_client_for, stocked, lines, message):
    response = staff_client_for(Role.ORDER_REVIEWER).post(
        reverse("orders:phone_order"), {**PHONE, "lines": lines}
    )
    assert response.status_code == 400
    assert message in response.content
    assert not Order.objects.exists()
    assert staff_client_for(Role.FULFILLMENT).get(reverse("orders:phone_order")).status_code == 403


# Fixing an incoming order ---------------------------------------------------------------------


def test_a_reviewer_matches_an_unknown_line(staff_client_for, shopify_channel, stocked):
    from tests.orders.test_build_updates import incoming

    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(30, lines=[("OLD-SKU", 1, "9.00")]), "orders/create"),
    )
    line = built.order.lines.get()
    client = staff_client_for(Role.ORDER_REVIEWER)
    url = reverse("orders:line_match", args=[line.pk])

    page = client.get(url)
    wrong = client.post(url, {"sku": "NOT-THERE"})
    right = client.post(url, {"sku": "MUG-OCEAN"})

    assert page.status_code == 200
    assert b"OLD-SKU" in page.content
    assert wrong.status_code == 400
    assert b"No item has the SKU" in wrong.content
    assert right.status_code == 302
    line.refresh_from_db()
    assert line.variant == stocked["MUG-OCEAN"]
    assert staff_client_for(Role.FULFILLMENT).get(url).status_code == 403


def test_a_reviewer_chooses_the_method(staff_client_for, shopify_channel, stocked):
    from tests.orders.test_build_updates import incoming

    built = order_build(
        channel=shopify_channel,
        incoming=incoming(shopify_order(31, shipping_code="Teleport"), "orders/create"),
    )
    client = staff_client_for(Role.ORDER_REVIEWER)
    url = reverse("orders:order_method", args=[built.order.pk])

    refused = client.post(url, {"method": "store_pickup"})
    response = client.post(url, {"method": "local_delivery"})

    assert refused.status_code == 400
    assert response.status_code == 302
    built.order.refresh_from_db()
    assert built.order.fulfillment_method == Order.Method.LOCAL_DELIVERY
    assert built.order.review_reasons == []
