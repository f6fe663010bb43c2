"""Local delivery: zones, windows, scheduling, out / delivered / failed, rescheduling."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inventory.models import StockLevel
from opsdesk.core.roles import Role
from orders.models import CustomerNotice, DeliveryZone, Order, ShipmentEvent
from orders.services.delivery import (
    delivery_done,
    delivery_failed,
    delivery_out,
    delivery_reschedule,
    delivery_schedule,
    delivery_window_save,
    delivery_zone_for_postcode,
    delivery_zone_save,
)
from tests.orders.test_flows_support import (
    S,
    delivery_shipment,
    delivery_zone,
    pickup_shipment,
    send_mail_now,
    sent_to,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(role_user):
    return role_user(Role.FULFILLMENT, first_name="Dana", last_name="Driver")


def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def scheduled(shipment, window, driver, on=None):
    return delivery_schedule(
        shipment_id=shipment.pk,
        date=on or tomorrow(),
        window_id=window.pk,
        driver_id=driver.pk,
        actor=None,
    )


def level_of(shipment) -> StockLevel:
    line = shipment.lines.get()
    return StockLevel.objects.get(variant=line.variant, location=shipment.location)


# Zones -------------------------------------------------------------------------------------


def test_zone_found_by_exact_postcode_or_the_longest_prefix():
    wide = DeliveryZone.objects.create(name="County", postcodes="62*")
    town = DeliveryZone.objects.create(name="Town", postcodes="627*, 62799")
    exact = DeliveryZone.objects.create(name="Street", postcodes="62701\n62702")
    DeliveryZone.objects.create(name="Closed", postcodes="62703", active=False)
    assert delivery_zone_for_postcode(" 62701 ") == exact
    assert delivery_zone_for_postcode("62705") == town
    assert delivery_zone_for_postcode("62110") == wide
    assert delivery_zone_for_postcode("62703") == town  # the closed zone no longer counts
    assert delivery_zone_for_postcode("90210") is None
    assert delivery_zone_for_postcode("") is None


def test_zone_save_checks_postcodes_and_name():
    zone = delivery_zone_save(
        zone_id=None, name="North", postcodes="sw1a 1aa\n941*", fee=0, active=True, actor=None
    )
    assert delivery_zone_for_postcode("SW1A1AA") == zone
    with pytest.raises(ValidationError, match="not a postcode"):
        delivery_zone_save(
            zone_id=None, name="Bad", postcodes="94*1", fee=0, active=True, actor=None
        )
    with pytest.raises(ValidationError, match="already a zone"):
        delivery_zone_save(
            zone_id=None, name="north", postcodes="1", fee=0, active=True, actor=None
        )
    with pytest.raises(ValidationError, match="at least one postcode"):
        delivery_zone_save(
            zone_id=None, name="Empty", postcodes=" ", fee=0, active=True, actor=None
        )


def test_window_save_checks_days_times_and_capacity():
    zone = DeliveryZone.objects.create(name="Z", postcodes="1")
    ok = delivery_window_save(
        zone_id=zone.pk,
        window_id=None,
        weekdays=[4, 0, 0],
        starts=time(9),
        ends=time(11),
        capacity=5,
        active=True,
        actor=None,
    )
    assert ok.weekdays == [0, 4]
    for bad, message in (
        ({"weekdays": []}, "Tick the days"),
        ({"ends": time(8)}, "end after"),
        ({"capacity": 0}, "at least one"),
    ):
        fields = {"weekdays": [1], "starts": time(9), "ends": time(11), "capacity": 1, **bad}
        with pytest.raises(ValidationError, match=message):
            delivery_window_save(zone_id=zone.pk, window_id=None, active=True, actor=None, **fields)


# Scheduling --------------------------------------------------------------------------------


def test_schedule_sets_zone_window_date_and_driver(driver):
    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    assert shipment.delivery_zone == window.zone and shipment.delivery_window == window
    assert shipment.delivery_date == tomorrow() and shipment.driver == driver
    assert shipment.status == S.PACKED
    assert ShipmentEvent.objects.filter(shipment=shipment, type="delivery_scheduled").exists()


def test_schedule_refuses_a_postcode_no_zone_covers(driver):
    window = delivery_zone("90210")
    shipment = delivery_shipment(postcode="10001")
    with pytest.raises(ValidationError, match="No delivery zone covers postcode 10001"):
        scheduled(shipment, window, driver)
    shipment.refresh_from_db()
    assert shipment.delivery_date is None


def test_schedule_refuses_a_window_of_another_zone(driver):
    delivery_zone("62701")
    other = delivery_zone("90210")
    with pytest.raises(ValidationError, match="zone's windows"):
        scheduled(delivery_shipment(), other, driver)


def test_schedule_refuses_a_day_the_window_does_not_run(driver):
    window = delivery_zone()
    window.weekdays = [tomorrow().weekday()]
    window.save()
    with pytest.raises(ValidationError, match="does not run on"):
        scheduled(delivery_shipment(), window, driver, on=tomorrow() + timedelta(days=1))


def test_schedule_refuses_a_date_in_the_past(driver):
    window = delivery_zone()
    with pytest.raises(ValidationError, match="in the past"):
        scheduled(delivery_shipment(), window, driver, on=timezone.localdate() - timedelta(days=1))


def test_schedule_respects_the_window_capacity(driver):
    window = delivery_zone(capacity=1)
    scheduled(delivery_shipment(), window, driver)
    with pytest.raises(ValidationError, match="window is full"):
        scheduled(delivery_shipment(), window, driver)
    # Another day still has room.
    scheduled(delivery_shipment(), window, driver, on=tomorrow() + timedelta(days=1))


def test_schedule_refuses_an_inactive_driver_and_another_method(driver):
    window = delivery_zone()
    driver.is_active = False
    driver.save()
    with pytest.raises(ValidationError, match="driver"):
        scheduled(delivery_shipment(), window, driver)
    with pytest.raises(ValidationError, match="not a local delivery shipment"):
        delivery_schedule(
            shipment_id=pickup_shipment().pk,
            date=tomorrow(),
            window_id=window.pk,
            driver_id=driver.pk,
            actor=None,
        )


# Out, delivered, failed --------------------------------------------------------------------


def test_out_commits_stock_and_e_mails_the_window(
    driver, monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    before = level_of(shipment)
    with django_capture_on_commit_callbacks(execute=True):
        shipment = delivery_out(shipment_id=shipment.pk, actor=driver)
    assert shipment.status == S.OUT_FOR_DELIVERY and shipment.delivery_attempts == 1
    after = level_of(shipment)
    assert (after.on_hand, after.reserved) == (before.on_hand - 1, before.reserved - 1)
    (message,) = sent_to(shipment.order.email)
    assert message.subject == f"Your order {shipment.order.number} is out for delivery"
    assert "between 09:00 and 12:00" in message.body
    assert "12 Analytical Row" in message.body


def test_out_is_not_e_mailed_when_the_transaction_rolls_back(
    driver, monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    shipment = scheduled(delivery_shipment(), delivery_zone(), driver)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        delivery_out(shipment_id=shipment.pk, actor=driver)
        raise RuntimeError("van broke down")
    assert callbacks == [] and mail.outbox == []
    assert not CustomerNotice.objects.filter(shipment=shipment).exists()


def test_out_refuses_an_unscheduled_or_unpacked_shipment(driver):
    with pytest.raises(ValidationError, match="Schedule shipment"):
        delivery_out(shipment_id=delivery_shipment().pk, actor=None)
    picked = scheduled(delivery_shipment(status=S.PICKED), delivery_zone("627*"), driver)
    with pytest.raises(ValidationError, match="cannot be sent out"):
        delivery_out(shipment_id=picked.pk, actor=None)


def test_delivered_with_a_note(driver):
    shipment = scheduled(delivery_shipment(), delivery_zone(), driver)
    delivery_out(shipment_id=shipment.pk, actor=driver)
    shipment = delivery_done(
        shipment_id=shipment.pk, actor=driver, note="Left with neighbour at 14"
    )
    assert shipment.status == S.DELIVERED and shipment.delivered_at is not None
    assert shipment.delivery_note == "Left with neighbour at 14"
    assert Order.objects.get(pk=shipment.order_id).status == Order.Status.FULFILLED


def test_delivered_is_refused_unless_out(driver):
    shipment = scheduled(delivery_shipment(), delivery_zone(), driver)
    with pytest.raises(ValidationError, match="cannot be marked delivered"):
        delivery_done(shipment_id=shipment.pk, actor=None)


def test_failed_needs_a_reason_then_e_mails_and_reschedules(
    driver, monkeypatch, django_capture_on_commit_callbacks
):
    send_mail_now(monkeypatch)
    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    delivery_out(shipment_id=shipment.pk, actor=driver)
    with pytest.raises(ValidationError, match="reason"):
        delivery_failed(shipment_id=shipment.pk, actor=driver, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = delivery_failed(shipment_id=shipment.pk, actor=driver, reason="Nobody home")
    assert shipment.status == S.DELIVERY_FAILED and shipment.failure_reason == "Nobody home"
    (message,) = [m for m in sent_to(shipment.order.email) if "could not deliver" in m.subject]
    assert "Nobody home" in message.body
    on_hand = level_of(shipment).on_hand
    later = tomorrow() + timedelta(days=1)
    shipment = delivery_reschedule(
        shipment_id=shipment.pk, date=later, window_id=window.pk, driver_id=driver.pk, actor=None
    )
    assert shipment.status == S.PACKED and shipment.delivery_date == later
    shipment = delivery_out(shipment_id=shipment.pk, actor=driver)
    assert shipment.delivery_attempts == 2
    assert level_of(shipment).on_hand == on_hand  # the same parcel: stock left once


def test_reschedule_is_refused_unless_failed(driver):
    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    with pytest.raises(ValidationError, match="cannot be rescheduled"):
        delivery_reschedule(
            shipment_id=shipment.pk,
            date=tomorrow(),
            window_id=window.pk,
            driver_id=driver.pk,
            actor=None,
        )


def test_scheduling_while_out_is_refused(driver):
    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    delivery_out(shipment_id=shipment.pk, actor=None)
    with pytest.raises(ValidationError, match="cannot be scheduled"):
        scheduled(shipment, window, driver)


def test_a_scheduled_delivery_is_due_in_its_queue_by_the_end_of_its_window(driver):
    from datetime import datetime

    from django.contrib.contenttypes.models import ContentType

    from opsdesk.processes.models import WorkItem
    from orders.models import Shipment

    window = delivery_zone()
    shipment = scheduled(delivery_shipment(), window, driver)
    item = WorkItem.objects.get(
        source_type=ContentType.objects.get_for_model(Shipment),
        source_id=shipment.pk,
        status=WorkItem.Status.OPEN,
    )
    assert item.process.key == "local_delivery"
    assert item.due_at == timezone.make_aware(datetime.combine(tomorrow(), time(12)))
    delivery_out(shipment_id=shipment.pk, actor=driver)
    delivery_done(shipment_id=shipment.pk, actor=driver)
    assert not WorkItem.objects.filter(
        source_id=shipment.pk, status=WorkItem.Status.OPEN, process__key="local_delivery"
    ).exists()
