"""The review services: claim, approve, hold, release, cancel, comment and bulk approval."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from inventory.models import Backorder, Reservation, StockLevel
from opsdesk.processes.models import WorkItem
from orders.exceptions import InvalidTransition, OrderClaimed
from orders.models import Order, OrderEvent
from orders.services import review
from orders.signals import order_approved, order_cancelled
from tests.inventory.factories import LocationFactory, StockLevelFactory
from tests.orders.factories import OrderLineFactory, order_with_lines
from tests.processes.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture
def pia():
    return UserFactory(username="pia", first_name="Pia", last_name="Primary")


@pytest.fixture
def bea():
    return UserFactory(username="bea", first_name="Bea", last_name="Backup")


@pytest.fixture
def waiting():
    """An order awaiting review, in the review queue."""
    order = order_with_lines(status=S.AWAITING_REVIEW, risk_level="low", risk_score=0)
    review.review_work_item_open(order, notify=False)
    return order


def open_items(order, key=None):
    items = WorkItem.objects.filter(
        source_type=ContentType.objects.get_for_model(Order), source_id=order.pk, status="open"
    )
    return items.filter(process__key=key) if key else items


@pytest.fixture
def signals_seen():
    seen = []

    def on_approved(sender, order, actor, **kwargs):
        seen.append(("approved", order.pk, actor))

    def on_cancelled(sender, order, actor, reason, refund_due, **kwargs):
        seen.append(("cancelled", order.pk, actor, reason, refund_due))

    order_approved.connect(on_approved)
    order_cancelled.connect(on_cancelled)
    yield seen
    order_approved.disconnect(on_approved)
    order_cancelled.disconnect(on_cancelled)


# Claim -------------------------------------------------------------------------------------


def test_claim_records_who_and_claims_the_queue_item(waiting, pia):
    order = review.order_claim(order_id=waiting.pk, actor=pia)

    assert order.claimed_by == pia
    assert order.claimed_at is not None
    event = waiting.events.get(type=OrderEvent.Type.CLAIMED)
    assert (event.actor, event.data) == (pia, {})
    assert open_items(waiting).get().claimed_by == pia


def test_claiming_again_is_a_no_op(waiting, pia):
    review.order_claim(order_id=waiting.pk, actor=pia)
    review.order_claim(order_id=waiting.pk, actor=pia)
    assert waiting.events.filter(type=OrderEvent.Type.CLAIMED).count() == 1


def test_claiming_an_order_someone_else_claimed_is_refused(waiting, pia, bea):
    review.order_claim(order_id=waiting.pk, actor=pia)

    with pytest.raises(OrderClaimed) as refused:
        review.order_claim(order_id=waiting.pk, actor=bea)

    assert "Pia Primary is working on order" in refused.value.messages[0]
    waiting.refresh_from_db()
    assert waiting.claimed_by == pia


def test_taking_over_is_explicit_and_on_the_timeline(waiting, pia, bea):
    review.order_claim(order_id=waiting.pk, actor=pia)

    order = review.order_claim(order_id=waiting.pk, actor=bea, take_over=True)

    assert order.claimed_by == bea
    event = waiting.events.filter(type=OrderEvent.Type.CLAIMED).latest("id")
    assert (event.actor, event.data) == (bea, {"taken_over_from": "Pia Primary"})


def test_a_decided_order_cannot_be_claimed(pia):
    order = order_with_lines(status=S.APPROVED)
    with pytest.raises(ValidationError, match="nothing left to claim"):
        review.order_claim(order_id=order.pk, actor=pia)


# Approve -----------------------------------------------------------------------------------


def test_approve_moves_the_order_on_and_closes_its_queue_item(waiting, pia, signals_seen):
    order = review.order_approve(order_id=waiting.pk, actor=pia)

    assert order.status == S.APPROVED
    event = waiting.events.get(type=OrderEvent.Type.APPROVED)
    assert (event.actor, event.from_status, event.to_status) == (pia, S.AWAITING_REVIEW, S.APPROVED)
    assert not open_items(waiting).exists()
    assert WorkItem.objects.get().status == WorkItem.Status.DONE
    assert signals_seen == [("approved", waiting.pk, pia)]


@pytest.mark.parametrize("status", [S.RECEIVED, S.AWAITING_REVIEW, S.ON_HOLD])
def test_approve_is_allowed_from_every_open_status(status, pia):
    order = order_with_lines(status=status)
    assert review.order_approve(order_id=order.pk, actor=pia).status == S.APPROVED


@pytest.mark.parametrize("status", [S.APPROVED, S.CANCELLED])
def test_approve_is_refused_once_decided(status, pia):
    order = order_with_lines(status=status)
    with pytest.raises(InvalidTransition):
        review.order_approve(order_id=order.pk, actor=pia)
    assert not order.events.exists()


def test_approve_by_someone_other_than_the_claimer_is_refused(waiting, pia, bea, signals_seen):
    review.order_claim(order_id=waiting.pk, actor=pia)

    with pytest.raises(OrderClaimed):
        review.order_approve(order_id=waiting.pk, actor=bea)

    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_REVIEW
    assert signals_seen == []


def test_the_claimer_may_approve(waiting, pia):
    review.order_claim(order_id=waiting.pk, actor=pia)
    assert review.order_approve(order_id=waiting.pk, actor=pia).status == S.APPROVED


def test_approve_refuses_an_order_with_an_unmatched_line(waiting, pia):
    OrderLineFactory(order=waiting, variant=None, sku="MUG-404")

    with pytest.raises(ValidationError, match="MUG-404"):
        review.order_approve(order_id=waiting.pk, actor=pia)

    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_REVIEW


# Hold and release --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_hold_needs_a_reason(waiting, pia, reason):
    with pytest.raises(ValidationError) as refused:
        review.order_hold(order_id=waiting.pk, actor=pia, reason=reason)

    assert "reason" in refused.value.message_dict
    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_REVIEW
    assert not waiting.events.exists()


def test_hold_records_the_reason_and_leaves_the_review_queue(waiting, pia):
    order = review.order_hold(order_id=waiting.pk, actor=pia, reason=" Calling the customer ")

    assert (order.status, order.hold_reason) == (S.ON_HOLD, "Calling the customer")
    event = waiting.events.get(type=OrderEvent.Type.HELD)
    assert (event.actor, event.data) == (pia, {"reason": "Calling the customer"})
    assert not open_items(waiting).exists()


def test_hold_by_someone_other_than_the_claimer_is_refused(waiting, pia, bea):
    review.order_claim(order_id=waiting.pk, actor=pia)
    with pytest.raises(OrderClaimed):
        review.order_hold(order_id=waiting.pk, actor=bea, reason="Looks odd")


def test_release_puts_a_held_order_back_in_the_review_queue(pia):
    order = order_with_lines(status=S.ON_HOLD, hold_reason="high fraud risk")
    review.review_work_item_open(order, process="fraud_review", notify=False)

    released = review.order_release_hold(order_id=order.pk, actor=pia, note="Customer confirmed")

    assert (released.status, released.hold_reason) == (S.AWAITING_REVIEW, "")
    event = order.events.get(type=OrderEvent.Type.RELEASED)
    assert (event.actor, event.data) == (pia, {"note": "Customer confirmed"})
    assert not open_items(order, "fraud_review").exists()
    assert open_items(order, "order_review").count() == 1


def test_release_is_refused_unless_on_hold(waiting, pia):
    with pytest.raises(InvalidTransition):
        review.order_release_hold(order_id=waiting.pk, actor=pia)


# Cancel ------------------------------------------------------------------------------------


@pytest.fixture
def reserved(waiting):
    """Two of the order's units reserved at a store, as the intake reserves them."""
    line = waiting.lines.get()
    level = StockLevelFactory(
        variant=line.variant, location=LocationFactory(name="Main St"), on_hand=10, reserved=2
    )
    reservation = Reservation.objects.create(
        variant=line.variant,
        location=level.location,
        quantity=2,
        source_type=ContentType.objects.get_for_model(Order),
        source_id=waiting.pk,
        reference=waiting.number,
    )
    return reservation, level


