"""Races, on real parallel PostgreSQL connections: two tills handing one order over, two
people filling a window's last place, two reminder sweeps at once, and e-mails racing their
own commit (R19)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from orders.models import CustomerNotice, Shipment
from orders.services import notices
from orders.services.delivery import delivery_schedule
from orders.services.pickup import pickup_hand_over, pickup_mark_ready, pickup_reminders_send
from tests.orders.fulfillment_factories import ensure_processes
from tests.orders.test_flows_support import (
    S,
    delivery_shipment,
    delivery_zone,
    pickup_shipment,
    pickup_store,
)

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls) -> list:
    """Run the calls at once, each on its own connection; their results or errors."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(10)
            return call()
        except ValidationError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture(autouse=True)
def _processes():
    ensure_processes()


def test_two_tills_hand_one_order_over_once():
    shipment = pickup_mark_ready(shipment_id=pickup_shipment(quantity=2).pk, actor=None)
    line = shipment.lines.get()
    level = StockLevel.objects.get(variant=line.variant, location=shipment.location)
    results = race(
        [
            lambda: pickup_hand_over(
                location_id=shipment.pickup_location_id, code=shipment.pickup_code, actor=None
            )
        ]
        * 2
    )
    assert sum(isinstance(r, list) for r in results) == 1
    assert sum(isinstance(r, ValidationError) for r in results) == 1
    after = StockLevel.objects.get(pk=level.pk)
    assert after.on_hand == level.on_hand - 2
    assert StockMovement.objects.filter(kind="ship", variant=line.variant).count() == 1
    assert Shipment.objects.get(pk=shipment.pk).status == S.PICKED_UP


def test_two_people_filling_the_last_place_of_a_window_take_it_once(role_user):
    driver = role_user("Fulfillment")
    window = delivery_zone(capacity=1)
    first, second = delivery_shipment(), delivery_shipment()
    on = timezone.localdate() + timedelta(days=1)
    results = race(
        [
            lambda s=s: delivery_schedule(
                shipment_id=s.pk, date=on, window_id=window.pk, driver_id=driver.pk, actor=None
            )
            for s in (first, second)
        ]
    )
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and "window is full" in str(refused[0])
    assert Shipment.objects.filter(delivery_window=window, delivery_date=on).count() == 1


def test_two_reminder_sweeps_at_once_remind_once(settings):
    settings.PICKUP_REMINDER_DAYS = 1
    shipments = [
        pickup_mark_ready(shipment_id=pickup_shipment(pickup_store("S")).pk, actor=None)
        for _ in range(3)
    ]
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
        ready_at=timezone.now() - timedelta(days=2)
    )
    results = race([pickup_reminders_send, pickup_reminders_send])
    assert sum(r["reminded"] for r in results) == 3
    assert CustomerNotice.objects.filter(kind="pickup_reminder").count() == 3
    assert set(Shipment.objects.values_list("pickup_reminders_sent", flat=True)) == {1}


def test_the_ready_e_mail_is_sent_after_commit_and_never_for_a_rollback(monkeypatch):
    """The sender runs when the on-commit hook fires and finds its row committed; a
    rolled-back step leaves no row and sends nothing (R19)."""
    seen = []

    def enqueue(notice_id):
        seen.append(notice_id)
        notices.customer_notice_send(notice_id=notice_id)

    monkeypatch.setattr(notices, "_enqueue", enqueue)
    store = pickup_store()
    kept = pickup_shipment(store)
    dropped = pickup_shipment(store)
    with pytest.raises(RuntimeError), transaction.atomic():
        pickup_mark_ready(shipment_id=dropped.pk, actor=None)
        raise RuntimeError("rolled back")
    assert seen == [] and mail.outbox == []
    for _ in range(20):
        mail.outbox.clear()
        seen.clear()
        kept = pickup_mark_ready(shipment_id=kept.pk, actor=None)
        assert len(seen) == 1 and len(mail.outbox) == 1
        assert CustomerNotice.objects.get(pk=seen[0]).status == "sent"
        # Back to the shelf for the next round (the test's own shortcut, not a flow step).
        Shipment.objects.filter(pk=kept.pk).update(status=S.PICKED)
    assert not CustomerNotice.objects.filter(shipment=dropped).exists()
