"""Reads for the review queue and the order page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import selectors
from orders.models import Order
from orders.services.review import order_comment
from tests.orders.factories import (
    ChannelFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
)
from tests.processes.factories import UserFactory, process

pytestmark = pytest.mark.django_db
S = Order.Status


def ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def test_review_list_is_oldest_first_with_ties_broken_by_id():
    at = ago(10)
    a = OrderFactory(status=S.AWAITING_REVIEW, created_at=at)
    b = OrderFactory(status=S.AWAITING_REVIEW, created_at=at)
    c = OrderFactory(status=S.AWAITING_REVIEW, created_at=ago(20))
    assert list(selectors.order_list_for_review()) == [c, a, b]


def test_review_list_filters():
    woo = ChannelFactory()
    high = OrderFactory(status=S.AWAITING_REVIEW, risk_level="high", created_at=ago(90))
    unassessed = OrderFactory(status=S.RECEIVED, risk_level="", channel=woo)
    pickup = OrderFactory(
        status=S.ON_HOLD, risk_level="low", fulfillment_method=Order.Method.STORE_PICKUP
    )

    def ids(**filters):
        return {o.pk for o in selectors.order_list_for_review(**filters)}

    assert ids(statuses=()) == {high.pk, unassessed.pk, pickup.pk}
    assert ids(statuses=(S.AWAITING_REVIEW, S.ON_HOLD)) == {high.pk, pickup.pk}
    assert ids(statuses=(), risk="none") == {unassessed.pk}
    assert ids(statuses=(), risk="high") == {high.pk}
    assert ids(statuses=(), channel_id=woo.pk) == {unassessed.pk}
    assert ids(statuses=(), method=Order.Method.STORE_PICKUP) == {pickup.pk}
    assert ids(statuses=(), created_before=ago(60)) == {high.pk}


def test_queue_rows_show_what_the_row_needs_in_one_query(django_assert_num_queries):
    claimer = UserFactory(first_name="Pia", last_name="Primary")
    customer = CustomerFactory(first_name="Grace", last_name="Hopper", email="g@example.com")
    late = OrderFactory(
        status=S.AWAITING_REVIEW,
        customer=customer,
        claimed_by=claimer,
        created_at=ago(185),
        risk_level="medium",
        risk_score=40,
        review_reasons=["Unknown SKU X"],
    )
    guest = OrderFactory(status=S.AWAITING_REVIEW, customer=None, email="guest@example.com")
    with django_assert_num_queries(1):
        first, second = selectors.queue_rows(selectors.order_list_for_review(), late_before=ago(60))
    assert (first.pk, first.number, first.status_label) == (late.pk, late.number, "Awaiting review")
    assert (first.customer_name, first.customer_email) == ("Grace Hopper", "g@example.com")
    assert (first.claimed_by_label, first.channel_name, first.method_label) == (
        "Pia Primary",
        late.channel.name,
        "Ship",
    )
    assert (first.risk_level, first.risk_score, first.review_reasons) == (
        "medium",
        40,
        ["Unknown SKU X"],
    )
    assert (first.is_late, first.age) == (True, "3 h 5 min")
    assert first.url == late.get_absolute_url()
    assert first.approve_url == f"/orders/{late.pk}/approve/"
    assert (second.pk, second.customer_name, second.customer_email) == (
        guest.pk,
        "",
        "guest@example.com",
    )
    assert (second.is_late, second.claimed_by_label) == (False, "")


@pytest.mark.parametrize(
    ("minutes", "label"),
    [
        (0, "0 min"),
        (59, "59 min"),
        (60, "1 h"),
        (185, "3 h 5 min"),
        (1440, "1 day"),
        (3000, "2 days 2 h"),
    ],
)
def test_age_label(minutes, label):
    assert selectors.age_label(timedelta(minutes=minutes, seconds=30)) == label


def test_review_list_rows_need_no_further_queries(django_assert_num_queries):
    claimer = UserFactory()
    for _ in range(5):
        OrderFactory(status=S.AWAITING_REVIEW, claimed_by=claimer)
    with django_assert_num_queries(1):
        rows = list(selectors.order_list_for_review())
        for order in rows:
            _ = (order.customer.email, order.channel.name, order.claimed_by.username)


def test_queue_page_counts_and_pages(django_assert_num_queries):
    for _ in range(5):
        OrderFactory(status=S.AWAITING_REVIEW)
    with django_assert_num_queries(2):
        page = selectors.queue_page(
            selectors.order_list_for_review(), page="2", per_page=2, late_before=ago(60)
        )
    assert (page.number, len(page.rows), page.count, page.num_pages) == (2, 2, 5, 3)
    assert (page.has_previous, page.has_next, page.start_index, page.end_index) == (
        True,
        True,
        3,
        4,
    )
    last = selectors.queue_page(
        selectors.order_list_for_review(), page="99", per_page=2, late_before=ago(60)
    )
    assert (last.number, len(last.rows), last.has_next) == (3, 1, False)
    first = selectors.queue_page(selectors.order_list_for_review(), page="x", late_before=ago(60))
    assert first.number == 1


def test_queue_page_caps_the_count(monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(5):
        OrderFactory(status=S.AWAITING_REVIEW)
    page = selectors.queue_page(
        selectors.order_list_for_review(), page=5, per_page=1, late_before=ago(60)
    )
    assert (page.count, page.count_capped, page.num_pages, page.number) == (3, True, None, 5)
    assert len(page.rows) == 1 and not page.has_next


def test_order_for_detail_in_three_queries(django_assert_num_queries):
    order = OrderFactory()
    for _ in range(3):
        OrderLineFactory(order=order)
        order_comment(order_id=order.pk, actor=UserFactory(), text="hi")
    with django_assert_num_queries(3):
        loaded = selectors.order_get_for_detail(order_id=order.pk)
        lines = [(line.sku, line.variant_id, line.line_total) for line in loaded.line_list]
        actors = [event.actor.username for event in loaded.timeline]
        _ = (loaded.customer.email, loaded.channel.name)
    assert len(lines) == 3 and len(actors) == 3


def test_order_for_detail_reads_notices_named_on_its_timeline(django_assert_num_queries):
    from orders.services.notices import customer_notice_queue

    order = OrderFactory(status=S.AWAITING_REVIEW, email="buyer@example.com")
    notice = customer_notice_queue(kind="shipped", order=order, context={})
    # In review: no shipments to read; the notice is named on the timeline, so it is read.
    with django_assert_num_queries(4):
        loaded = selectors.order_get_for_detail(order_id=order.pk)
    assert loaded.shipment_list == []
    assert [n.pk for n in loaded.notice_list] == [notice.pk]
    assert loaded.notice_list[0].subject == notice.subject


def test_timeline_is_newest_first():
    order = OrderFactory()
    first = order_comment(order_id=order.pk, actor=None, text="first")
    second = order_comment(order_id=order.pk, actor=None, text="second")
    assert selectors.order_timeline(order_id=order.pk) == [second, first]
    assert selectors.order_get_for_detail(order_id=order.pk).timeline == [second, first]


def test_customer_history_is_the_buyers_other_orders_newest_first():
    customer = CustomerFactory()
    old = OrderFactory(customer=customer, created_at=ago(500))
    new = OrderFactory(customer=customer, created_at=ago(5))
    order = OrderFactory(customer=customer)
    OrderFactory()  # someone else
    assert selectors.customer_order_history(order=order) == [new, old]
    assert len(selectors.customer_order_history(order=order, limit=1)) == 2  # one extra: "more"


def test_customer_history_without_a_customer_matches_the_email():
    guest = OrderFactory(customer=None, email="guest@example.com", created_at=ago(60))
    order = OrderFactory(customer=None, email="guest@example.com")
    assert selectors.customer_order_history(order=order) == [guest]
    assert selectors.customer_order_history(order=OrderFactory(customer=None, email="")) == []


def test_queue_neighbours_are_the_orders_awaiting_review_around_it():
    first = OrderFactory(status=S.AWAITING_REVIEW, created_at=ago(30))
    OrderFactory(status=S.APPROVED, created_at=ago(25))
    middle = OrderFactory(status=S.AWAITING_REVIEW, created_at=ago(20))
    last = OrderFactory(status=S.AWAITING_REVIEW, created_at=ago(10))
    assert selectors.order_queue_neighbours(order=middle) == (first.pk, last.pk)
    assert selectors.order_queue_neighbours(order=first) == (None, middle.pk)
    assert selectors.order_queue_neighbours(order=last) == (middle.pk, None)


def test_review_target_is_the_process_target_time():
    review = process("order_review")
    review.target_minutes = 45
    review.save()
    assert selectors.review_target() == timedelta(minutes=45)