def test_cancel_releases_the_reservations_and_marks_a_paid_payment_for_refund(
    waiting, reserved, pia, signals_seen
):
    reservation, level = reserved
    someone_else = Reservation.objects.create(
        variant=reservation.variant, location=reservation.location, quantity=1
    )
    StockLevel.objects.filter(pk=level.pk).update(reserved=3)

    order = review.order_cancel(order_id=waiting.pk, actor=pia, reason="Customer asked")

    assert order.status == S.CANCELLED
    assert order.payment_status == Order.PaymentStatus.REFUND_DUE
    reservation.refresh_from_db()
    someone_else.refresh_from_db()
    level.refresh_from_db()
    assert reservation.status == Reservation.Status.RELEASED
    assert someone_else.status == Reservation.Status.ACTIVE
    assert (level.on_hand, level.reserved) == (10, 1)
    event = waiting.events.get(type=OrderEvent.Type.CANCELLED)
    assert event.actor == pia
    assert event.data == {
        "reason": "Customer asked",
        "stock_released": 1,
        "refund_due": True,
        "shipments_cancelled": 0,
    }
    assert WorkItem.objects.get(process__key="order_review").status == WorkItem.Status.CANCELLED
    # What was paid waits in the refunds queue (the returns area listens).
    assert WorkItem.objects.get(process__key="refunds").status == WorkItem.Status.OPEN
    assert signals_seen == [("cancelled", waiting.pk, pia, "Customer asked", True)]


def test_cancel_also_cancels_the_orders_pending_backorders(waiting, pia):
    line = waiting.lines.get()
    backorder = Backorder.objects.create(
        variant=line.variant,
        quantity=2,
        source_type=ContentType.objects.get_for_model(Order),
        source_id=waiting.pk,
        reference=waiting.number,
    )

    review.order_cancel(order_id=waiting.pk, actor=pia, reason="Customer asked")

    backorder.refresh_from_db()
    assert backorder.status == Backorder.Status.CANCELLED
    assert waiting.events.get(type=OrderEvent.Type.CANCELLED).data["stock_released"] == 1


