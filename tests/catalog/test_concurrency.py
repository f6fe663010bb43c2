"""Races on real parallel PostgreSQL connections."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from catalog import services
from catalog.models import Product, ProductEvent, Variant
from opsdesk.processes.models import Process, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web_ready_process():
    # A transactional test may follow another that emptied the process catalogue.
    group, _ = Group.objects.get_or_create(name="Content editor")
    Process.objects.get_or_create(
        key="web_ready_data",
        defaults={"name": "Web-ready data entry", "owner_role": group, "target_minutes": 60},
    )


def race(count: int, work) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(i)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_parallel_drafts_for_one_sku_make_one_product(web_ready_process):
    def work(i: int) -> None:
        services.product_create_draft(
            sku="RACE-1", title=f"Race {i}", price=Decimal("5"), source="pos_sync", actor=None
        )

    assert race(8, work) == []
    assert Variant.objects.filter(sku="RACE-1").count() == 1
    assert Product.objects.count() == 1
    assert ProductEvent.objects.filter(type=ProductEvent.Type.CREATED).count() == 1
    assert WorkItem.objects.filter(status="open").count() == 1


def test_parallel_publish_records_one_publication(web_ready_process, make_ready_product):
    product = make_ready_product()

    def work(i: int) -> None:
        services.product_publish(product_id=product.pk, actor=None)

    assert race(6, work) == []
    assert ProductEvent.objects.filter(product=product, type="published").count() == 1
