"""order_transition: every allowed move records its event and actor; every other is refused
and changes nothing. Two reviewers approving at once approve once."""

import threading

import pytest
from django.db import connection

from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent
from orders.services.review import order_approve
from orders.services.transitions import order_transition
from tests.orders.factories import OrderFactory, order_with_lines
from tests.processes.factories import UserFactory

S = Order.Status
ALLOWED = [(a, b) for a, targets in Order.ALLOWED_TRANSITIONS.items() for b in targets]
FORBIDDEN = [(a, b) for a in S.values for b in S.values if (a, b) not in ALLOWED]


def test_the_graph_names_every_status():
    assert set(Order.ALLOWED_TRANSITIONS) == set(S.values)
    assert (S.CANCELLED, S.APPROVED) in FORBIDDEN
    assert Order.ALLOWED_TRANSITIONS[S.CANCELLED] == ()


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_allowed_transition_saves_status_and_records_event_with_actor(from_status, to_status):
    actor = UserFactory(username="pia")
    order = OrderFactory(status=from_status)

    changed = order_transition(
        order_id=order.pk,
        to_status=to_status,
        actor=actor,
        event_type=OrderEvent.Type.APPROVED,
        data={"why": "test"},
    )

    assert changed.status == to_status
    order.refresh_from_db()
    assert order.status == to_status
    event = order.events.get()
    assert (event.from_status, event.to_status) == (from_status, to_status)
    assert event.actor == actor
    assert event.type == OrderEvent.Type.APPROVED
    assert event.data == {"why": "test"}


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), FORBIDDEN)
def test_forbidden_transition_is_refused_and_changes_nothing(from_status, to_status):
    order = OrderFactory(status=from_status)

    with pytest.raises(InvalidTransition) as refused:
        order_transition(
            order_id=order.pk, to_status=to_status, actor=None, event_type=OrderEvent.Type.HELD
        )

    assert refused.value.order.pk == order.pk
    assert order.number in refused.value.messages[0]
    order.refresh_from_db()
    assert order.status == from_status
    assert not order.events.exists()


@pytest.mark.django_db
def test_system_transition_records_no_actor():
    order = OrderFactory(status=S.RECEIVED)
    order_transition(
        order_id=order.pk,
        to_status=S.AWAITING_REVIEW,
        actor=None,
        event_type=OrderEvent.Type.SENT_TO_REVIEW,
    )
    assert order.events.get().actor is None


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_approve_once():
    order = order_with_lines(status=S.AWAITING_REVIEW)
    reviewers = [UserFactory(username=f"rev{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user):
        try:
            barrier.wait(timeout=5)
            order_approve(order_id=order.pk, actor=user)
            outcomes.append("approved")
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            # Each thread has its own connection; close it, or the test database cannot
            # be dropped at the end.
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["approved", "refused"]
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.APPROVED).count() == 1
    order.refresh_from_db()
    assert order.status == S.APPROVED
