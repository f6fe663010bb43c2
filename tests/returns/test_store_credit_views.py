"""The store credit page: balance, history, and spending it on a later order."""

from decimal import Decimal

import pytest
from django.urls import reverse

from opsdesk.core.roles import Role
from returns.models import RefundMethod, StoreCreditAccount
from returns.services import requests
from tests.returns.factories import delivered_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def credited(policy):
    """A customer with 50.00 of store credit from a refund, and a later order of theirs."""
    order = delivered_order()
    ret = requests.return_request_create(
        order_id=order.pk,
        lines={line.pk: line.quantity for line in order.lines.all()},
        reason="damaged",
        refund_method=RefundMethod.STORE_CREDIT,
        actor=None,
    )
    requests.return_approve(return_id=ret.pk, actor=None)
    requests.return_refund(return_id=ret.pk, actor=None)
    later = delivered_order(customer=order.customer)
    return order.customer, later


def _page(customer):
    return reverse("returns:store_credit", args=[customer.pk])


def test_the_page_shows_the_balance_and_where_it_came_from(staff_client_for, credited):
    customer, _ = credited
    response = staff_client_for(Role.CUSTOMER_SERVICE).get(_page(customer))
    assert response.status_code == 200
    assert "50.00" in response.text
    assert response.text.count("data-credit-entry") == 1


def test_spending_it_on_a_later_order_lowers_the_balance(staff_client_for, credited):
    customer, later = credited
    client = staff_client_for(Role.CUSTOMER_SERVICE)
    response = client.post(_page(customer), {"order": later.number, "amount": "30.00"}, follow=True)
    assert "30.00 of store credit spent on order" in response.text
    assert StoreCreditAccount.objects.get(customer=customer).balance == Decimal("20.00")
    assert response.text.count("data-credit-entry") == 2


@pytest.mark.parametrize(
    ("order", "amount", "message"),
    [
        ("NOPE-1", "10.00", "has no order numbered NOPE-1"),
        (None, "80.00", "The customer has 50.00 of store credit, not 80.00."),
        (None, "0", "Ensure this value is greater than or equal to 0.01."),
    ],
)
def test_bad_spending_is_refused_and_changes_nothing(
    staff_client_for, credited, order, amount, message
):
    customer, later = credited
    client = staff_client_for(Role.CUSTOMER_SERVICE)
    response = client.post(
        _page(customer), {"order": order or later.number, "amount": amount}, follow=True
    )
    assert message in response.text
    assert StoreCreditAccount.objects.get(customer=customer).balance == Decimal("50.00")


def test_another_customers_order_cannot_take_the_credit(staff_client_for, credited):
    customer, _ = credited
    stranger = delivered_order()
    response = staff_client_for(Role.CUSTOMER_SERVICE).post(
        _page(customer), {"order": stranger.number, "amount": "10.00"}
    )
    assert "has no order numbered" in response.text
    assert StoreCreditAccount.objects.get(customer=customer).balance == Decimal("50.00")


def test_the_page_needs_a_refunds_role(staff_client_for, credited):
    customer, _ = credited
    assert staff_client_for(Role.FULFILLMENT).get(_page(customer)).status_code == 403
    assert staff_client_for(Role.BOOKKEEPER).get(_page(customer)).status_code == 200
