import pytest
from django.core.exceptions import ValidationError

from inventory import signals
from inventory.exceptions import InsufficientStock, InvalidTransition
from inventory.models import Backorder, BackorderEvent, Reservation
from inventory.services import (
    backorder_cancel,
    backorder_contact_customer,
    backorder_reserve,
    backorder_substitute,
    backorder_wait_for_po,
    stock_adjust,
    stock_reserve,
)
from opsdesk.processes.models import WorkItem
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.inventory.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from tests.inventory.support import ledger_problems, level

pytest_plugins = ["tests.inventory.fixtures"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    return VariantFactory(sku="LAMP-OAK")


@pytest.fixture
def other():
    return VariantFactory(sku="LAMP-ASH")


@pytest.fixture
def agent(role_user):
    return role_user("Customer service", username="cass")


@pytest.fixture
def order():
    return ProductFactory()  # stands in for an order line: any model is a source


@pytest.fixture
def backorder(variant, order):
    return stock_reserve(
        lines=[(variant.pk, 2)], actor=None, source=order, reference="#2001"
    ).backorders[0]


def open_item(backorder) -> WorkItem | None:
    return WorkItem.objects.filter(
        process__key="out_of_stock", source_id=backorder.pk, status="open"
    ).first()


def test_a_new_backorder_opens_one_work_item_linking_to_it(backorder):
    item = open_item(backorder)
    assert item.title == "Backorder: 2 × LAMP-OAK for #2001"
    assert item.link == backorder.get_absolute_url()


def test_wait_for_a_purchase_order_records_it_and_leaves_the_decision_queue(
    backorder, variant, agent
):
    po = PurchaseOrderLineFactory(variant=variant, purchase_order__expected_at="2030-05-01")
    done = backorder_wait_for_po(
        backorder_id=backorder.pk,
        actor=agent,
        purchase_order_id=po.purchase_order_id,
        note="Due early May",
    )

    assert (done.status, done.purchase_order, done.note) == (
        Backorder.Status.WAITING_FOR_PO,
        po.purchase_order,
        "Due early May",
    )
    event = done.events.get(type=BackorderEvent.Type.PO_AWAITED)
    assert (event.actor, event.from_status, event.data["expected_at"]) == (
        agent,
        "open",
        "2030-05-01",
    )
    assert open_item(backorder) is None


def test_wait_for_a_purchase_order_without_the_item_is_refused(backorder, agent):
    unrelated = PurchaseOrderFactory()
    with pytest.raises(ValidationError) as refused:
        backorder_wait_for_po(
            backorder_id=backorder.pk, actor=agent, purchase_order_id=unrelated.pk
        )
    assert "purchase_order" in refused.value.error_dict
    backorder.refresh_from_db()
    assert backorder.status == Backorder.Status.OPEN


def test_contacting_the_customer_needs_a_note_and_keeps_the_line_in_the_queue(backorder, agent):
    with pytest.raises(ValidationError):
        backorder_contact_customer(backorder_id=backorder.pk, actor=agent, note=" ")
    backorder_wait_for_po(backorder_id=backorder.pk, actor=agent)
    assert open_item(backorder) is None

    done = backorder_contact_customer(
        backorder_id=backorder.pk, actor=agent, note="Asked if the ash one would do."
    )

    assert done.status == Backorder.Status.CUSTOMER_CONTACTED
    assert done.events.filter(type="customer_contacted", actor=agent).exists()
    assert open_item(backorder) is not None  # waiting for the customer's answer


def test_substitute_reserves_the_other_item_for_the_same_order(
    backorder, other, store, give_stock, agent, order
):
    give_stock(other, store, 5)
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.backorder_substituted.connect(receiver)
    try:
        done = backorder_substitute(
            backorder_id=backorder.pk, variant_id=other.pk, actor=agent, note="Customer agreed"
        )
    finally:
        signals.backorder_substituted.disconnect(receiver)

    assert (done.status, done.substitute) == (Backorder.Status.SUBSTITUTED, other)
    reservation = done.reservation
    assert (reservation.variant, reservation.quantity, reservation.reference) == (other, 2, "#2001")
    assert reservation.source == order
    assert level(other, store).reserved == 2
    assert open_item(backorder) is None
    assert seen and seen[-1]["substitute"] == other
    assert ledger_problems() == []


def test_substitute_without_stock_is_refused_and_changes_nothing(backorder, other, agent):
    with pytest.raises(InsufficientStock):
        backorder_substitute(backorder_id=backorder.pk, variant_id=other.pk, actor=agent)

    backorder.refresh_from_db()
    assert backorder.status == Backorder.Status.OPEN
    assert not Reservation.objects.exists()
    assert not backorder.events.exclude(type="created").exists()


def test_substitute_with_the_same_item_is_refused(backorder, variant, agent):
    with pytest.raises(ValidationError, match="different variant"):
        backorder_substitute(backorder_id=backorder.pk, variant_id=variant.pk, actor=agent)


def test_cancel_needs_a_reason_and_is_final(backorder, agent):
    with pytest.raises(ValidationError):
        backorder_cancel(backorder_id=backorder.pk, actor=agent, reason="")

    done = backorder_cancel(backorder_id=backorder.pk, actor=agent, reason="Customer cancelled")

    assert done.status == Backorder.Status.CANCELLED
    assert done.events.get(type="cancelled").data == {"reason": "Customer cancelled"}
    assert open_item(backorder) is None
    with pytest.raises(InvalidTransition):
        backorder_cancel(backorder_id=backorder.pk, actor=agent, reason="again")
    with pytest.raises(InvalidTransition):
        backorder_contact_customer(backorder_id=backorder.pk, actor=agent, note="hello")


def test_cancelling_the_short_line_reserves_the_rest_of_the_order(
    variant, other, store, give_stock, agent
):
    give_stock(variant, store, 5)
    in_stock, short = stock_reserve(
        lines=[(variant.pk, 2), (other.pk, 1)], actor=None, reference="#2002"
    ).backorders

    backorder_cancel(backorder_id=short.pk, actor=agent, reason="Out for good")

    in_stock.refresh_from_db()
    assert in_stock.status == Backorder.Status.RESERVED
    assert in_stock.reservation.reference == "#2002"
    assert level(variant, store).reserved == 2
    assert open_item(in_stock) is None
    assert ledger_problems() == []


def test_reserve_now_takes_stock_that_came_another_way(backorder, variant, store, give_stock):
    with pytest.raises(InsufficientStock):
        backorder_reserve(backorder_id=backorder.pk, actor=None)
    give_stock(variant, store, 1)
    stock_adjust(
        variant_id=variant.pk, location_id=store.pk, delta=1, reason="Found on a shelf", actor=None
    )

    done = backorder_reserve(backorder_id=backorder.pk, actor=None)

    assert done.status == Backorder.Status.RESERVED
    assert level(variant, store).reserved == 2
    assert done.events.get(type="reserved").data["why"] == "reserved by staff"
