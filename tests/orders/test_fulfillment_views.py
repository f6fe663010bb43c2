"""Fulfillment pages through the client: happy path, permission, error case for each."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsdesk.core.roles import Role
from orders.models import CustomerNotice, PickList, Shipment
from orders.services.fulfillment import shipment_transition
from orders.services.notices import customer_notice_send
from orders.services.picking import pack_scan, shipment_pack_close, shipment_pick
from tests.catalog.factories import BarcodedVariantFactory
from tests.orders.fulfillment_factories import (
    approved_order,
    ensure_carrier,
    stocked_variant,
    warehouse,
)

pytestmark = pytest.mark.django_db
S = Shipment.Status


@pytest.fixture
def packer(staff_client_for):
    return staff_client_for(Role.FULFILLMENT)


@pytest.fixture
def shipment():
    wh = warehouse("Main warehouse")
    mug = stocked_variant(wh, bin="A-01", sku="MUG-1")
    return approved_order([(mug, 2)], email="ada@example.com").shipments.get()


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def picked(shipment):
    return shipment_pick(shipment_id=shipment.pk, actor=None)


def packed(shipment):
    shipment = picked(shipment)
    for line in shipment.lines.select_related("variant"):
        for _ in range(line.quantity):
            pack_scan(shipment_id=shipment.pk, code=line.variant.sku, actor=None)
    return shipment_pack_close(shipment_id=shipment.pk, actor=None)


# Home --------------------------------------------------------------------------------------


def test_home_shows_the_queues_of_a_location(packer, shipment):
    response = packer.get(reverse("orders:fulfillment"), {"location": shipment.location_id})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-shipment="{shipment.number}"' in body
    assert "Make a pick list" in body
    assert "Nothing to pack" in body


def test_home_row_links_lead_to_the_pages(packer, shipment):
    picked(shipment)
    response = packer.get(reverse("orders:fulfillment"), {"location": shipment.location_id})
    body = response.content.decode()
    assert f'href="{reverse("orders:pack", args=[shipment.pk])}"' in body
    assert f'href="{reverse("orders:shipment_detail", args=[shipment.pk])}"' in body


def test_home_empty_state_says_what_to_do(packer):
    response = packer.get(reverse("orders:fulfillment"))
    assert "There is no active store or warehouse" in response.content.decode()


@pytest.mark.parametrize("role", [Role.ORDER_REVIEWER, Role.CUSTOMER_SERVICE, Role.BOOKKEEPER])
def test_home_refuses_other_roles(staff_client_for, role):
    response = staff_client_for(role).get(reverse("orders:fulfillment"))
    assert response.status_code == 403


def test_home_sends_anonymous_to_login(client):
    response = client.get(reverse("orders:fulfillment"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def _count_home_queries(client, location_id) -> int:
    # What is kept in the cache (the session, the target time) is kept, as in real use.
    client.get(reverse("orders:fulfillment"), {"location": location_id})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("orders:fulfillment"), {"location": location_id})
    assert response.status_code == 200
    return len(captured)


def test_home_runs_a_fixed_number_of_queries(packer):
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=500)

    def add(n):
        for _ in range(n):
            s = approved_order([(mug, 1)]).shipments.get()
        return s

    add(2)
    picked(add(1))
    packed(add(1))
    small = _count_home_queries(packer, wh.pk)
    add(6)
    picked(add(3))
    packed(add(3))
    large = _count_home_queries(packer, wh.pk)
    assert small == large


def test_home_query_count_is_pinned(packer, django_assert_num_queries):
    wh = warehouse()
    mug = stocked_variant(wh, on_hand=50)
    for _ in range(3):
        approved_order([(mug, 1)])
    # The user with their roles, locations, counts, the queues, open pick lists, and the top
    # bar's own reads: the same however many rows.
    baseline = _count_home_queries(packer, wh.pk)
    for _ in range(5):
        approved_order([(mug, 1)])
    with django_assert_num_queries(baseline):
        packer.get(reverse("orders:fulfillment"), {"location": wh.pk})


# The shipment page -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.CUSTOMER_SERVICE, Role.MANAGER])
def test_shipment_page_for_fulfillment_and_customer_service(staff_client_for, shipment, role):
    response = staff_client_for(role).get(reverse("orders:shipment_detail", args=[shipment.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert shipment.number in body
    assert "MUG-1" in body
    assert "Mark picked" in body if role != Role.CUSTOMER_SERVICE else "Mark picked" not in body


def test_shipment_page_refuses_a_reviewer(staff_client_for, shipment):
    response = staff_client_for(Role.ORDER_REVIEWER).get(
        reverse("orders:shipment_detail", args=[shipment.pk])
    )
    assert response.status_code == 403
    assert shipment.number not in response.content.decode()


def test_unknown_shipment_is_404(packer):
    assert packer.get(reverse("orders:shipment_detail", args=[999999])).status_code == 404


def test_shipment_page_escapes_customer_text(packer):
    wh = warehouse()
    mug = stocked_variant(wh)
    order = approved_order(
        [(mug, 1)], shipping_address={"first_name": "<script>alert(1)</script>", "city": "X"}
    )
    response = packer.get(reverse("orders:shipment_detail", args=[order.shipments.get().pk]))
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_mark_picked_goes_to_the_pack_screen(packer, shipment):
    response = packer.post(reverse("orders:shipment_pick", args=[shipment.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:pack", args=[shipment.pk])
    shipment.refresh_from_db()
    assert (shipment.status, shipment.picked_by) == (S.PICKED, packer.user)


def test_mark_picked_twice_says_why_not(packer, shipment):
    picked(shipment)
    response = packer.post(reverse("orders:shipment_pick", args=[shipment.pk]))
    assert response.status_code == 302
    assert any("cannot become" in t for t in texts(response))


def test_mark_picked_needs_post(packer, shipment):
    assert packer.get(reverse("orders:shipment_pick", args=[shipment.pk])).status_code == 405


def test_cancel_shipment_from_its_page(packer, shipment):
    response = packer.post(
        reverse("orders:shipment_cancel", args=[shipment.pk]), {"reason": "Out of paint"}
    )
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == S.CANCELLED


def test_cancel_shipment_without_reason_is_refused(packer, shipment):
    response = packer.post(reverse("orders:shipment_cancel", args=[shipment.pk]), {"reason": ""})
    assert response.status_code == 200
    shipment.refresh_from_db()
    assert shipment.status == S.PENDING


# Pick lists --------------------------------------------------------------------------------


def test_pick_list_create_and_pages(packer, shipment):
    response = packer.post(
        reverse("orders:pick_list_create"),
        {"location": shipment.location_id, "shipments": [shipment.pk]},
    )
    pick_list = PickList.objects.get()
    assert response["Location"] == reverse("orders:pick_list_detail", args=[pick_list.pk])
    page = packer.get(response["Location"]).content.decode()
    assert "A-01" in page and "MUG-1" in page
    printed = packer.get(reverse("orders:pick_list_print", args=[pick_list.pk]))
    body = printed.content.decode()
    assert printed.status_code == 200
    assert 'data-barcode="' in body and "<svg" in body
    assert "A-01" in body


def test_pick_list_create_without_ticks_says_so(packer, shipment):
    response = packer.post(reverse("orders:pick_list_create"), {"location": shipment.location_id})
    assert response.status_code == 302
    assert any("Tick the shipments" in t for t in texts(response))
    assert not PickList.objects.exists()


def test_pick_list_create_refused_for_customer_service(staff_client_for, shipment):
    response = staff_client_for(Role.CUSTOMER_SERVICE).post(
        reverse("orders:pick_list_create"),
        {"location": shipment.location_id, "shipments": [shipment.pk]},
    )
    assert response.status_code == 403
    assert not PickList.objects.exists()


def test_pick_list_complete(packer, shipment):
    packer.post(
        reverse("orders:pick_list_create"),
        {"location": shipment.location_id, "shipments": [shipment.pk]},
    )
    pick_list = PickList.objects.get()
    response = packer.post(reverse("orders:pick_list_complete", args=[pick_list.pk]))
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == S.PICKED
    again = packer.post(reverse("orders:pick_list_complete", args=[pick_list.pk]))
    assert any("already" in t for t in texts(again))


def test_unknown_pick_list_is_404(packer):
    assert packer.get(reverse("orders:pick_list_detail", args=[424242])).status_code == 404
    assert packer.get(reverse("orders:pick_list_print", args=[424242])).status_code == 404


# Packing -----------------------------------------------------------------------------------


def test_pack_screen_scans_with_htmx(packer, shipment):
    picked(shipment)
    url = reverse("orders:pack", args=[shipment.pk])
    page = packer.get(url).content.decode()
    assert "autofocus" in page
    response = packer.post(url, {"code": "MUG-1"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "data-pack-ok" in body and "1 of 2" in body
    assert "<html" not in body  # the panel only


def test_pack_screen_refuses_a_wrong_item_loudly(packer, shipment):
    picked(shipment)
    other = BarcodedVariantFactory()
    response = packer.post(
        reverse("orders:pack", args=[shipment.pk]),
        {"code": other.barcode},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert "data-pack-warning" in body
    assert "Wrong item" in body
    assert shipment.lines.get().quantity_packed == 0


def test_pack_screen_without_htmx_redirects_with_a_message(packer, shipment):
    picked(shipment)
    response = packer.post(reverse("orders:pack", args=[shipment.pk]), {"code": "NOPE"})
    assert response.status_code == 302
    assert any("Wrong item" in t for t in texts(response))


def test_pack_close_refused_until_all_scanned(packer, shipment):
    picked(shipment)
    response = packer.post(reverse("orders:pack_close", args=[shipment.pk]))
    assert any("cannot close yet" in t for t in texts(response))
    for _ in range(2):
        pack_scan(shipment_id=shipment.pk, code="MUG-1", actor=None)
    response = packer.post(reverse("orders:pack_close", args=[shipment.pk]))
    assert response["Location"] == reverse("orders:shipment_detail", args=[shipment.pk])
    shipment.refresh_from_db()
    assert (shipment.status, shipment.packed_by) == (S.PACKED, packer.user)


def test_pack_restart(packer, shipment):
    picked(shipment)
    pack_scan(shipment_id=shipment.pk, code="MUG-1", actor=None)
    packer.post(reverse("orders:pack_reset", args=[shipment.pk]))
    assert shipment.lines.get().quantity_packed == 0


def test_pack_refused_for_a_reviewer(staff_client_for, shipment):
    picked(shipment)
    response = staff_client_for(Role.ORDER_REVIEWER).post(
        reverse("orders:pack", args=[shipment.pk]), {"code": "MUG-1"}
    )
    assert response.status_code == 403
    assert shipment.lines.get().quantity_packed == 0


def test_packing_slip(packer, shipment):
    response = packer.get(reverse("orders:packing_slip", args=[shipment.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-barcode="{shipment.number}"' in body
    assert "MUG-1" in body
    assert "Analytical Row" in body


# Shipping and resending --------------------------------------------------------------------


def test_ship_from_the_shipment_page(packer, shipment, django_capture_on_commit_callbacks):
    packed(shipment)
    carrier = ensure_carrier()
    with django_capture_on_commit_callbacks() as callbacks:
        response = packer.post(
            reverse("orders:ship", args=[shipment.pk]),
            {"carrier": carrier.pk, "tracking_number": "1Z42"},
        )
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number, shipment.shipped_by) == (
        S.SHIPPED,
        "1Z42",
        packer.user,
    )
    assert CustomerNotice.objects.filter(shipment=shipment).count() == 1
    assert len(callbacks) == 1
    assert any("shipped" in t for t in texts(response))


def test_ship_without_tracking_shows_the_error(packer, shipment):
    packed(shipment)
    response = packer.post(
        reverse("orders:ship", args=[shipment.pk]),
        {"carrier": ensure_carrier().pk, "tracking_number": ""},
    )
    assert response.status_code == 200
    assert "Not shipped" in response.content.decode()
    shipment.refresh_from_db()
    assert shipment.status == S.PACKED


def test_ship_refused_for_customer_service(staff_client_for, shipment):
    packed(shipment)
    response = staff_client_for(Role.CUSTOMER_SERVICE).post(
        reverse("orders:ship", args=[shipment.pk]),
        {"carrier": ensure_carrier().pk, "tracking_number": "1Z"},
    )
    assert response.status_code == 403
    shipment.refresh_from_db()
    assert shipment.status == S.PACKED


def _shipped_with_sent_notice(shipment):
    packed(shipment)
    from orders.services.picking import shipment_ship

    shipment_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="T", actor=None
    )
    notice = CustomerNotice.objects.get(shipment=shipment)
    customer_notice_send(notice_id=notice.pk)
    return notice


def test_customer_service_resends_a_notice(staff_client_for, shipment):
    notice = _shipped_with_sent_notice(shipment)
    clerk = staff_client_for(Role.CUSTOMER_SERVICE)
    response = clerk.post(reverse("orders:notice_resend", args=[notice.pk]))
    assert response["Location"] == reverse("orders:shipment_detail", args=[shipment.pk])
    assert CustomerNotice.objects.filter(shipment=shipment).count() == 2
    page = clerk.get(response["Location"]).content.decode()
    assert page.count('data-notice="shipped"') == 2


def test_resend_of_a_pending_notice_says_why_not(packer, shipment):
    packed(shipment)
    from orders.services.picking import shipment_ship

    shipment_ship(
        shipment_id=shipment.pk, carrier_id=ensure_carrier().pk, tracking_number="T", actor=None
    )
    notice = CustomerNotice.objects.get()
    response = packer.post(reverse("orders:notice_resend", args=[notice.pk]))
    assert any("still being sent" in t for t in texts(response))
    assert CustomerNotice.objects.count() == 1


def test_resend_refused_for_a_reviewer(staff_client_for, shipment):
    notice = _shipped_with_sent_notice(shipment)
    response = staff_client_for(Role.ORDER_REVIEWER).post(
        reverse("orders:notice_resend", args=[notice.pk])
    )
    assert response.status_code == 403
    assert CustomerNotice.objects.count() == 1


def test_order_panel_lists_shipments_and_notices(shipment, django_assert_num_queries):
    from django.template.loader import render_to_string

    from orders.selectors import order_get_for_detail

    notice = _shipped_with_sent_notice(shipment)
    # The order, lines, timeline, then its shipments and its notices.
    with django_assert_num_queries(5):
        order = order_get_for_detail(order_id=shipment.order_id)
    html = render_to_string(
        "orders/fulfillment/_order_panel.html", {"order": order, "csrf_token": "x"}
    )
    assert reverse("orders:shipment_detail", args=[shipment.pk]) in html
    assert reverse("orders:notice_resend", args=[notice.pk]) in html
    assert notice.subject in html


# Admin -------------------------------------------------------------------------------------


# The admin's forms (the admin pages come with orders/admin.py importing admin_fulfillment).


def test_admin_refuses_a_carrier_template_without_the_placeholder():
    from orders.admin_fulfillment import CarrierForm

    form = CarrierForm(
        {
            "name": "Local Post",
            "code": "local-post",
            "tracking_url_template": "https://post.example/track",
            "active": "on",
            "position": 0,
        }
    )
    assert not form.is_valid()
    assert "Put {tracking}" in str(form.errors["tracking_url_template"])
    form = CarrierForm({**form.data, "tracking_url_template": "https://post.example/t/{tracking}"})
    assert form.is_valid(), form.errors


def test_admin_refuses_a_notice_template_that_does_not_compile():
    from orders.admin_fulfillment import NoticeTemplateForm

    form = NoticeTemplateForm(
        {"kind": "shipped", "subject": "Hi", "body_text": "{% if %}", "body_html": ""}
    )
    assert not form.is_valid()
    assert "does not compile" in str(form.errors["body_text"])


def test_carriers_are_preset():
    from orders.models import Carrier

    names = set(Carrier.objects.values_list("name", flat=True))
    assert {"UPS", "USPS", "FedEx", "DHL Express", "Canada Post", "Royal Mail"} <= names
    assert all(
        "{tracking}" in t for t in Carrier.objects.values_list("tracking_url_template", flat=True)
    )


def test_transition_keeps_shipment_page_steps(packer, shipment):
    shipment_transition(shipment_id=shipment.pk, to_status=S.PICKING, actor=packer.user)
    body = packer.get(reverse("orders:shipment_detail", args=[shipment.pk])).content.decode()
    assert 'data-event="picking"' in body
