"""Pages of the drop-ship, pickup and local-delivery flows: happy paths, permissions (R23),
errors, and fixed query counts on the queues."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.roles import ALL_ROLES, Role
from orders.models import DeliveryWindow, DeliveryZone, Shipment
from orders.services.dropship import vendor_link_token
from orders.services.pickup import pickup_mark_ready
from orders.urls_flows import urlpatterns
from tests.orders.fulfillment_factories import ensure_carrier
from tests.orders.test_flows_support import (
    S,
    delivery_shipment,
    delivery_zone,
    dropship_shipment,
    pickup_shipment,
    pickup_store,
)

pytestmark = pytest.mark.django_db
FLOW_ROLES = {Role.FULFILLMENT, Role.OWNER, Role.MANAGER, Role.ADMIN}
HANDOVER_ROLES = {*FLOW_ROLES, Role.CUSTOMER_SERVICE}
ZONE_ROLES = {Role.OWNER, Role.MANAGER, Role.ADMIN}
ALLOWED = {
    "pickup_index": HANDOVER_ROLES,
    "pickup_handover": HANDOVER_ROLES,
    "zone_list": ZONE_ROLES,
    "zone_edit": ZONE_ROLES,
    "zone_window_save": ZONE_ROLES,
    "vendor_shipment": None,
}


@pytest.fixture
def fulfillment(staff_client_for):
    return staff_client_for(Role.FULFILLMENT)


def ready(store=None):
    shipment = pickup_shipment(store)
    return pickup_mark_ready(shipment_id=shipment.pk, actor=None)


# Permissions (R23) -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_every_flow_page_answers_each_role_as_declared(client, role_user, role):
    shipment = ready()
    zone = DeliveryZone.objects.create(name="Z", postcodes="1")
    ids = {"location_id": shipment.pickup_location_id, "pk": shipment.pk, "token": "x"}
    if role != "anonymous":
        client.force_login(role_user(role))
    for pattern in urlpatterns:
        name = pattern.name
        kwargs = {k: ids[k] for k in pattern.pattern.converters}
        if name.startswith("zone_") and "pk" in kwargs:
            kwargs["pk"] = zone.pk
        response = client.get(reverse(f"orders:{name}", kwargs=kwargs))
        allowed = ALLOWED.get(name, FLOW_ROLES)
        if allowed is None:
            assert response.status_code == 400, name  # a bad link, whoever asks
        elif role == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif role in allowed:
            assert response.status_code in (200, 404, 405), (name, role)
        else:
            assert response.status_code == 403, (name, role)
            assert shipment.number.encode() not in response.content
            assert shipment.pickup_code.encode() not in response.content


def test_another_stores_shipment_is_not_found_and_unchanged(fulfillment):
    picked = pickup_shipment(pickup_store("Mall"))
    other = pickup_store("Station")
    url = reverse("orders:pickup_mark_ready", args=[other.pk, picked.pk])
    response = fulfillment.post(url)
    assert response.status_code == 404
    assert picked.number.encode() not in response.content
    assert Shipment.objects.get(pk=picked.pk).status == S.PICKED
    waiting = ready(pickup_store("Mall"))
    response = fulfillment.post(reverse("orders:pickup_cancel", args=[other.pk, waiting.pk]))
    assert response.status_code == 404
    assert Shipment.objects.get(pk=waiting.pk).status == S.READY_FOR_PICKUP


def test_another_stores_queue_does_not_list_this_stores_orders(fulfillment):
    shipment = ready(pickup_store("Mall"))
    other = pickup_store("Station")
    response = fulfillment.get(reverse("orders:pickup_queue", args=[other.pk]))
    assert response.status_code == 200
    assert shipment.number.encode() not in response.content
    assert shipment.pickup_code.encode() not in response.content


def test_a_location_that_takes_no_pickups_is_not_found(fulfillment):
    from tests.orders.fulfillment_factories import warehouse

    response = fulfillment.get(reverse("orders:pickup_queue", args=[warehouse().pk]))
    assert response.status_code == 404


def test_flow_pages_refuse_a_shipment_of_another_method(fulfillment):
    shipment = pickup_shipment()
    assert (
        fulfillment.get(reverse("orders:local_delivery_shipment", args=[shipment.pk])).status_code
        == 404
    )
    assert fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk])).status_code == 404


# Pickup ------------------------------------------------------------------------------------


def test_pickup_queue_lists_what_to_shelve_and_what_waits(fulfillment):
    store = pickup_store()
    picked = pickup_shipment(store)
    waiting = ready(store)
    response = fulfillment.get(reverse("orders:pickup_queue", args=[store.pk]))
    body = response.content.decode()
    assert picked.number in body and waiting.number in body
    assert waiting.pickup_code not in body  # the customer's proof, e-mailed to them only
    assert reverse("orders:pickup_mark_ready", args=[store.pk, picked.pk]) in body


def test_pickup_queue_empty_state_says_what_to_do(fulfillment):
    response = fulfillment.get(reverse("orders:pickup_queue", args=[pickup_store().pk]))
    assert b"Nothing to put on the shelf" in response.content
    assert b"Mark picked orders ready for pickup" in response.content


def test_mark_ready_from_the_queue_flashes_without_the_code(fulfillment):
    shipment = pickup_shipment()
    url = reverse("orders:pickup_mark_ready", args=[shipment.pickup_location_id, shipment.pk])
    response = fulfillment.post(url, follow=True)
    shipment.refresh_from_db()
    assert shipment.status == S.READY_FOR_PICKUP
    body = response.content.decode()
    assert "ready for pickup; the customer is e-mailed the code" in body
    assert shipment.pickup_code not in body


def test_mark_ready_twice_shows_the_reason(fulfillment):
    shipment = ready()
    url = reverse("orders:pickup_mark_ready", args=[shipment.pickup_location_id, shipment.pk])
    response = fulfillment.post(url, follow=True)
    assert b"cannot be marked ready" in response.content


def test_mark_ready_needs_csrf(role_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user(Role.FULFILLMENT))
    shipment = pickup_shipment()
    url = reverse("orders:pickup_mark_ready", args=[shipment.pickup_location_id, shipment.pk])
    assert client.post(url).status_code == 403
    assert Shipment.objects.get(pk=shipment.pk).status == S.PICKED


def test_handover_checks_the_code_then_hands_over(staff_client_for):
    client = staff_client_for(Role.CUSTOMER_SERVICE)
    shipment = ready()
    url = reverse("orders:pickup_handover", args=[shipment.pickup_location_id])
    page = client.get(url)
    assert b"autofocus" in page.content
    check = client.post(url, {"action": "check", "code": shipment.pickup_code})
    assert shipment.number.encode() in check.content and b"Hand over" in check.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.READY_FOR_PICKUP
    done = client.post(url, {"action": "hand_over", "code": shipment.pickup_code}, follow=True)
    assert f"Handed over: {shipment.number}" in done.content.decode()
    shipment.refresh_from_db()
    assert shipment.status == S.PICKED_UP and shipment.handed_over_by == client.user


def test_handover_with_a_wrong_code_says_nothing_about_orders(fulfillment):
    shipment = ready()
    url = reverse("orders:pickup_handover", args=[shipment.pickup_location_id])
    response = fulfillment.post(url, {"action": "hand_over", "code": "WRONG1"})
    assert response.status_code == 200
    assert b"No order ready for pickup at this store matches that" in response.content
    assert shipment.number.encode() not in response.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.READY_FOR_PICKUP


def test_handover_escapes_what_was_typed(fulfillment):
    store = pickup_store()
    url = reverse("orders:pickup_handover", args=[store.pk])
    response = fulfillment.post(
        url, {"action": "check", "order_number": "<script>x</script>", "last_name": "<b>y"}
    )
    assert b"<script>x</script>" not in response.content


def test_cancel_uncollected_from_the_queue(fulfillment):
    shipment = ready()
    url = reverse("orders:pickup_cancel", args=[shipment.pickup_location_id, shipment.pk])
    response = fulfillment.post(url, {"reason": "Customer never came"}, follow=True)
    assert b"put its items back on the shelves" in response.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.CANCELLED


def test_pickup_index_counts_per_store(staff_client_for):
    store = pickup_store()
    ready(store)
    response = staff_client_for(Role.CUSTOMER_SERVICE).get(reverse("orders:pickup_index"))
    assert store.name.encode() in response.content and b"1 waiting" in response.content


# Drop ship ---------------------------------------------------------------------------------


def test_dropship_list_send_resend_and_manual_tracking(fulfillment):
    shipment = dropship_shipment()
    listing = fulfillment.get(reverse("orders:dropship_list"))
    assert shipment.number.encode() in listing.content and b"Send to vendor" in listing.content
    send = fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk]), follow=True)
    assert b"sent to the vendor" in send.content
    resend = fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk]), follow=True)
    assert b"A new link" in resend.content
    carrier = ensure_carrier()
    bad = fulfillment.post(
        reverse("orders:dropship_tracking", args=[shipment.pk]),
        {"carrier": carrier.pk, "tracking_number": "<x>"},
        follow=True,
    )
    assert b"only letters" in bad.content
    shipped = fulfillment.post(
        reverse("orders:dropship_tracking", args=[shipment.pk]),
        {"carrier": carrier.pk, "tracking_number": "1Z1"},
        follow=True,
    )
    assert b"shipped; the customer gets the tracking link" in shipped.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.SHIPPED


def test_dropship_list_empty_state(fulfillment):
    assert (
        b"No drop-ship orders waiting" in fulfillment.get(reverse("orders:dropship_list")).content
    )


def test_vendor_page_needs_no_login_and_shows_only_its_shipment(client, fulfillment):
    shipment = dropship_shipment()
    other = dropship_shipment(vendor_email="other@vendor.example")
    fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk]))
    shipment.refresh_from_db()
    url = reverse("orders:vendor_shipment", args=[vendor_link_token(shipment)])
    page = client.get(url)
    assert page.status_code == 200
    assert shipment.number.encode() in page.content and b"12 Analytical Row" in page.content
    assert other.number.encode() not in page.content
    assert b"csrfmiddlewaretoken" in page.content
    confirm = client.post(url, {"action": "confirm"}, follow=True)
    assert b"the order is confirmed" in confirm.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.VENDOR_CONFIRMED
    carrier = ensure_carrier()
    done = client.post(
        url, {"action": "ship", "carrier": carrier.pk, "tracking_number": "1Z55"}, follow=True
    )
    assert b"tracking number is recorded" in done.content
    shipment.refresh_from_db()
    assert shipment.status == S.SHIPPED and shipment.tracking_number == "1Z55"
    assert shipment.shipped_by is None


def test_vendor_page_with_a_tampered_link_shows_a_clear_page_and_changes_nothing(client):
    shipment = dropship_shipment()
    token = vendor_link_token(shipment)
    url = reverse("orders:vendor_shipment", args=[token[:-3] + "abc"])
    response = client.post(url, {"action": "confirm"})
    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert shipment.number.encode() not in response.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.PENDING


def test_vendor_page_needs_csrf(fulfillment):
    shipment = dropship_shipment()
    fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk]))
    client = Client(enforce_csrf_checks=True)
    url = reverse("orders:vendor_shipment", args=[vendor_link_token(shipment)])
    assert client.post(url, {"action": "confirm"}).status_code == 403
    assert Shipment.objects.get(pk=shipment.pk).status == S.VENDOR_PENDING


def test_vendor_page_tracking_error_is_shown_on_the_form(client, fulfillment):
    shipment = dropship_shipment()
    fulfillment.post(reverse("orders:dropship_send", args=[shipment.pk]))
    url = reverse("orders:vendor_shipment", args=[vendor_link_token(shipment)])
    response = client.post(
        url, {"action": "ship", "carrier": ensure_carrier().pk, "tracking_number": "!!"}
    )
    assert response.status_code == 200 and b"only letters" in response.content


# Local delivery ----------------------------------------------------------------------------


def test_schedule_out_and_deliver_through_the_pages(fulfillment):
    window = delivery_zone()
    shipment = delivery_shipment()
    page = fulfillment.get(reverse("orders:local_delivery_shipment", args=[shipment.pk]))
    assert window.zone.name.encode() in page.content
    on = timezone.localdate() + timedelta(days=1)
    response = fulfillment.post(
        reverse("orders:local_delivery_schedule", args=[shipment.pk]),
        {"date": on.isoformat(), "window": window.pk, "driver": fulfillment.user.pk},
        follow=True,
    )
    assert b"is scheduled for" in response.content
    response = fulfillment.post(
        reverse("orders:local_delivery_out", args=[shipment.pk]), follow=True
    )
    assert b"is out for delivery" in response.content
    response = fulfillment.post(
        reverse("orders:local_delivery_done", args=[shipment.pk]),
        {"note": "Porch"},
        follow=True,
    )
    assert b"delivered." in response.content
    assert Shipment.objects.get(pk=shipment.pk).status == S.DELIVERED


def test_schedule_error_is_shown_on_the_form(fulfillment):
    window = delivery_zone(capacity=1)
    shipment = delivery_shipment()
    response = fulfillment.post(
        reverse("orders:local_delivery_schedule", args=[shipment.pk]),
        {
            "date": (timezone.localdate() - timedelta(days=1)).isoformat(),
            "window": window.pk,
            "driver": fulfillment.user.pk,
        },
    )
    assert response.status_code == 200 and b"in the past" in response.content


def test_failed_needs_a_reason_on_the_page(fulfillment):
    window = delivery_zone()
    shipment = delivery_shipment()
    from orders.services.delivery import delivery_out, delivery_schedule

    delivery_schedule(
        shipment_id=shipment.pk,
        date=timezone.localdate(),
        window_id=window.pk,
        driver_id=fulfillment.user.pk,
        actor=None,
    )
    delivery_out(shipment_id=shipment.pk, actor=None)
    url = reverse("orders:local_delivery_failed", args=[shipment.pk])
    assert b"This field is required" in fulfillment.post(url, {"reason": ""}).content
    response = fulfillment.post(url, {"reason": "Gate locked"}, follow=True)
    assert b"schedule it again" in response.content
    assert b"Reschedule" in response.content


def test_route_sheet_groups_each_drivers_stops_by_window(fulfillment, role_user):
    from datetime import time

    from orders.services.delivery import delivery_schedule

    early = delivery_zone()
    late = DeliveryWindow.objects.create(
        zone=early.zone, weekdays=list(range(7)), starts=time(14), ends=time(17)
    )
    other_driver = role_user(Role.FULFILLMENT, first_name="Zed")
    on = timezone.localdate() + timedelta(days=1)
    rows = []
    for window, driver in (
        (late, fulfillment.user),
        (early, fulfillment.user),
        (early, other_driver),
    ):
        shipment = delivery_shipment()
        delivery_schedule(
            shipment_id=shipment.pk, date=on, window_id=window.pk, driver_id=driver.pk, actor=None
        )
        rows.append(shipment)
    response = fulfillment.get(
        reverse("orders:route_sheet"), {"date": on.isoformat(), "driver": fulfillment.user.pk}
    )
    body = response.content.decode()
    assert rows[0].number in body and rows[1].number in body and rows[2].number not in body
    assert body.index("09:00–12:00") < body.index("14:00–17:00")
    assert body.index(rows[1].number) < body.index(rows[0].number)
    everyone = fulfillment.get(reverse("orders:route_sheet"), {"date": on.isoformat()})
    assert everyone.content.decode().count("data-driver") == 2


def test_route_sheet_empty_day(fulfillment):
    response = fulfillment.get(reverse("orders:route_sheet"))
    assert b"No deliveries scheduled on this day" in response.content


def test_zone_pages_add_a_zone_and_a_window(staff_client_for):
    manager = staff_client_for(Role.MANAGER)
    response = manager.post(
        reverse("orders:zone_list"),
        {"name": "Centre", "postcodes": "62701, 627*", "fee": "4.50", "active": "on"},
        follow=True,
    )
    assert b"Zone Centre added" in response.content
    zone = DeliveryZone.objects.get(name="Centre")
    response = manager.post(
        reverse("orders:zone_window_save", args=[zone.pk]),
        {
            "new-weekdays": ["0", "2"],
            "new-starts": "09:00",
            "new-ends": "12:00",
            "new-capacity": "8",
            "new-active": "on",
        },
        follow=True,
    )
    assert b"Window added" in response.content
    assert zone.windows.get().weekdays == [0, 2]
    bad = manager.post(reverse("orders:zone_list"), {"name": "Bad", "postcodes": "9*9", "fee": "0"})
    assert b"is not a postcode" in bad.content


# Fixed query counts ------------------------------------------------------------------------


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # what is kept in the cache (targets, choices) is kept, as in real use
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pickup_queue_runs_a_fixed_number_of_queries(fulfillment, django_assert_num_queries):
    store = pickup_store()
    url = reverse("orders:pickup_queue", args=[store.pk])
    ready(store)
    pickup_shipment(store)
    small = _count_queries(fulfillment, url)
    for _ in range(4):
        ready(store)
        pickup_shipment(store)
    with django_assert_num_queries(small):
        fulfillment.get(url)


@pytest.mark.parametrize("name", ["dropship_list", "local_delivery_queue", "route_sheet"])
def test_flow_lists_run_a_fixed_number_of_queries(fulfillment, django_assert_num_queries, name):
    url = reverse(f"orders:{name}")
    window = delivery_zone(capacity=20)
    from orders.services.delivery import delivery_schedule

    def add():
        dropship_shipment(vendor_email=f"v{Shipment.objects.count()}@vendor.example")
        shipment = delivery_shipment()
        delivery_schedule(
            shipment_id=shipment.pk,
            date=timezone.localdate(),
            window_id=window.pk,
            driver_id=fulfillment.user.pk,
            actor=None,
        )

    add()
    small = _count_queries(fulfillment, url)
    for _ in range(3):
        add()
    with django_assert_num_queries(small):
        fulfillment.get(url)


def test_queues_mark_late_work(fulfillment):
    store = pickup_store()
    late = pickup_shipment(store)
    Shipment.objects.filter(pk=late.pk).update(picked_at=timezone.now() - timedelta(hours=5))
    pickup_shipment(store)
    body = fulfillment.get(reverse("orders:pickup_queue", args=[store.pk])).content.decode()
    assert body.count("data-late") == 1
    pending = dropship_shipment()
    Shipment.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=3))
    dropship_shipment(vendor_email="fresh@vendor.example")
    body = fulfillment.get(reverse("orders:dropship_list")).content.decode()
    assert body.count("data-late") == 1
