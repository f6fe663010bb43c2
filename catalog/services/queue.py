"""The data-entry queue (process "web_ready_data"): what is not web-ready, or not verified.

Each product in the queue has one open WorkItem in opsdesk.processes (opening it notifies the
staff on duty); `queue_sync` keeps that item, and the product's verification, in step with
the web-ready rule after every change a service makes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Product, ProductEvent
from catalog.rules import QUEUE_STATUSES, web_ready_check, web_ready_counts
from catalog.services._common import event_record, product_lock
from opsdesk.processes.models import Process, WorkItem
from opsdesk.processes.services import work_item_claim, work_item_close, work_item_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

WEB_READY_PROCESS = "web_ready_data"
RECONCILE_BATCH = 200


def _user_label(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def product_open_work_item(product: Product) -> WorkItem | None:
    """The product's open item in the data-entry queue, if any."""
    return (
        WorkItem.objects.filter(
            process__key=WEB_READY_PROCESS,
            source_type=ContentType.objects.get_for_model(Product),
            source_id=product.pk,
            status=WorkItem.Status.OPEN,
        )
        .order_by("pk")
        .first()
    )


def queue_sync(product: Product, *, actor: User | None, notify: bool = True) -> Product:
    """Bring the product's verification and queue item in line with the web-ready rule.

    A verified product that is no longer web-ready loses its verification (recorded). A
    product in the queue gets an open item (opening it again is a no-op); one that left the
    queue has its item closed. Call it inside the service's transaction, the row locked.
    """
    problems = web_ready_check(product, counts=web_ready_counts(product.pk))
    if product.verified_at is not None and problems:
        product.verified_at = None
        product.verified_by = None
        product.save(update_fields=["verified_at", "verified_by", "updated_at"])
        event_record(
            product,
            type=ProductEvent.Type.VERIFICATION_CLEARED,
            actor=actor,
            data={"problems": [p.message for p in problems]},
        )
    in_queue = product.status in QUEUE_STATUSES and (bool(problems) or product.verified_at is None)
    if in_queue:
        process = Process.objects.filter(key=WEB_READY_PROCESS).first()
        if process is None:
            # The catalogue is seeded by a migration; without it the queue page still lists
            # the product (it is computed from the products), only nobody is notified.
            logger.error(
                "process %s is missing; no queue item for product %s", WEB_READY_PROCESS, product.pk
            )
            return product
        work_item_open(
            process=process,
            title=f"Web-ready data: {product.title}",
            link=product.get_absolute_url(),
            source=product,
            notify_on_duty=notify,
        )
    else:
        item = product_open_work_item(product)
        if item is not None:
            done = product.verified_at is not None and not problems
            work_item_close(
                item_id=item.pk,
                actor=actor,
                status=WorkItem.Status.DONE if done else WorkItem.Status.CANCELLED,
            )
    return product


@transaction.atomic
def product_claim(*, product_id: int, actor: User) -> Product:
    """Claim a product in the data-entry queue, so colleagues see who is completing it."""
    product = product_lock(product_id)
    if product.claimed_by_id == actor.pk:
        return product
    if product.claimed_by_id is not None:
        raise ValidationError(f"{_user_label(product.claimed_by)} has already claimed this item.")
    item = product_open_work_item(product)
    if item is not None:
        work_item_claim(item_id=item.pk, actor=actor)  # refuses if a colleague has the item
    product.claimed_by = actor
    product.save(update_fields=["claimed_by", "updated_at"])
    event_record(product, type=ProductEvent.Type.CLAIMED, actor=actor)
    return product


@transaction.atomic
def product_verify(*, product_id: int, actor: User) -> Product:
    """Record that someone checked a web-ready product's data; it leaves the queue."""
    product = product_lock(product_id)
    if product.status not in QUEUE_STATUSES:
        raise ValidationError(
            f"“{product.title}” is {product.get_status_display().lower()}; only draft and "
            "active items are verified."
        )
    problems = web_ready_check(product)
    if problems:
        raise ValidationError(
            [f"“{product.title}” is not web-ready yet, so it cannot be verified."]
            + [p.message for p in problems],
            code="not_web_ready",
        )
    if product.verified_at is not None:
        return product
    product.verified_at = timezone.now()
    product.verified_by = actor
    product.claimed_by = None
    product.save(update_fields=["verified_at", "verified_by", "claimed_by", "updated_at"])
    event_record(product, type=ProductEvent.Type.VERIFIED, actor=actor)
    return queue_sync(product, actor=actor)


def web_ready_queue_reconcile() -> int:
    """Open the missing queue items (e.g. after a bulk change); returns how many were opened.

    Each product is handled in its own transaction; running it twice opens nothing new.
    """
    from catalog.rules import queue_q, web_ready_annotate

    ct = ContentType.objects.get_for_model(Product)
    open_ids = WorkItem.objects.filter(
        process__key=WEB_READY_PROCESS, source_type=ct, status=WorkItem.Status.OPEN
    ).values("source_id")
    candidates = list(
        web_ready_annotate(Product.objects.all())
        .filter(queue_q())
        .exclude(pk__in=open_ids)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    opened = 0
    for product_id in candidates:
        with transaction.atomic():
            product = product_lock(product_id)
            before = product_open_work_item(product)
            queue_sync(product, actor=None)
            opened += before is None and product_open_work_item(product) is not None
    return opened
