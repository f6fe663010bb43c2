"""risk_assess: the result on the order, and where the order goes next."""

import pytest
from django.contrib.contenttypes.models import ContentType

from opsdesk.notifications.models import Notification
from opsdesk.processes.models import WorkItem
from orders.models import FraudRule, FraudSettings, Order, OrderEvent, RiskAssessment
from orders.services.fraud import HIGH_RISK_REASON, risk_assess
from orders.signals import order_approved
from tests.orders.factories import ChannelFactory, CustomerFactory, order_with_lines
from tests.processes.factories import UserFactory, process

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_duty():
    """A primary for order review and one for fraud review (reached as the fall-back)."""
    people = {}
    for key, name in (("order_review", "rita"), ("fraud_review", "fred")):
        person = UserFactory(username=name)
        proc = process(key)
        proc.primary = person
        proc.save()
        people[key] = person
    return people


def items(order, key):
    return WorkItem.objects.filter(
        process__key=key,
        source_type=ContentType.objects.get_for_model(Order),
        source_id=order.pk,
    )


def events(order):
    return list(order.events.order_by("id").values_list("type", flat=True))


@pytest.fixture
def approvals():
    seen = []

    def receiver(sender, order, actor, **kwargs):
        seen.append((order.pk, actor))

    order_approved.connect(receiver)
    yield seen
    order_approved.disconnect(receiver)


def test_assessment_is_saved_on_the_order_with_its_indicators(on_duty):
    order = order_with_lines(avs_result="N")

    assessment = risk_assess(order_id=order.pk)

    assert (assessment.score, assessment.level) == (20, "low")
    assert assessment.indicators == [
        {
            "code": "avs_no_match",
            "points": 20,
            "sentence": (
                "The card's address check failed (AVS N: neither the street nor the postcode "
                "matched)."
            ),
            "raises": True,
        }
    ]
    order.refresh_from_db()
    assert (order.risk_score, order.risk_level) == (20, "low")
    assessed = order.events.get(type=OrderEvent.Type.RISK_ASSESSED)
    assert assessed.data["score"] == 20
    assert assessed.actor is None


def test_high_risk_holds_the_order_and_tells_fraud_review(on_duty):
    order = order_with_lines(customer=CustomerFactory(fraud_flag=True))

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.ON_HOLD
    assert order.hold_reason == HIGH_RISK_REASON
    assert events(order) == [OrderEvent.Type.RISK_ASSESSED, OrderEvent.Type.HELD]
    held = order.events.get(type=OrderEvent.Type.HELD)
    assert held.data["reason"] == HIGH_RISK_REASON
    assert (held.from_status, held.to_status, held.actor) == ("received", "on_hold", None)
    assert items(order, "fraud_review").filter(status="open").count() == 1
    assert not items(order, "order_review").exists()
    note = Notification.objects.get(process__key="fraud_review")
    assert note.recipient == on_duty["fraud_review"]
    assert order.number in note.subject
    assert note.link == order.get_absolute_url()


def test_low_risk_is_approved_automatically_when_the_channel_allows(on_duty, approvals):
    channel = ChannelFactory(auto_approve_low_risk=True)
    order = order_with_lines(channel=channel)

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.APPROVED
    assert events(order) == [OrderEvent.Type.RISK_ASSESSED, OrderEvent.Type.AUTO_APPROVED]
    assert order.events.get(type=OrderEvent.Type.AUTO_APPROVED).actor is None
    assert approvals == [(order.pk, None)]
    assert not WorkItem.objects.exists()
    assert not Notification.objects.exists()


def test_low_risk_with_a_review_reason_waits_for_review_even_with_auto_approval(on_duty):
    channel = ChannelFactory(auto_approve_low_risk=True)
    order = order_with_lines(channel=channel, review_reasons=["Unknown SKU MUG-9 on line 2"])

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW
    sent = order.events.get(type=OrderEvent.Type.SENT_TO_REVIEW)
    assert sent.data == {"level": "low", "reasons": ["Unknown SKU MUG-9 on line 2"]}


def test_low_risk_with_an_unmatched_line_is_not_approved_automatically(on_duty):
    channel = ChannelFactory(auto_approve_low_risk=True)
    order = order_with_lines(channel=channel)
    order.lines.update(variant=None)

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW


def test_low_risk_waits_for_review_when_the_channel_does_not_allow_auto_approval(on_duty):
    order = order_with_lines(channel=ChannelFactory(auto_approve_low_risk=False))

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW
    item = items(order, "order_review").get()
    assert item.title == f"Order {order.number}"
    assert item.link == order.get_absolute_url()
    assert item.status == WorkItem.Status.OPEN
    note = Notification.objects.get(process__key="order_review")
    assert note.recipient == on_duty["order_review"]


def test_medium_risk_waits_for_review_even_with_auto_approval(on_duty):
    channel = ChannelFactory(auto_approve_low_risk=True)
    order = order_with_lines(channel=channel, customer=CustomerFactory(chargebacks=1))

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert (order.risk_level, order.status) == ("medium", Order.Status.AWAITING_REVIEW)
    assert items(order, "order_review").count() == 1


def test_assessing_twice_changes_nothing_the_second_time(on_duty):
    order = order_with_lines(avs_result="N")
    first = risk_assess(order_id=order.pk)
    before = events(order)

    again = risk_assess(order_id=order.pk)

    assert again.pk == first.pk
    assert events(order) == before
    assert items(order, "order_review").count() == 1
    assert Notification.objects.count() == 1


def test_forced_reassessment_records_the_new_result_without_routing(on_duty):
    order = order_with_lines()
    risk_assess(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(cvv_result="N", avs_result="N")

    assessment = risk_assess(order_id=order.pk, force=True)

    assert (assessment.score, assessment.level) == (45, "medium")
    assert RiskAssessment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW
    assert events(order).count(OrderEvent.Type.RISK_ASSESSED) == 2


def test_routing_works_without_rule_rows_or_settings(on_duty):
    FraudRule.objects.all().delete()
    FraudSettings.objects.all().delete()
    order = order_with_lines(customer=CustomerFactory(fraud_flag=True))

    risk_assess(order_id=order.pk)

    order.refresh_from_db()
    assert (order.risk_level, order.status) == ("high", Order.Status.ON_HOLD)
