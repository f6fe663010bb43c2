"""Building blocks of the returns services: locking, transitions, timelines, queues, e-mails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from opsdesk.processes.models import WorkItem
from opsdesk.processes.services import work_item_close, work_item_open
from orders.models import Order, OrderEvent
from returns.models import ReturnEvent, ReturnRequest

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import User

RETURNS_PROCESS = "returns"
REFUNDS_PROCESS = "refunds"
TEXT_MAX = 2000
REASON_MAX = 255


def user_label(user: User | None) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.get_username()


def clean_text(value: str, *, field: str, what: str, required: bool, limit: int) -> str:
    """Trimmed free text, refused when missing (if required) or too long."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"Give {what}."})
    if len(value) > limit:
        raise ValidationError({field: f"Keep {what} under {limit} characters."})
    return value


def lock_order(order_id: int) -> Order:
    try:
        return Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    except Order.DoesNotExist:
        raise ValidationError(f"There is no order with id {order_id}.") from None


def lock_return(return_id: int) -> ReturnRequest:
    try:
        return (
            ReturnRequest.objects.select_for_update(of=("self",))
            .select_related("order", "policy")
            .get(pk=return_id)
        )
    except ReturnRequest.DoesNotExist:
        raise ValidationError(f"There is no return with id {return_id}.") from None


def return_event(
    ret: ReturnRequest,
    *,
    type: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> ReturnEvent:
    """One row on the return's timeline, and its step on the order's."""
    event = ReturnEvent.objects.create(
        return_request=ret,
        type=type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
    OrderEvent.objects.create(
        order_id=ret.order_id,
        type=OrderEvent.Type.RETURN,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data={"return": ret.pk, "number": ret.number, "step": type, **(data or {})},
    )
    return event


def return_transition(
    ret: ReturnRequest,
    *,
    to_status: str,
    actor: User | None,
    event_type: str,
    data: dict[str, Any] | None = None,
) -> ReturnRequest:
    """Move a locked return along its table, with its timeline event."""
    if to_status not in ReturnRequest.ALLOWED_TRANSITIONS.get(ret.status, ()):
        label = ReturnRequest.Status(to_status).label.lower()
        raise ValidationError(
            f"Return {ret.number} is {ret.get_status_display().lower()}; it cannot become {label}."
        )
    from_status, ret.status = ret.status, to_status
    ret.save(update_fields=["status", "updated_at"])
    return_event(
        ret,
        type=event_type,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=data,
    )
    return ret


def queue_open(
    *,
    process: str,
    source: models.Model,
    title: str,
    link: str,
    due_at: datetime | None = None,
) -> WorkItem:
    """Put the next step of a return or refund in its process's queue."""
    return work_item_open(process=process, title=title, link=link, source=source, due_at=due_at)


def queue_close(*, source: models.Model, actor: User | None, cancelled: bool = False) -> int:
    """Take a return or refund out of every queue it is in."""
    ids = list(
        WorkItem.objects.filter(
            source_type=ContentType.objects.get_for_model(source),
            source_id=source.pk,
            status=WorkItem.Status.OPEN,
        ).values_list("pk", flat=True)
    )
    status = WorkItem.Status.CANCELLED if cancelled else WorkItem.Status.DONE
    for item_id in ids:
        work_item_close(item_id=item_id, actor=actor, status=status)
    return len(ids)


def queue_next(
    *,
    process: str,
    source: models.Model,
    title: str,
    link: str,
    actor: User | None,
    due_at: datetime | None = None,
) -> WorkItem:
    """Close the step done and open the next one."""
    queue_close(source=source, actor=actor)
    return queue_open(process=process, source=source, title=title, link=link, due_at=due_at)


def notice_send(
    *,
    kind: str,
    ret: ReturnRequest | None,
    order: Order,
    actor: User | None,
    context: dict[str, Any],
) -> None:
    """Write the customer's e-mail in this transaction; Celery sends it after commit."""
    from orders.services.notices import customer_notice_queue

    if not order.email:
        # Staff see on the timeline that the customer could not be told.
        if ret is not None:
            ReturnEvent.objects.create(
                return_request=ret,
                type=ReturnEvent.Type.NOTICE,
                actor=actor,
                data={"kind": kind, "to": "", "error": "the order has no e-mail address"},
            )
        return
    notice = customer_notice_queue(
        kind=kind,
        order=order,
        context={"return_request": ret, **context},
        actor=actor,
        template_name=f"returns/notices/{kind}",
    )
    if ret is not None:
        ReturnEvent.objects.create(
            return_request=ret,
            type=ReturnEvent.Type.NOTICE,
            actor=actor,
            data={"kind": kind, "to": notice.to, "notice": notice.pk},
        )


def now() -> datetime:
    return timezone.now()