def test_cancel_of_an_unpaid_order_owes_no_refund(pia):
    order = order_with_lines(status=S.AWAITING_REVIEW, payment_status=Order.PaymentStatus.PENDING)

    cancelled = review.order_cancel(order_id=order.pk, actor=pia, reason="Duplicate order")

    assert cancelled.payment_status == Order.PaymentStatus.PENDING
    assert order.events.get().data["refund_due"] is False


def test_cancel_of_an_approved_order_is_allowed(pia):
    order = order_with_lines(status=S.APPROVED)
    assert review.order_cancel(order_id=order.pk, actor=pia, reason="Fraud").status == S.CANCELLED


def test_cancel_needs_a_reason_and_changes_nothing_without_one(waiting, reserved, pia):
    with pytest.raises(ValidationError):
        review.order_cancel(order_id=waiting.pk, actor=pia, reason="")
    reservation, _ = reserved
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ACTIVE
    waiting.refresh_from_db()
    assert (waiting.status, waiting.payment_status) == (S.AWAITING_REVIEW, "paid")


def test_a_cancelled_order_cannot_be_cancelled_again(pia):
    order = order_with_lines(status=S.CANCELLED)
    with pytest.raises(InvalidTransition):
        review.order_cancel(order_id=order.pk, actor=pia, reason="Again")


def test_the_store_cancelling_acts_without_a_claim(waiting, reserved, pia):
    review.order_claim(order_id=waiting.pk, actor=pia)
    order = review.order_cancel(order_id=waiting.pk, actor=None, reason="Cancelled in the store")
    assert order.status == S.CANCELLED


# Comment -----------------------------------------------------------------------------------


def test_comment_goes_on_the_timeline(waiting, pia):
    event = review.order_comment(order_id=waiting.pk, actor=pia, text="  Called, no answer. ")
    assert (event.type, event.actor, event.data) == (
        OrderEvent.Type.COMMENTED,
        pia,
        {"text": "Called, no answer."},
    )


@pytest.mark.parametrize("text", ["", "  ", "x" * 2001])
def test_an_empty_or_overlong_comment_is_refused(waiting, pia, text):
    with pytest.raises(ValidationError) as refused:
        review.order_comment(order_id=waiting.pk, actor=pia, text=text)
    assert "text" in refused.value.message_dict
    assert not waiting.events.exists()


def test_commenting_needs_no_claim(waiting, pia, bea):
    review.order_claim(order_id=waiting.pk, actor=pia)
    review.order_comment(order_id=waiting.pk, actor=bea, text="Seen it too.")
    assert waiting.events.filter(type=OrderEvent.Type.COMMENTED).count() == 1


# Bulk approval -----------------------------------------------------------------------------


def test_bulk_approve_approves_low_risk_and_reports_the_rest(pia, bea):
    low = [order_with_lines(status=S.AWAITING_REVIEW, risk_level="low") for _ in range(2)]
    medium = order_with_lines(status=S.AWAITING_REVIEW, risk_level="medium")
    unassessed = order_with_lines(status=S.AWAITING_REVIEW, risk_level="")
    reasons = order_with_lines(
        status=S.AWAITING_REVIEW, risk_level="low", review_reasons=["Unknown SKU MUG-9"]
    )
    held = order_with_lines(status=S.ON_HOLD, risk_level="low")
    claimed = order_with_lines(status=S.AWAITING_REVIEW, risk_level="low")
    review.order_claim(order_id=claimed.pk, actor=bea)
    unmatched = order_with_lines(status=S.AWAITING_REVIEW, risk_level="low")
    OrderLineFactory(order=unmatched, variant=None, sku="MUG-404")
    ids = [o.pk for o in (*low, medium, unassessed, reasons, held, claimed, unmatched)]

    result = review.order_bulk_approve_low_risk(order_ids=[*ids, low[0].pk, 999_999], actor=pia)

    assert sorted(o.pk for o in result.approved) == sorted(o.pk for o in low)
    refused = {r.order_id: r.reason for r in result.refused}
    assert refused == {
        medium.pk: "its risk is medium, not low.",
        unassessed.pk: "its risk is not assessed yet, not low.",
        reasons.pk: "it waits for a person: Unknown SKU MUG-9.",
        held.pk: "it is on hold, not awaiting review.",
        claimed.pk: "Bea Backup has claimed it.",
        unmatched.pk: refused[unmatched.pk],
        999_999: "there is no such order.",
    }
    assert "MUG-404" in refused[unmatched.pk]
    assert str(next(r for r in result.refused if r.order_id == medium.pk)) == (
        f"Order {medium.number} was not approved: its risk is medium, not low."
    )
    for order in (medium, unassessed, reasons, held, claimed, unmatched):
        order.refresh_from_db()
        assert order.status != S.APPROVED
    assert OrderEvent.objects.filter(type=OrderEvent.Type.APPROVED, actor=pia).count() == 2


def test_bulk_approve_of_nothing_approves_nothing(pia):
    result = review.order_bulk_approve_low_risk(order_ids=[], actor=pia)
    assert (result.approved, result.refused) == ([], [])
