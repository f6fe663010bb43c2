"""Returns services: eligibility under every policy rule, the flow, refunds and their rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Product
from inventory.models import StockLevel, StockMovement
from opsdesk.core.roles import Role
from opsdesk.processes.models import WorkItem
from orders.models import CustomerNotice, Order, OrderEvent
from returns.models import (
    Refund,
    RefundMethod,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    StoreCreditAccount,
)
from returns.services import refunds, requests
from returns.services.policy import policy_current
from tests.inventory.factories import LocationFactory
from tests.returns.factories import delivered_order, publish_policy

pytestmark = pytest.mark.django_db


def _ask(order, reason="changed_mind", lines=None, **kwargs):
    lines = lines or {line.pk: line.quantity for line in order.lines.all()}
    return requests.return_request_create(
        order_id=order.pk, lines=lines, reason=reason, actor=None, **kwargs
    )


def _messages(exc) -> str:
    return " ".join(exc.value.messages)


# Eligibility ---------------------------------------------------------------------------------


def test_request_refused_while_no_policy_is_published():
    order = delivered_order()
    with pytest.raises(ValidationError) as exc:
        _ask(order)
    assert "No return policy is published" in _messages(exc)
    assert ReturnRequest.objects.count() == 0


def test_request_records_the_policy_version_that_applied(policy):
    order = delivered_order()
    ret = _ask(order)
    newer = publish_policy(window_days=60)
    ret.refresh_from_db()
    assert newer.version == policy.version + 1
    assert ret.policy_id == policy.pk
    assert _ask(delivered_order()).policy_id == newer.pk


def test_request_refused_after_the_window_saying_when_it_ended(policy):
    order = delivered_order(delivered_days_ago=31)
    with pytest.raises(ValidationError) as exc:
        _ask(order)
    assert "30-day return window ended on" in _messages(exc)
    assert ReturnRequest.objects.count() == 0


def test_request_inside_the_window_on_its_last_day(policy):
    order = delivered_order(delivered_days_ago=29)
    assert _ask(order).status == ReturnRequest.Status.REQUESTED


def test_window_counts_from_pickup_when_picked_up(policy):
    order = delivered_order(deliver=False)
    from django.utils import timezone

    from orders.models import Shipment, ShipmentLine

    shipment = Shipment.objects.create(
        order=order,
        number=f"{order.number}-P",
        method="store_pickup",
        status=Shipment.Status.PICKED_UP,
        picked_up_at=timezone.now() - timedelta(days=40),
    )
    for line in order.lines.all():
        ShipmentLine.objects.create(
            shipment=shipment, order_line=line, variant=line.variant, quantity=line.quantity
        )
    with pytest.raises(ValidationError) as exc:
        _ask(order)
    assert "window ended" in _messages(exc)


def test_final_sale_product_refused(policy):
    order = delivered_order()
    line = order.lines.first()
    publish_policy(final_sale_product_ids=[line.variant.product_id])
    with pytest.raises(ValidationError) as exc:
        _ask(order, lines={line.pk: 1})
    assert "final-sale item" in _messages(exc)


def test_final_sale_category_refused(policy):
    order = delivered_order()
    line = order.lines.first()
    category_id = Product.objects.get(pk=line.variant.product_id).category_id
    publish_policy(final_sale_category_ids=[category_id])
    with pytest.raises(ValidationError) as exc:
        _ask(order, lines={line.pk: 1})
    assert "final-sale item" in _messages(exc)


def test_undelivered_line_refused(policy):
    order = delivered_order(deliver=False)
    with pytest.raises(ValidationError) as exc:
        _ask(order)
    assert "has not been delivered yet" in _messages(exc)


def test_quantity_is_delivered_minus_already_returned(policy):
    order = delivered_order(lines=[(3, "10.00")])
    line = order.lines.get()
    _ask(order, lines={line.pk: 2})
    with pytest.raises(ValidationError) as exc:
        _ask(order, lines={line.pk: 2})
    assert "only 1 can be returned (3 delivered, 2 already being returned)" in _messages(exc)
    assert _ask(order, lines={line.pk: 1}).lines.get().quantity == 1


def test_declined_return_frees_its_units(policy):
    order = delivered_order(lines=[(1, "10.00")])
    ret = _ask(order)
    requests.return_decline(return_id=ret.pk, actor=None, reason="Outside our policy")
    assert _ask(order).status == ReturnRequest.Status.REQUESTED


def test_unpaid_order_refused(policy):
    order = delivered_order(payment_status=Order.PaymentStatus.PENDING)
    with pytest.raises(ValidationError) as exc:
        _ask(order)
    assert "nothing was paid" in _messages(exc)


def test_unknown_reason_and_method_not_offered_refused(policy):
    order = delivered_order()
    with pytest.raises(ValidationError) as exc:
        _ask(order, reason="bored")
    assert "return reasons of the policy" in _messages(exc)
    publish_policy(refund_methods=[RefundMethod.ORIGINAL])
    with pytest.raises(ValidationError) as exc:
        _ask(order, refund_method=RefundMethod.STORE_CREDIT)
    assert "to the original payment" in _messages(exc)


def test_line_of_another_order_and_negative_quantity_refused(policy):
    order = delivered_order()
    other = delivered_order()
    with pytest.raises(ValidationError) as exc:
        _ask(order, lines={other.lines.first().pk: 1})
    assert "is not on order" in _messages(exc)
    with pytest.raises(ValidationError):
        _ask(order, lines={order.lines.first().pk: -1})


# The flow ------------------------------------------------------------------------------------


def test_request_goes_in_the_returns_queue_and_on_both_timelines(policy):
    order = delivered_order()
    ret = _ask(order)
    item = WorkItem.objects.get(status=WorkItem.Status.OPEN)
    assert item.process.key == "returns" and item.due_at is not None
    assert ret.events.get().type == ReturnEvent.Type.REQUESTED
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.RETURN).exists()


def test_full_flow_restock_write_off_refund(policy, django_capture_on_commit_callbacks):
    order = delivered_order(lines=[(2, "20.00"), (1, "10.00")], shipping="5.00")
    first, second = order.lines.all()
    ret = _ask(order, reason="wrong_item")
    with django_capture_on_commit_callbacks():
        requests.return_approve(return_id=ret.pk, actor=None)
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.AWAITING_ITEM
    kinds = set(CustomerNotice.objects.values_list("kind", flat=True))
    assert kinds == {"return_approved", "return_instructions"}
    requests.return_receive(return_id=ret.pk, actor=None)
    store = LocationFactory()
    line_a = ret.lines.get(order_line=first)
    line_b = ret.lines.get(order_line=second)
    requests.return_line_inspect(
        return_line_id=line_a.pk, outcome="restock", location_id=store.pk, actor=None
    )
    with pytest.raises(ValidationError) as exc:
        requests.return_line_inspect(
            return_line_id=line_a.pk, outcome="restock", location_id=store.pk, actor=None
        )
    assert "already inspected" in _messages(exc)
    assert StockLevel.objects.get(variant=first.variant, location=store).on_hand == 2
    assert StockMovement.objects.filter(kind=StockMovement.Kind.RETURN_RESTOCK).count() == 1
    requests.return_line_inspect(return_line_id=line_b.pk, outcome="write_off", actor=None)
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.INSPECTED
    assert WorkItem.objects.get(status=WorkItem.Status.OPEN).process.key == "refunds"
    quote = requests.return_refund_quote(ret=ret, include_shipping=True)
    assert quote.amount == Decimal("55.00")
    refund = requests.return_refund(
        return_id=ret.pk, actor=None, include_shipping=True, provider_reference="re_123"
    )
    assert refund.status == Refund.Status.ISSUED and refund.amount == Decimal("55.00")
    order.refresh_from_db()
    ret.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert ret.status == ReturnRequest.Status.REFUNDED
    assert CustomerNotice.objects.filter(kind="refund_issued").count() == 1
    assert CustomerNotice.objects.filter(kind="return_received").count() == 1
    assert not WorkItem.objects.filter(status=WorkItem.Status.OPEN).exists()
    requests.return_close(return_id=ret.pk, actor=None)
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.CLOSED


def test_damaged_refunds_without_the_item(policy):
    order = delivered_order(lines=[(1, "30.00")], shipping="0.00")
    ret = _ask(order, reason="damaged")
    requests.return_approve(return_id=ret.pk, actor=None)
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.Status.APPROVED
    assert not CustomerNotice.objects.filter(kind="return_instructions").exists()
    refund = requests.return_refund(return_id=ret.pk, actor=None, provider_reference="re_1")
    assert refund.amount == Decimal("30.00")


def test_refund_before_receipt_refused_when_the_item_must_come_back(policy):
    order = delivered_order()
    ret = _ask(order, reason="changed_mind")
    requests.return_approve(return_id=ret.pk, actor=None)
    with pytest.raises(ValidationError) as exc:
        requests.return_refund(return_id=ret.pk, actor=None, provider_reference="x")
    assert "received and inspected" in _messages(exc)
    assert not Refund.objects.exists()


def test_restocking_fee_per_reason_is_taken_off(policy):
    order = delivered_order(lines=[(1, "50.00")], shipping="0.00")
    ret = _ask(order, reason="changed_mind")
    quote = requests.return_refund_quote(ret=ret, include_shipping=False)
    assert (quote.lines_amount, quote.restocking_fee, quote.amount) == (
        Decimal("50.00"),
        Decimal("5.00"),
        Decimal("45.00"),
    )


def test_decline_needs_a_reason_and_e_mails_it(policy):
    ret = _ask(delivered_order())
    with pytest.raises(ValidationError):
        requests.return_decline(return_id=ret.pk, actor=None, reason=" ")
    requests.return_decline(return_id=ret.pk, actor=None, reason="Worn")
    notice = CustomerNotice.objects.get(kind="return_declined")
    assert "Worn" in notice.body_text


def test_disallowed_transition_refused(policy):
    ret = _ask(delivered_order())
    with pytest.raises(ValidationError) as exc:
        requests.return_receive(return_id=ret.pk, actor=None)
    assert "cannot become received" in _messages(exc)


def test_find_by_scan_by_return_number_and_order_number(policy):
    order = delivered_order()
    ret = _ask(order)
    requests.return_approve(return_id=ret.pk, actor=None)
    assert requests.return_find_by_scan(ret.number.lower()) == ret
    assert requests.return_find_by_scan(order.number) == ret
    with pytest.raises(ValidationError):
        requests.return_find_by_scan("R99999")


# Refunds -------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("1.001"), 1.5])
def test_zero_negative_fractional_cents_and_float_refused(amount):
    order = delivered_order()
    with pytest.raises(ValidationError):
        refunds.refund_create(
            order_id=order.pk, amount=amount, method="original", actor=None, provider_reference="r"
        )
    assert not Refund.objects.exists()


def test_refund_above_what_was_paid_refused():
    order = delivered_order()
    refunds.refund_create(
        order_id=order.pk,
        amount=Decimal("40.00"),
        method="original",
        actor=None,
        provider_reference="r1",
    )
    with pytest.raises(ValidationError) as exc:
        refunds.refund_create(
            order_id=order.pk,
            amount=Decimal("20.00"),
            method="original",
            actor=None,
            provider_reference="r2",
        )
    assert "at most 15.00 can still be refunded" in _messages(exc)
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED


def test_original_payment_needs_the_provider_reference():
    order = delivered_order()
    with pytest.raises(ValidationError) as exc:
        refunds.refund_create(
            order_id=order.pk, amount=Decimal("5.00"), method="original", actor=None
        )
    assert "refund reference" in _messages(exc)
    assert not Refund.objects.exists()


def test_above_threshold_needs_a_second_person(policy, role_user):
    order = delivered_order(lines=[(1, "300.00")])
    clerk = role_user(Role.CUSTOMER_SERVICE)
    manager = role_user(Role.MANAGER)
    refund = refunds.refund_create(
        order_id=order.pk,
        amount=Decimal("250.00"),
        method="original",
        actor=manager,
        provider_reference="r",
    )
    assert refund.status == Refund.Status.AWAITING_APPROVAL
    assert WorkItem.objects.get(status=WorkItem.Status.OPEN).process.key == "refunds"
    with pytest.raises(ValidationError) as exc:
        refunds.refund_approve(refund_id=refund.pk, actor=manager, provider_reference="r")
    assert "second person" in _messages(exc)
    with pytest.raises(ValidationError):
        refunds.refund_approve(refund_id=refund.pk, actor=clerk, provider_reference="r")
    other = role_user(Role.OWNER)
    refund = refunds.refund_approve(refund_id=refund.pk, actor=other, provider_reference="re_9")
    assert (refund.status, refund.approved_by) == (Refund.Status.ISSUED, other)


def test_store_credit_balance_and_redeem(policy):
    order = delivered_order()
    ret = _ask(order, reason="damaged", refund_method=RefundMethod.STORE_CREDIT)
    requests.return_approve(return_id=ret.pk, actor=None)
    requests.return_refund(return_id=ret.pk, actor=None)
    account = StoreCreditAccount.objects.get(customer=order.customer)
    assert account.balance == Decimal("50.00")
    later = delivered_order(customer=order.customer)
    refunds.store_credit_redeem(
        customer_id=order.customer_id, order_id=later.pk, amount=Decimal("30.00"), actor=None
    )
    account.refresh_from_db()
    assert account.balance == Decimal("20.00")
    with pytest.raises(ValidationError):
        refunds.store_credit_redeem(
            customer_id=order.customer_id, order_id=later.pk, amount=Decimal("30.00"), actor=None
        )


def test_exchange_builds_a_replacement_order(policy):
    order = delivered_order(lines=[(1, "20.00")])
    ret = _ask(order, reason="damaged", refund_method=RefundMethod.EXCHANGE)
    requests.return_approve(return_id=ret.pk, actor=None)
    refund = requests.return_refund(return_id=ret.pk, actor=None)
    ret.refresh_from_db()
    assert ret.exchange_order is not None and refund.exchange_order == ret.exchange_order
    assert ret.exchange_order.lines.get().sku == order.lines.get().sku
    assert ret.exchange_order.source == Order.Source.PHONE


def test_cancelling_a_paid_order_puts_its_refund_in_the_queue(role_user):
    from orders.services.review import order_cancel

    order = delivered_order(deliver=False)
    order.status = Order.Status.AWAITING_REVIEW
    order.save()
    order_cancel(order_id=order.pk, actor=None, reason="Customer asked")
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == (Refund.Status.PENDING, order.total)
    assert WorkItem.objects.get(status=WorkItem.Status.OPEN).process.key == "refunds"
    refunds.refund_issue(refund_id=refund.pk, actor=None, provider_reference="re_c")
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED


def test_policy_current_is_the_newest_version(policy):
    publish_policy(window_days=14)
    assert policy_current().window_days == 14


def test_restock_of_a_line_is_recorded_once_even_if_the_return_moves(policy):
    order = delivered_order(lines=[(1, "20.00")])
    ret = _ask(order, reason="wrong_item")
    requests.return_approve(return_id=ret.pk, actor=None)
    requests.return_receive(return_id=ret.pk, actor=None)
    line = ret.lines.get()
    requests.return_line_inspect(return_line_id=line.pk, outcome="return_to_vendor", actor=None)
    with pytest.raises(ValidationError):
        requests.return_line_inspect(
            return_line_id=line.pk, outcome="restock", location_id=LocationFactory().pk, actor=None
        )
    assert ReturnLine.objects.get().outcome == ReturnLine.Outcome.RETURN_TO_VENDOR
    assert not StockMovement.objects.exists()
