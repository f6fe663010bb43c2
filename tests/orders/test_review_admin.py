"""The orders admin: read-mostly; fraud rules and thresholds editable; the action calls the
bulk-approval service."""

import pytest
from django.urls import reverse

from orders.models import FraudRule, Order, OrderEvent
from tests.orders.factories import order_with_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_order(admin_client):
    order = order_with_lines(status=Order.Status.AWAITING_REVIEW, risk_level="low")
    OrderEvent.objects.create(order=order, type=OrderEvent.Type.RECEIVED)
    return admin_client, order


@pytest.mark.parametrize(
    "model",
    [
        "channel",
        "customer",
        "order",
        "orderevent",
        "fraudrule",
        "fraudsettings",
        "riskassessment",
        "webhookdelivery",
    ],
)
def test_every_orders_admin_list_opens(admin_client_order, model):
    client, _ = admin_client_order
    assert client.get(reverse(f"admin:orders_{model}_changelist")).status_code == 200


def test_orders_and_their_timeline_are_read_only(admin_client_order):
    client, order = admin_client_order
    event = order.events.get()
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    assert b'name="status"' not in response.content
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    delete = reverse("admin:orders_orderevent_delete", args=[event.pk])
    assert client.post(delete).status_code == 403


def test_the_admin_edits_a_rules_weight(admin_client):
    rule = FraudRule.objects.get(code="many_units")
    response = admin_client.post(
        reverse("admin:orders_fraudrule_change", args=[rule.pk]),
        {"name": rule.name, "enabled": "on", "weight": "33", "params": '{"units": 20}'},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.weight, rule.params) == (33, {"units": 20})


def test_the_admin_action_approves_low_risk_orders_and_reports_the_rest(admin_client_order):
    client, low = admin_client_order
    medium = order_with_lines(status=Order.Status.AWAITING_REVIEW, risk_level="medium")
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "approve_low_risk", "_selected_action": [low.pk, medium.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Approved 1 order(s)." in text
    assert f"Order {medium.number} was not approved: its risk is medium, not low." in text
    low.refresh_from_db()
    assert low.status == Order.Status.APPROVED
