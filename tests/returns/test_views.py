"""Returns pages through the client: happy paths, permissions, errors, fixed query counts."""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from opsdesk.core.roles import Role
from orders.models import CustomerNotice
from returns.models import Refund, ReturnLine, ReturnRequest
from returns.services import refunds, requests
from tests.inventory.factories import LocationFactory
from tests.returns.factories import delivered_order, publish_policy

pytestmark = pytest.mark.django_db


def _ask(order, reason="wrong_item"):
    return requests.return_request_create(
        order_id=order.pk,
        lines={line.pk: line.quantity for line in order.lines.all()},
        reason=reason,
        actor=None,
    )


@pytest.fixture
def cs(staff_client_for):
    return staff_client_for(Role.CUSTOMER_SERVICE)


# Queues --------------------------------------------------------------------------------------


def test_queue_shows_open_returns(cs, policy):
    ret = _ask(delivered_order())
    response = cs.get(reverse("returns:queue"))
    assert response.status_code == 200
    assert ret.number in response.content.decode()


def test_queue_empty_state_says_what_to_do(cs):
    response = cs.get(reverse("returns:queue"))
    assert b"open a return" in response.content


def test_queue_refused_to_other_roles_and_anonymous(client, staff_client_for):
    response = staff_client_for(Role.FULFILLMENT).get(reverse("returns:queue"))
    assert response.status_code == 403
    assert client.get(reverse("returns:queue")).status_code == 302


@pytest.mark.parametrize("size", [1, 6])
def test_queue_runs_a_fixed_number_of_queries(cs, policy, size, django_assert_num_queries):
    for _ in range(size):
        _ask(delivered_order())
    cs.get(reverse("returns:queue"))  # the session cached after this
    # the user with their roles, returns, lines (prefetch)
    with django_assert_num_queries(3):
        response = cs.get(reverse("returns:queue"))
    assert response.content.decode().count('href="/returns/') >= size


@pytest.mark.parametrize("size", [1, 6])
def test_refund_queue_runs_a_fixed_number_of_queries(
    staff_client_for, size, django_assert_num_queries
):
    client = staff_client_for(Role.BOOKKEEPER)
    for _ in range(size):
        refunds.refund_create(
            order_id=delivered_order().pk,
            amount=Decimal("5.00"),
            method="original",
            actor=None,
            issue=False,
        )
    client.get(reverse("returns:refund_queue"))
    # the user with their roles, the refunds
    with django_assert_num_queries(2):
        response = client.get(reverse("returns:refund_queue"))
    assert response.content.decode().count("5.00 USD") == size


# Opening and working a return ----------------------------------------------------------------


def test_staff_open_a_return_from_an_order(cs, policy):
    order = delivered_order()
    first = order.lines.first()
    url = reverse("returns:new") + "?" + urlencode({"order": order.number})
    assert cs.get(url).status_code == 200
    response = cs.post(
        url, {f"qty_{first.pk}": "1", "reason": "wrong_item", "refund_method": "original"}
    )
    ret = ReturnRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == ret.get_absolute_url()
    assert ret.lines.get().quantity == 1 and ret.requested_by == cs.user


def test_staff_open_refusal_says_why(cs, policy):
    order = delivered_order(delivered_days_ago=60)
    first = order.lines.first()
    url = reverse("returns:new") + "?" + urlencode({"order": order.number})
    response = cs.post(
        url, {f"qty_{first.pk}": "1", "reason": "wrong_item", "refund_method": "original"}
    )
    assert response.status_code == 200
    assert "return window ended" in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_detail_shows_the_policy_version_that_applied(cs, policy):
    ret = _ask(delivered_order())
    publish_policy(window_days=10)
    response = cs.get(ret.get_absolute_url())
    assert f"policy version {policy.version}" in response.content.decode()


def test_approve_scan_inspect_refund_through_the_pages(cs, policy, role_user):
    order = delivered_order(lines=[(1, "20.00"), (1, "10.00")])
    ret = _ask(order)
    response = cs.post(reverse("returns:approve", args=[ret.pk]), follow=True)
    assert b"Approved" in response.content
    response = cs.post(reverse("returns:scan"), {"code": ret.number}, follow=True)
    assert b"received" in response.content
    store = LocationFactory()
    a, b = ret.lines.order_by("id")
    cs.post(
        reverse("returns:inspect", args=[ret.pk, a.pk]),
        {"outcome": "restock", "location": store.pk},
    )
    cs.post(reverse("returns:inspect", args=[ret.pk, b.pk]), {"outcome": "write_off"})
    assert set(ReturnLine.objects.values_list("outcome", flat=True)) == {"restock", "write_off"}
    page = cs.get(ret.get_absolute_url()).content.decode()
    assert "30.00" in page  # the amount is shown before it is issued
    response = cs.post(
        reverse("returns:refund", args=[ret.pk]), {"provider_reference": "re_42"}, follow=True
    )
    assert b"Refunded 30.00" in response.content
    assert Refund.objects.get().provider_reference == "re_42"


def test_decline_without_reason_is_refused_with_a_message(cs, policy):
    ret = _ask(delivered_order())
    response = cs.post(reverse("returns:decline", args=[ret.pk]), {"reason": ""}, follow=True)
    assert b"Say why" in response.content
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.REQUESTED


def test_scan_of_an_unknown_code_says_so(cs, policy):
    response = cs.post(reverse("returns:scan"), {"code": "R99999"})
    assert response.status_code == 200 and b"No return waiting" in response.content


