"""Store pickup: ready for pickup, the code, handover, reminders and uncollected orders."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from opsdesk.core.roles import Role
from opsdesk.processes.models import WorkItem
from orders.models import CustomerNotice, Order, OrderEvent, Shipment, ShipmentEvent
from orders.services import pickup
from orders.services.pickup import (
    CODE_ALPHABET,
    pickup_cancel_uncollected,
    pickup_find,
    pickup_hand_over,
    pickup_mark_ready,
    pickup_reminders_send,
)
from orders.tasks_flows import pickup_reminders_send_task
from tests.orders.test_flows_support import (
    S,
    delivery_shipment,
    pickup_shipment,
    pickup_store,
    send_mail_now,
    sent_to,
    walk,
)

pytestmark = pytest.mark.django_db


def open_items(shipment) -> list[tuple[str, str]]:
    return list(
        WorkItem.objects.filter(
            source_type=ContentType.objects.get_for_model(Shipment),
            source_id=shipment.pk,
            status=WorkItem.Status.OPEN,
        ).values_list("process__key", "title")
    )


def level_of(shipment) -> StockLevel:
    line = shipment.lines.get()
    return StockLevel.objects.get(variant=line.variant, location=shipment.location)


# Ready for pickup --------------------------------------------------------------------------


def test_mark_ready_gives_a_readable_code_and_records_the_step(role_user):
    clerk = role_user(Role.FULFILLMENT)
    shipment = pickup_shipment()
    shipment = pickup_mark_ready(shipment_id=shipment.pk, actor=clerk)
    assert shipment.status == S.READY_FOR_PICKUP
    assert len(shipment.pickup_code) == 6
    assert set(shipment.pickup_code) <= set(CODE_ALPHABET)
    assert not set(shipment.pickup_code) & set("0O1I")
    assert shipment.ready_at is not None
    event = ShipmentEvent.objects.filter(shipment=shipment, to_status=S.READY_FOR_PICKUP).get()
    assert event.actor == clerk and event.from_status == S.PICKED
    # The "make it ready" step leaves the queue; the customer, not staff, has the next move.
    assert open_items(shipment) == []


def test_mark_ready_queues_the_ready_e_mail_with_code_and_store_address(
    monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    shipment = pickup_shipment()
    with django_capture_on_commit_callbacks(execute=True):
        shipment = pickup_mark_ready(shipment_id=shipment.pk, actor=None)
    (message,) = sent_to(shipment.order.email)
    assert message.subject == f"Your order {shipment.order.number} is ready for pickup"
    assert shipment.pickup_code in message.body
    assert "1 High Street" in message.body
    assert "High Street" in message.body
    assert "Opening hours" not in message.body  # not kept yet: the block stays out
    html = message.alternatives[0][0]
    assert shipment.pickup_code in html and "1 High Street" in html
    assert message.reply_to == [settings.STORE_REPLY_TO]
    assert OrderEvent.objects.filter(
        order=shipment.order, type=OrderEvent.Type.NOTICE, data__kind="ready_for_pickup"
    ).exists()


def test_ready_e_mail_is_not_sent_when_the_transaction_rolls_back(
    monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    shipment = pickup_shipment()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        pickup_mark_ready(shipment_id=shipment.pk, actor=None)
        raise RuntimeError("something later failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not CustomerNotice.objects.filter(shipment=shipment).exists()
    shipment.refresh_from_db()
    assert shipment.status == S.PICKED and shipment.pickup_code == ""


@pytest.mark.parametrize("status", [S.PENDING, S.READY_FOR_PICKUP])
def test_mark_ready_refuses_a_shipment_not_picked(status):
    shipment = pickup_shipment(status=S.PENDING if status == S.PENDING else S.PICKED)
    if status == S.READY_FOR_PICKUP:
        pickup_mark_ready(shipment_id=shipment.pk, actor=None)
    with pytest.raises(ValidationError, match="cannot be marked ready"):
        pickup_mark_ready(shipment_id=shipment.pk, actor=None)


def test_mark_ready_refuses_another_method():
    shipment = delivery_shipment(status=S.PICKED)
    with pytest.raises(ValidationError, match="not a store pickup shipment"):
        pickup_mark_ready(shipment_id=shipment.pk, actor=None)


def test_mark_ready_refuses_another_stores_shipment():
    shipment = pickup_shipment(pickup_store("Mall"))
    other = pickup_store("Station")
    with pytest.raises(Shipment.DoesNotExist):
        pickup_mark_ready(shipment_id=shipment.pk, actor=None, location_id=other.pk)
    shipment.refresh_from_db()
    assert shipment.status == S.PICKED


def test_codes_are_unique_among_open_pickups(monkeypatch):
    store = pickup_store()
    first = pickup_mark_ready(shipment_id=pickup_shipment(store).pk, actor=None)
    # The generator first offers the code already in use, then a fresh one.
    offered = iter(first.pickup_code + "ABCDEF")
    monkeypatch.setattr(pickup.secrets, "choice", lambda alphabet: next(offered))
    second = pickup_mark_ready(shipment_id=pickup_shipment(store).pk, actor=None)
    assert second.pickup_code == "ABCDEF" != first.pickup_code


def test_an_order_without_e_mail_is_still_marked_ready():
    shipment = pickup_shipment(email="")
    shipment = pickup_mark_ready(shipment_id=shipment.pk, actor=None)
    assert shipment.status == S.READY_FOR_PICKUP
    assert not CustomerNotice.objects.filter(shipment=shipment).exists()
    assert ShipmentEvent.objects.filter(shipment=shipment, type="notice_skipped").exists()


# Handover ----------------------------------------------------------------------------------


def test_hand_over_with_the_code_commits_stock_and_records_who(role_user):
    clerk = role_user(Role.CUSTOMER_SERVICE)
    shipment = pickup_shipment(quantity=2)
    shipment = pickup_mark_ready(shipment_id=shipment.pk, actor=None)
    before = level_of(shipment)
    (done,) = pickup_hand_over(
        location_id=shipment.pickup_location_id,
        code=shipment.pickup_code.lower()[:3] + " " + shipment.pickup_code[3:],
        actor=clerk,
    )
    assert done.status == S.PICKED_UP
    assert done.handed_over_by == clerk and done.picked_up_at is not None
    after = level_of(shipment)
    assert (after.on_hand, after.reserved) == (before.on_hand - 2, before.reserved - 2)
    assert Reservation.objects.get(pk=shipment.lines.get().reservation_id).status == "shipped"
    assert Order.objects.get(pk=shipment.order_id).status == Order.Status.FULFILLED
    assert open_items(shipment) == []


def test_hand_over_with_order_number_and_last_name():
    shipment = pickup_mark_ready(shipment_id=pickup_shipment().pk, actor=None)
    (done,) = pickup_hand_over(
        location_id=shipment.pickup_location_id,
        order_number=shipment.order.number.lstrip("#"),
        last_name="  lovelace ",
        actor=None,
    )
    assert done.status == S.PICKED_UP


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "ZZZZZZ"},
        {"order_number": "999999", "last_name": "Lovelace"},
        {"order_number": "REAL", "last_name": "Babbage"},
    ],
)
def test_hand_over_with_a_wrong_answer_is_refused_and_reveals_nothing(answer):
    shipment = pickup_mark_ready(shipment_id=pickup_shipment().pk, actor=None)
    if answer.get("order_number") == "REAL":
        answer = {**answer, "order_number": shipment.order.number}
    with pytest.raises(ValidationError) as refused:
        pickup_hand_over(location_id=shipment.pickup_location_id, actor=None, **answer)
    assert refused.value.messages == [pickup.NOT_FOUND]
    assert shipment.order.number not in str(refused.value)
    shipment.refresh_from_db()
    assert shipment.status == S.READY_FOR_PICKUP and shipment.picked_up_at is None


def test_the_code_does_not_work_at_another_store():
    shipment = pickup_mark_ready(shipment_id=pickup_shipment(pickup_store("A")).pk, actor=None)
    other = pickup_store("B")
    with pytest.raises(ValidationError, match="No order ready for pickup"):
        pickup_hand_over(location_id=other.pk, code=shipment.pickup_code, actor=None)


def test_hand_over_twice_is_refused_and_stock_leaves_once():
    shipment = pickup_mark_ready(shipment_id=pickup_shipment(quantity=1).pk, actor=None)
    pickup_hand_over(location_id=shipment.pickup_location_id, code=shipment.pickup_code, actor=None)
    on_hand = level_of(shipment).on_hand
    with pytest.raises(ValidationError, match="No order ready for pickup"):
        pickup_hand_over(
            location_id=shipment.pickup_location_id, code=shipment.pickup_code, actor=None
        )
    assert level_of(shipment).on_hand == on_hand


def test_hand_over_needs_a_code_or_number_and_name():
    store = pickup_store()
    with pytest.raises(ValidationError, match="Enter the pickup code"):
        pickup_find(location_id=store.pk, order_number="1001")


def test_picked_but_not_ready_cannot_be_handed_over():
    shipment = pickup_shipment()
    with pytest.raises(ValidationError):
        pickup_hand_over(
            location_id=shipment.pickup_location_id,
            order_number=shipment.order.number,
            last_name="Lovelace",
            actor=None,
        )


# Reminders and uncollected orders ----------------------------------------------------------


def ready_days_ago(days: float) -> Shipment:
    shipment = pickup_mark_ready(shipment_id=pickup_shipment().pk, actor=None)
    Shipment.objects.filter(pk=shipment.pk).update(ready_at=timezone.now() - timedelta(days=days))
    return Shipment.objects.get(pk=shipment.pk)


def test_reminder_after_the_set_days_once_per_period(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.PICKUP_REMINDER_DAYS = 3
    send_mail_now(monkeypatch)
    fresh = ready_days_ago(1)
    waiting = ready_days_ago(4)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert pickup_reminders_send() == {"reminded": 1, "flagged": 0}
        assert pickup_reminders_send() == {"reminded": 0, "flagged": 0}
    (message,) = mail.outbox
    assert message.subject == f"Reminder: your order {waiting.order.number} is waiting for you"
    assert waiting.pickup_code in message.body
    waiting.refresh_from_db()
    assert waiting.pickup_reminders_sent == 1 and waiting.last_reminder_at is not None
    fresh.refresh_from_db()
    assert fresh.pickup_reminders_sent == 0
    # Another period later, one more.
    later = timezone.now() + timedelta(days=3, minutes=1)
    assert pickup_reminders_send(now=later)["reminded"] == 2  # waiting again, and fresh now


def test_uncollected_after_the_hold_is_flagged_for_staff_once(settings):
    settings.PICKUP_HOLD_DAYS = 14
    shipment = ready_days_ago(15)
    assert pickup_reminders_send() == {"reminded": 0, "flagged": 1}
    assert pickup_reminders_send() == {"reminded": 0, "flagged": 0}
    shipment.refresh_from_db()
    assert shipment.uncollected_flagged_at is not None
    assert open_items(shipment) == [
        ("store_pickup", f"Cancel and restock: {shipment.number} not collected")
    ]


def test_the_task_is_safe_to_run_twice(settings):
    settings.PICKUP_REMINDER_DAYS = 2
    shipment = ready_days_ago(3)
    pickup_reminders_send_task()
    pickup_reminders_send_task()
    shipment.refresh_from_db()
    assert shipment.pickup_reminders_sent == 1
    assert CustomerNotice.objects.filter(shipment=shipment, kind="pickup_reminder").count() == 1


def test_cancel_uncollected_releases_stock_and_closes_the_item(role_user):
    shipment = ready_days_ago(20)
    pickup_reminders_send()
    before = level_of(shipment)
    manager = role_user(Role.MANAGER)
    cancelled = pickup_cancel_uncollected(
        shipment_id=shipment.pk, actor=manager, location_id=shipment.pickup_location_id
    )
    assert cancelled.status == S.CANCELLED
    after = level_of(shipment)
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved - 2)
    assert open_items(shipment) == []
    event = ShipmentEvent.objects.get(shipment=shipment, to_status=S.CANCELLED)
    assert event.actor == manager and "Not collected" in event.note


def test_cancel_uncollected_refuses_a_shipment_handed_over():
    shipment = pickup_mark_ready(shipment_id=pickup_shipment().pk, actor=None)
    pickup_hand_over(location_id=shipment.pickup_location_id, code=shipment.pickup_code, actor=None)
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        pickup_cancel_uncollected(shipment_id=shipment.pk, actor=None)


def test_cancel_uncollected_refuses_one_still_being_picked():
    shipment = pickup_shipment(status=S.PENDING)
    walk(shipment, S.PICKING)
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        pickup_cancel_uncollected(shipment_id=shipment.pk, actor=None)
