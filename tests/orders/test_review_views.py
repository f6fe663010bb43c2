"""The review queue and the order page: who may open them, what they show, the actions with
and without htmx, and a fixed number of queries whatever the number of rows."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.roles import Role
from orders import selectors
from orders.models import Order, OrderEvent, RiskAssessment
from orders.services import review
from tests.orders.factories import (
    ChannelFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    order_with_lines,
)
from tests.processes.factories import UserFactory, process

pytestmark = pytest.mark.django_db
S = Order.Status
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/orders/"}


@pytest.fixture
def reviewer(staff_client_for):
    return staff_client_for(Role.ORDER_REVIEWER, first_name="Rita", last_name="Reviewer")


def waiting_order(**fields) -> Order:
    fields.setdefault("status", S.AWAITING_REVIEW)
    fields.setdefault("risk_level", "low")
    fields.setdefault("risk_score", 5)
    return order_with_lines(**fields)


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Who may open them -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ORDER_REVIEWER, Role.MANAGER, Role.OWNER, Role.ADMIN])
def test_review_roles_open_the_queue_and_the_order(staff_client_for, role):
    order = waiting_order()
    client = staff_client_for(role)
    assert client.get(reverse("orders:queue")).status_code == 200
    assert client.get(order.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.CONTENT_EDITOR, Role.BOOKKEEPER])
def test_other_roles_get_403_and_no_data(staff_client_for, role):
    order = waiting_order()
    client = staff_client_for(role)
    for response in (
        client.get(reverse("orders:queue")),
        client.get(order.get_absolute_url()),
        client.post(reverse("orders:approve", args=[order.pk])),
    ):
        assert response.status_code == 403
        assert order.number.encode() not in response.content
    order.refresh_from_db()
    assert order.status == S.AWAITING_REVIEW


def test_anonymous_visitors_go_to_the_login_page(client):
    order = waiting_order()
    for response in (
        client.get(reverse("orders:queue")),
        client.get(order.get_absolute_url()),
        client.post(reverse("orders:approve", args=[order.pk])),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_actions_refuse_get(reviewer):
    order = waiting_order()
    for name in ("approve", "hold", "cancel", "comment", "claim", "release", "bulk_approve"):
        if name == "bulk_approve":
            assert reviewer.get(reverse("orders:bulk_approve")).status_code == 405
            continue
        assert reviewer.get(reverse(f"orders:{name}", args=[order.pk])).status_code == 405


def test_an_unknown_order_is_404(reviewer):
    assert reviewer.get(reverse("orders:detail", args=[999_999])).status_code == 404
    assert reviewer.post(reverse("orders:approve", args=[999_999])).status_code == 404


# The queue ---------------------------------------------------------------------------------


def test_queue_lists_orders_awaiting_review_oldest_first(reviewer):
    now = timezone.now()
    newer = waiting_order(created_at=now - timedelta(minutes=5), number="#2002")
    older = waiting_order(created_at=now - timedelta(minutes=50), number="#2001")
    waiting_order(status=S.APPROVED, number="#2003")

    response = reviewer.get(reverse("orders:queue"))

    rows = response.context["page"].rows
    assert [o.pk for o in rows] == [older.pk, newer.pk]
    html = response.content.decode()
    assert html.index("#2001") < html.index("#2002")
    assert "#2003" not in html


def test_queue_row_shows_customer_total_risk_age_and_claimer(reviewer):
    customer = CustomerFactory(first_name="Grace", last_name="Hopper", email="grace@example.com")
    order = waiting_order(customer=customer, risk_level="high", risk_score=75)
    review.order_claim(order_id=order.pk, actor=UserFactory(first_name="Pia", last_name="P"))

    html = reviewer.get(reverse("orders:queue") + "?status=all").content.decode()

    assert "Grace" in html and "grace@example.com" in html
    assert "45.00 USD" in html
    assert "high" in html and "· 75" in html
    assert "Pia P" in html


def test_an_order_waiting_past_the_target_time_is_late(reviewer):
    target = process("order_review").target_minutes
    late = waiting_order(created_at=timezone.now() - timedelta(minutes=target + 1))
    fresh = waiting_order()

    response = reviewer.get(reverse("orders:queue"))

    html = response.content.decode()
    late_row = html[html.index(f'id="order-row-{late.pk}"') :]
    late_row = late_row[: late_row.index("</tr>")]
    fresh_row = html[html.index(f'id="order-row-{fresh.pk}"') :]
    fresh_row = fresh_row[: fresh_row.index("</tr>")]
    assert "data-late" in late_row and ">late<" in late_row
    assert "data-late" not in fresh_row

    only_late = reviewer.get(reverse("orders:queue") + "?age=late").context["page"].rows
    assert [o.pk for o in only_late] == [late.pk]


def test_filters_are_read_from_the_url(reviewer):
    shop = ChannelFactory(slug="shop", name="Shop")
    woo = ChannelFactory(slug="woo", name="Woo")
    high_shop = waiting_order(channel=shop, risk_level="high")
    low_woo_pickup = waiting_order(channel=woo, fulfillment_method=Order.Method.STORE_PICKUP)
    held = waiting_order(status=S.ON_HOLD, channel=woo)

    def rows(query):
        response = reviewer.get(reverse("orders:queue") + query)
        assert response.status_code == 200
        return {o.pk for o in response.context["page"].rows}

    assert rows("?risk=high") == {high_shop.pk}
    assert rows("?channel=woo") == {low_woo_pickup.pk}
    assert rows("?method=store_pickup") == {low_woo_pickup.pk}
    assert rows("?status=on_hold") == {held.pk}
    assert rows("?status=open&channel=woo") == {low_woo_pickup.pk, held.pk}
    assert rows("?status=all&risk=low") == {low_woo_pickup.pk, held.pk}
    # Values that are not choices are ignored rather than refused.
    assert rows("?risk=extreme&channel=nope&status=bogus") == {high_shop.pk, low_woo_pickup.pk}


def test_the_filter_form_keeps_the_chosen_values(reviewer):
    ChannelFactory(slug="woo", name="Woo")
    html = reviewer.get(reverse("orders:queue") + "?risk=medium&channel=woo").content.decode()
    assert '<option value="medium" selected>' in html
    assert '<option value="woo" selected>' in html
    assert "csrfmiddlewaretoken" not in html.split("data-queue-filters")[1].split("</form>")[0]


def test_queue_pages_keep_the_filters(reviewer):
    for _ in range(selectors.PER_PAGE + 2):
        waiting_order(risk_level="medium")

    response = reviewer.get(reverse("orders:queue") + "?risk=medium&page=2")

    page = response.context["page"]
    assert (page.number, len(page.rows), page.has_next) == (2, 2, False)
    assert 'href="?risk=medium&amp;page=1"' in response.content.decode()


def test_queue_count_is_capped_yet_deep_pages_work(reviewer, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    monkeypatch.setattr(selectors, "PER_PAGE", 2)
    for _ in range(7):
        waiting_order()

    first = reviewer.get(reverse("orders:queue")).context["page"]
    assert (first.count, first.count_capped, first.num_pages) == (4, True, None)

    response = reviewer.get(reverse("orders:queue") + "?page=3")
    page = response.context["page"]
    assert (page.number, len(page.rows), page.has_next) == (3, 2, True)
    assert "more than 4" in response.content.decode()
    last = reviewer.get(reverse("orders:queue") + "?page=4").context["page"]
    assert (len(last.rows), last.has_next) == (1, False)

    beyond = reviewer.get(reverse("orders:queue") + "?page=900").context["page"]
    assert beyond.rows == []


def _populate(n: int) -> None:
    channels = [ChannelFactory(), ChannelFactory()]
    claimers = [UserFactory(), UserFactory()]
    for i in range(n):
        order = waiting_order(channel=channels[i % 2], customer=CustomerFactory())
        if i % 3 == 0:
            Order.objects.filter(pk=order.pk).update(claimed_by=claimers[i % 2])


@pytest.mark.parametrize("query", ["", "?risk=low&channel=web-0&age=late", "?status=all&page=2"])
def test_queue_queries_do_not_grow_with_the_rows(reviewer, django_assert_num_queries, query):
    _populate(3)
    # The session, the channels and the target time come from the cache once read, as in
    # real use (new channels clear it, hence a request before each count).
    reviewer.get(reverse("orders:queue"))
    # The user with their roles; the count; the rows.
    with django_assert_num_queries(3) as small:
        reviewer.get(reverse("orders:queue") + query)
    _populate(60)
    reviewer.get(reverse("orders:queue"))
    with django_assert_num_queries(3) as large:
        response = reviewer.get(reverse("orders:queue") + query)
    assert response.status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries) <= 10


# The order page ----------------------------------------------------------------------------


def test_order_page_shows_lines_totals_addresses_customer_and_history(reviewer):
    customer = CustomerFactory(first_name="Grace", last_name="Hopper", chargebacks=1)
    earlier = OrderFactory(customer=customer, number="#0999", status=S.APPROVED)
    order = waiting_order(customer=customer, number="#1500")
    OrderLineFactory(order=order, variant=None, sku="MUG-404", title="Mystery mug")

    html = reviewer.get(order.get_absolute_url()).content.decode()

    assert "MUG-404" in html and "unknown SKU" in html
    assert html.count("data-unknown-sku") == 1
    assert "45.00 USD" in html
    assert "12 Analytical Row" in html and "Springfield IL 62701" in html
    assert "Grace" in html and "1 chargeback" in html
    assert earlier.number in html and reverse("orders:detail", args=[earlier.pk]) in html


def test_order_page_shows_the_risk_panel_with_raising_and_lowering_indicators(reviewer):
    order = waiting_order(risk_level="medium", risk_score=30)
    RiskAssessment.objects.create(
        order=order,
        score=30,
        level="medium",
        indicators=[
            {"code": "cvv_no_match", "points": 40, "sentence": "CVV said no.", "raises": True},
            {"code": "returning_customer", "points": -10, "sentence": "Known.", "raises": False},
        ],
    )

    html = reviewer.get(order.get_absolute_url()).content.decode()

    panel = html[html.index('id="risk-panel"') :]
    assert "medium · 30" in panel
    assert "↑ +40" in panel and "CVV said no." in panel
    assert "↓ -10" in panel and "Known." in panel


def test_order_page_timeline_says_who_did_what(reviewer):
    order = waiting_order()
    review.order_comment(order_id=order.pk, actor=reviewer.user, text="Phoned the customer.")

    html = reviewer.get(order.get_absolute_url()).content.decode()

    timeline = html[html.index('id="order-timeline"') :]
    assert "Phoned the customer." in timeline
    assert "Rita Reviewer" in timeline


def test_next_and_previous_go_to_the_neighbours_in_the_queue(reviewer):
    now = timezone.now()
    first = waiting_order(created_at=now - timedelta(minutes=3))
    middle = waiting_order(created_at=now - timedelta(minutes=2))
    last = waiting_order(created_at=now - timedelta(minutes=1))

    html = reviewer.get(middle.get_absolute_url()).content.decode()
    assert reverse("orders:next", args=[middle.pk]) in html
    assert reverse("orders:previous", args=[middle.pk]) in html

    forward = reviewer.get(reverse("orders:next", args=[middle.pk]))
    back = reviewer.get(reverse("orders:previous", args=[middle.pk]))
    assert forward["Location"] == last.get_absolute_url()
    assert back["Location"] == first.get_absolute_url()


def test_past_the_last_order_next_goes_back_to_the_queue(reviewer):
    only = waiting_order()
    response = reviewer.get(reverse("orders:next", args=[only.pk]))
    assert response["Location"] == reverse("orders:queue")
    assert flash(response) == ["No more orders waiting for review after this one."]


def test_order_page_queries_do_not_grow_with_lines_events_or_history(
    reviewer, django_assert_num_queries
):
    customer = CustomerFactory()
    order = waiting_order(customer=customer)
    reviewer.get(order.get_absolute_url())
    # The user with their roles; the order, its lines, its timeline; the customer's history.
    # (An order in review has no shipments, and no e-mail on its timeline.)
    with django_assert_num_queries(5):
        reviewer.get(order.get_absolute_url())
    for _ in range(15):
        OrderLineFactory(order=order)
        OrderFactory(customer=customer)
        review.order_comment(order_id=order.pk, actor=UserFactory(), text="Again")
    RiskAssessment.objects.create(order=order, score=1, level="low", indicators=[])
    with django_assert_num_queries(5):
        response = reviewer.get(order.get_absolute_url())
    assert response.status_code == 200


# Actions without htmx -------------------------------------------------------------------------


def test_approve_redirects_back_to_the_order(reviewer):
    order = waiting_order()

    response = reviewer.post(reverse("orders:approve", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == S.APPROVED
    assert order.events.get(type=OrderEvent.Type.APPROVED).actor == reviewer.user
    assert flash(response) == ["Approved."]


def test_hold_without_a_reason_shows_the_error_and_changes_nothing(reviewer):
    order = waiting_order()

    response = reviewer.post(reverse("orders:hold", args=[order.pk]), {"reason": "  "})

    assert response.status_code == 200
    assert "Say why the order is held." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.AWAITING_REVIEW
    assert not order.events.exists()


def test_hold_with_a_reason(reviewer):
    order = waiting_order()
    response = reviewer.post(reverse("orders:hold", args=[order.pk]), {"reason": "Odd address"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.hold_reason) == (S.ON_HOLD, "Odd address")


def test_release_and_cancel(reviewer):
    order = waiting_order(status=S.ON_HOLD, hold_reason="Odd")
    reviewer.post(reverse("orders:release", args=[order.pk]), {"note": "Checked"})
    order.refresh_from_db()
    assert order.status == S.AWAITING_REVIEW

    reviewer.post(reverse("orders:cancel", args=[order.pk]), {"reason": "Customer asked"})
    order.refresh_from_db()
    assert (order.status, order.payment_status) == (S.CANCELLED, Order.PaymentStatus.REFUND_DUE)


def test_approving_an_order_someone_else_claimed_shows_why(reviewer):
    order = waiting_order()
    review.order_claim(order_id=order.pk, actor=UserFactory(first_name="Pia", last_name="P"))

    response = reviewer.post(reverse("orders:approve", args=[order.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Pia P is working on order" in html
    assert "Take over from Pia P" in html
    order.refresh_from_db()
    assert order.status == S.AWAITING_REVIEW


def test_taking_over_then_approving(reviewer):
    order = waiting_order()
    review.order_claim(order_id=order.pk, actor=UserFactory())

    reviewer.post(reverse("orders:claim", args=[order.pk]), {"take_over": "1"})
    reviewer.post(reverse("orders:approve", args=[order.pk]))

    order.refresh_from_db()
    assert (order.claimed_by, order.status) == (reviewer.user, S.APPROVED)


# Actions with htmx -------------------------------------------------------------------------


def test_htmx_approve_returns_the_status_panel_and_the_timeline_out_of_band(reviewer):
    order = waiting_order()

    response = reviewer.post(reverse("orders:approve", args=[order.pk]), headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="order-status-panel"')
    assert 'data-status="approved"' in html
    assert "Approved." in html
    timeline = html[html.index('id="order-timeline"') :]
    assert 'hx-swap-oob="true"' in timeline
    assert "Rita Reviewer" in timeline
    assert "<html" not in html


def test_htmx_hold_without_a_reason_returns_the_panel_with_the_error(reviewer):
    order = waiting_order()

    response = reviewer.post(reverse("orders:hold", args=[order.pk]), {"reason": ""}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "is-invalid" in html and "Say why the order is held." in html
    assert 'data-status="awaiting_review"' in html
    order.refresh_from_db()
    assert order.status == S.AWAITING_REVIEW


def test_htmx_comment_adds_to_the_timeline(reviewer):
    order = waiting_order()

    response = reviewer.post(
        reverse("orders:comment", args=[order.pk]),
        {"text": "Looks fine <b>really</b>"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "Comment added." in html
    assert "Looks fine &lt;b&gt;really&lt;/b&gt;" in html
    assert order.events.get().data["text"] == "Looks fine <b>really</b>"


def test_htmx_invalid_transition_is_shown_in_the_panel(reviewer):
    order = waiting_order(status=S.CANCELLED)
    response = reviewer.post(reverse("orders:approve", args=[order.pk]), headers=HTMX)
    assert "is cancelled; it cannot become approved." in response.content.decode()


def test_queue_row_approve_returns_the_row(reviewer):
    order = waiting_order()

    response = reviewer.post(
        reverse("orders:approve", args=[order.pk]), {"fragment": "row"}, headers=HTMX
    )

    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="order-row-{order.pk}"')
    assert "Approved" in html and "data-row-approve" not in html
    order.refresh_from_db()
    assert order.status == S.APPROVED


def test_queue_row_approve_shows_why_not(reviewer):
    order = waiting_order()
    review.order_claim(order_id=order.pk, actor=UserFactory(first_name="Pia", last_name="P"))

    response = reviewer.post(
        reverse("orders:approve", args=[order.pk]), {"fragment": "row"}, headers=HTMX
    )

    assert "Pia P is working on order" in response.content.decode()


# Bulk approval -----------------------------------------------------------------------------


def test_bulk_approve_reports_each_order_it_could_not_approve(reviewer):
    low = waiting_order()
    medium = waiting_order(risk_level="medium", number="#7001")
    back = reverse("orders:queue") + "?risk=low"

    response = reviewer.post(
        reverse("orders:bulk_approve"), {"order": [low.pk, medium.pk], "next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    assert flash(response) == [
        "Approved 1 order.",
        "Order #7001 was not approved: its risk is medium, not low.",
    ]
    low.refresh_from_db()
    medium.refresh_from_db()
    assert (low.status, medium.status) == (S.APPROVED, S.AWAITING_REVIEW)


def test_bulk_approve_with_nothing_ticked_says_so(reviewer):
    response = reviewer.post(reverse("orders:bulk_approve"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("orders:queue")
    assert flash(response) == ["Tick the orders to approve first."]