def test_actions_need_post_and_the_role(cs, staff_client_for, policy):
    ret = _ask(delivered_order())
    assert cs.get(reverse("returns:approve", args=[ret.pk])).status_code == 405
    other = staff_client_for(Role.CONTENT_EDITOR)
    assert other.post(reverse("returns:approve", args=[ret.pk])).status_code == 403
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.REQUESTED


def test_refund_approval_needs_a_manager(cs, staff_client_for, policy):
    order = delivered_order(lines=[(1, "300.00")])
    refund = refunds.refund_create(
        order_id=order.pk, amount=Decimal("300.00"), method="original", actor=cs.user
    )
    assert refund.status == Refund.Status.AWAITING_APPROVAL
    url = reverse("returns:refund_approve", args=[refund.pk])
    assert cs.post(url, {"provider_reference": "x"}).status_code == 403
    manager = staff_client_for(Role.MANAGER)
    response = manager.post(url, {"provider_reference": "re_7"}, follow=True)
    assert b"Approved and issued" in response.content
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED


def test_refund_issue_without_reference_shows_the_error(staff_client_for):
    client = staff_client_for(Role.BOOKKEEPER)
    refund = refunds.refund_create(
        order_id=delivered_order().pk,
        amount=Decimal("5.00"),
        method="original",
        actor=None,
        issue=False,
    )
    response = client.post(reverse("returns:refund_issue", args=[refund.pk]), follow=True)
    assert b"refund reference" in response.content
    response = client.post(
        reverse("returns:refund_issue", args=[refund.pk]), {"provider_reference": "re_1"}
    )
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED


# The policy ----------------------------------------------------------------------------------


POLICY_POST = {
    "window_days": "30",
    "condition_required": "Unused",
    "return_shipping_paid_by": "customer",
    "refund_methods": ["original", "store_credit"],
    "reasons": "changed_mind | Changed my mind | 10 | yes\ndamaged | Arrived damaged | 0 | no",
    "refund_approval_threshold": "200.00",
    "public_requests_per_hour": "10",
    "extra_terms": "",
}


def test_owner_publishes_and_the_public_page_and_json_follow(staff_client_for, client):
    owner = staff_client_for(Role.OWNER)
    assert b"has not published" in client.get(reverse("returns:policy_page")).content
    assert json.loads(client.get(reverse("returns:policy_json")).content)["published"] is False
    response = owner.post(reverse("returns:policy_edit"), POLICY_POST, follow=True)
    assert b"Version 1 published" in response.content
    page = client.get(reverse("returns:policy_page")).content.decode()
    assert "within 30 days" in page and "restocking fee of 10%" in page
    owner.post(reverse("returns:policy_edit"), {**POLICY_POST, "window_days": "45"})
    page = client.get(reverse("returns:policy_page")).content.decode()
    assert "within 45 days" in page and "within 30 days" not in page
    doc = json.loads(client.get(reverse("returns:policy_json")).content)
    assert doc["version"] == 2 and doc["window_days"] == 45
    assert doc["reasons"][1]["item_must_be_returned_first"] is False


def test_policy_edit_refused_to_customer_service_and_bad_reasons_refused(cs, staff_client_for):
    assert cs.get(reverse("returns:policy_edit")).status_code == 403
    owner = staff_client_for(Role.OWNER)
    response = owner.post(reverse("returns:policy_edit"), {**POLICY_POST, "reasons": "oops"})
    assert response.status_code == 200 and b"Line 1" in response.content


def test_readiness_fails_until_a_policy_is_published():
    from opsdesk.processes.readiness import readiness_run

    def check():
        return next(r for r in readiness_run() if r.key == "returns-policy")

    assert check().ok is False
    publish_policy()
    assert check().ok is True


# The public form -----------------------------------------------------------------------------


def test_public_form_needs_both_number_and_e_mail(client, policy):
    order = delivered_order()
    url = reverse("returns:public_request")
    wrong_mail = client.post(url, {"number": order.number, "email": "someone@example.com"})
    no_order = client.post(url, {"number": "NOPE-1", "email": order.email})
    for response in (wrong_mail, no_order):
        body = response.content.decode()
        assert response.status_code == 200
        assert "could not find an order with that number" in body
        assert order.lines.first().title not in body
    assert client.get(reverse("returns:public_items")).status_code == 302


def test_public_request_creates_a_customer_return(client, policy):
    order = delivered_order()
    line = order.lines.first()
    response = client.post(
        reverse("returns:public_request"), {"number": order.number, "email": order.email.upper()}
    )
    assert response["Location"] == reverse("returns:public_items")
    page = client.get(response["Location"]).content.decode()
    assert line.title in page
    response = client.post(
        reverse("returns:public_items"),
        {f"qty_{line.pk}": "1", "reason": "damaged", "refund_method": "original"},
        follow=True,
    )
    ret = ReturnRequest.objects.get()
    assert ret.source == ReturnRequest.Source.CUSTOMER and ret.requested_by is None
    assert ret.number in response.content.decode()


def test_public_form_is_rate_limited_per_address(client, policy):
    url = reverse("returns:public_request")
    for _ in range(policy.public_requests_per_hour):
        assert client.post(url, {"number": "X", "email": "a@example.com"}).status_code == 200
    order = delivered_order()
    response = client.post(url, {"number": order.number, "email": order.email})
    assert response.status_code == 429
    other = client.post(url, {"number": order.number, "email": order.email}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_public_form_without_policy_says_it_is_closed(client):
    assert b"not open yet" in client.get(reverse("returns:public_request")).content


def test_customer_e_mails_are_written(policy):
    ret = _ask(delivered_order())
    requests.return_approve(return_id=ret.pk, actor=None)
    notice = CustomerNotice.objects.get(kind="return_instructions")
    assert ret.number in notice.subject and ret.number in notice.body_text
