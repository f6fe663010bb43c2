"""Reads of orders for the review queue and the order page, each in a fixed number of queries
whatever the number of orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from opsdesk.core.cached import cached
from opsdesk.core.compiled import CompiledRead
from opsdesk.processes.selectors import process_target
from orders.models import Channel, CustomerNotice, Order, OrderEvent, OrderLine, Shipment

REVIEW_PROCESS = "order_review"
DEFAULT_TARGET = timedelta(hours=1)
PER_PAGE = 25
# The queue counts at most this many rows; past it the page says "10,000+" (a COUNT over
# every order on each page view costs more than the page itself).
COUNT_CAP = 10_000
OPEN_STATUSES = (Order.Status.RECEIVED, Order.Status.AWAITING_REVIEW, Order.Status.ON_HOLD)


CHANNELS_KEY = "opsdesk:orders:channel-choices"


def channel_choices() -> list[tuple[int, str, str]]:
    """(pk, slug, name) of every channel, by name, for the queue's filter on every page: kept
    in the cache (opsdesk.core.cached), cleared when a channel is saved (orders/receivers)."""
    return cached(CHANNELS_KEY, _channel_rows)


def _channel_rows() -> list[tuple[int, str, str]]:
    return list(Channel.objects.order_by("name").values_list("pk", "slug", "name"))


def review_target() -> timedelta:
    """How long an order may wait for review: the order review process's target time."""
    return process_target(REVIEW_PROCESS) or DEFAULT_TARGET


def order_list_for_review(
    *,
    statuses: tuple[str, ...] = (Order.Status.AWAITING_REVIEW,),
    risk: str = "",
    channel_id: int | None = None,
    method: str = "",
    created_before: datetime | None = None,
) -> QuerySet[Order]:
    """Orders for the review queue, oldest first, with what each row shows."""
    orders = Order.objects.select_related("customer", "channel", "claimed_by").order_by(
        "created_at", "id"
    )
    if len(statuses) == 1:
        orders = orders.filter(status=statuses[0])
    elif statuses:
        orders = orders.filter(status__in=statuses)
    if risk == "none":
        orders = orders.filter(risk_level="")
    elif risk:
        orders = orders.filter(risk_level=risk)
    if channel_id is not None:
        orders = orders.filter(channel_id=channel_id)
    if method:
        orders = orders.filter(fulfillment_method=method)
    if created_before is not None:
        orders = orders.filter(created_at__lt=created_before)
    return orders


@dataclass
class QueueRow:
    """What one row of the queue shows, read with values(): building 25 orders with their
    customer, channel and claimer as model instances costs more than the rest of the page."""

    pk: int
    number: str
    status: str
    status_label: str
    review_reasons: list
    channel_name: str
    method_label: str
    customer_name: str
    customer_email: str
    total: object
    currency: str
    risk_level: str
    risk_score: int | None
    risk_label: str
    created_at: datetime
    created_iso: str
    age: str
    is_late: bool
    claimed_by_label: str
    url: str
    approve_url: str


QUEUE_VALUES = (
    "id",
    "number",
    "status",
    "review_reasons",
    "source",
    "fulfillment_method",
    "email",
    "total",
    "currency",
    "risk_level",
    "risk_score",
    "created_at",
    "channel__name",
    "customer__first_name",
    "customer__last_name",
    "customer__email",
    "claimed_by__username",
    "claimed_by__first_name",
    "claimed_by__last_name",
)
STATUS_LABELS = dict(Order.Status.choices)
METHOD_LABELS = dict(Order.Method.choices)
SOURCE_LABELS = dict(Order.Source.choices)


def _url_for_each(name: str) -> Callable[[int], str]:
    """reverse() once, then fill in each order's id (25 rows would reverse 50 times)."""
    marker = 987654321
    pattern = reverse(name, kwargs={"pk": marker}).replace(str(marker), "{pk}")
    return lambda pk: pattern.format(pk=pk)


def age_label(delta: timedelta) -> str:
    """12 min, 3 h 5 min, 2 days 4 h: coarse enough for a queue."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    label = f"{days} day{'s' if days != 1 else ''}"
    return f"{label} {hours} h" if hours else label


def _risk_label(level: str, score: int | None) -> str:
    if not level:
        return "not assessed"
    return f"{level} · {score}" if score is not None else level


def queue_rows(orders: QuerySet[Order], *, late_before: datetime) -> list[QueueRow]:
    """The rows of a queue queryset (sliced or not), in one query."""
    detail_url, approve_url = _url_for_each("orders:detail"), _url_for_each("orders:approve")
    now = timezone.now()
    rows = []
    for v in orders.values(*QUEUE_VALUES):
        claimer = " ".join(
            n for n in (v["claimed_by__first_name"], v["claimed_by__last_name"]) if n
        )
        customer = " ".join(n for n in (v["customer__first_name"], v["customer__last_name"]) if n)
        created = v["created_at"]
        rows.append(
            QueueRow(
                pk=v["id"],
                number=v["number"],
                status=v["status"],
                status_label=str(STATUS_LABELS.get(v["status"], v["status"])),
                review_reasons=v["review_reasons"] or [],
                channel_name=v["channel__name"] or str(SOURCE_LABELS.get(v["source"], "")),
                method_label=str(METHOD_LABELS.get(v["fulfillment_method"], "")),
                customer_name=customer,
                customer_email=v["customer__email"] or v["email"] or "",
                total=v["total"],
                currency=v["currency"],
                risk_level=v["risk_level"],
                risk_score=v["risk_score"],
                risk_label=_risk_label(v["risk_level"], v["risk_score"]),
                created_at=created,
                created_iso=created.isoformat(timespec="minutes"),
                age=age_label(now - created),
                is_late=v["status"] in OPEN_STATUSES and created < late_before,
                claimed_by_label=claimer or v["claimed_by__username"] or "",
                url=detail_url(v["id"]),
                approve_url=approve_url(v["id"]),
            )
        )
    return rows


@dataclass
class QueuePage:
    """One page of the queue, counted up to COUNT_CAP rows."""

    rows: list[QueueRow]
    number: int
    per_page: int
    count: int
    count_capped: bool
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def num_pages(self) -> int | None:
        """The number of pages, or None when the count was capped."""
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.per_page))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)


def queue_page(
    orders: QuerySet[Order],
    *,
    page: str | int | None,
    late_before: datetime,
    per_page: int | None = None,
) -> QueuePage:
    """Two queries: a capped count, and the page's rows (one more, to know of a next page).

    The rows keep the queryset's order; the queryset must be ordered.

    A page past the end gives the last page; with a capped count, any page can be asked for
    and an empty one is shown as such.
    """
    per_page = per_page or PER_PAGE
    try:
        number = max(1, int(page or 1))
    except (TypeError, ValueError):
        number = 1
    count = orders.order_by()[: COUNT_CAP + 1].count()
    capped = count > COUNT_CAP
    if not capped:
        number = min(number, max(1, -(-count // per_page)))
    offset = (number - 1) * per_page
    # The page's ids first (an index-only scan, however deep the page), then their rows with
    # the joins: joining before the OFFSET would join every skipped row too.
    page_ids = orders.values("pk")[offset : offset + per_page + 1]
    rows = queue_rows(
        Order.objects.filter(pk__in=page_ids).order_by(*orders.query.order_by),
        late_before=late_before,
    )
    return QueuePage(
        rows=rows[:per_page],
        number=number,
        per_page=per_page,
        count=min(count, COUNT_CAP),
        count_capped=capped,
        has_next=len(rows) > per_page,
    )


# The order page's reads, compiled once per process (opsdesk.core.compiled): compiling them
# took longer than running them.
_order_for_detail = CompiledRead(
    lambda order_id: Order.objects.select_related("channel", "customer", "risk").filter(
        pk=order_id
    ),
    order_id=int,
)
_order_lines = CompiledRead(
    lambda order_id: OrderLine.objects.filter(order_id=order_id).order_by("id"), order_id=int
)
_order_events = CompiledRead(
    lambda order_id: (
        OrderEvent.objects.filter(order_id=order_id)
        .select_related("actor")
        .order_by("-created_at", "-id")
    ),
    order_id=int,
)


def order_get_for_detail(*, order_id: int) -> Order:
    """The order with its channel, customer and risk, `line_list`, `timeline` (newest first)
    and its fulfillment panel's `shipment_list` and `notice_list`: three queries, and one each
    for the panel's lists only when there is something to list (order_fulfillment).

    Who claimed it and the pickup store, when there are any, load when the page asks: most
    orders have neither, and two more joins cost the planner more than the rare query.
    (Two plain queries cost less than prefetch_related's machinery for one order.)"""
    found = _order_for_detail(order_id=order_id)
    if not found:
        raise Order.DoesNotExist(f"No order has id {order_id}.")
    order = found[0]
    order.line_list = _order_lines(order_id=order.pk)
    order.timeline = order_timeline(order_id=order.pk)
    order.shipment_list, order.notice_list = order_fulfillment(order)
    return order


def order_fulfillment(order: Order) -> tuple[list[Shipment], list[CustomerNotice]]:
    """The order's shipments and the e-mails sent to its customer, oldest shipment first.

    Neither is read when it cannot exist: shipments are made when an order is approved, and
    an approved order never goes back to review; every notice is written with a timeline
    event naming it (orders.services.notices), so an order whose `timeline` has none has no
    notice."""
    shipments: list[Shipment] = []
    notices: list[CustomerNotice] = []
    if order.status not in OPEN_STATUSES:
        shipments = list(order.shipments.order_by("pk"))
    if any(event.type == OrderEvent.Type.NOTICE for event in order.timeline):
        notices = list(order.notices.defer("body_text", "body_html", "last_error"))
    return shipments, notices


def order_timeline(*, order_id: int) -> list[OrderEvent]:
    """The order's events, newest first, with who did each."""
    return _order_events(order_id=order_id)


def customer_order_history(*, order: Order, limit: int = 10) -> list[Order]:
    """The buyer's other orders, newest first (one more than `limit`, to say "more")."""
    if order.customer_id:
        return _history_read("customer_id", int, limit)(buyer=order.customer_id, order_id=order.pk)
    if order.email:
        return _history_read("email", str, limit)(buyer=order.email, order_id=order.pk)
    return []


@cache
def _history_read(buyer_field: str, kind: type, limit: int) -> CompiledRead:
    return CompiledRead(
        lambda buyer, order_id: (
            Order.objects.filter(**{buyer_field: buyer})
            .exclude(pk=order_id)
            .only("id", "number", "status", "total", "currency", "created_at", "payment_status")
            .order_by("-created_at", "-id")[: limit + 1]
        ),
        buyer=kind,
        order_id=int,
    )


def order_queue_neighbours(*, order: Order) -> tuple[int | None, int | None]:
    """The previous and next orders awaiting review around `order`, oldest first."""
    waiting = Order.objects.filter(status=Order.Status.AWAITING_REVIEW)
    # The plain bound (created_at >= ...) lets the index start at the order, not at the
    # oldest waiting order; the OR then settles ties by id.
    after = Q(created_at__gte=order.created_at) & (
        Q(created_at__gt=order.created_at) | Q(id__gt=order.pk)
    )
    before = Q(created_at__lte=order.created_at) & (
        Q(created_at__lt=order.created_at) | Q(id__lt=order.pk)
    )
    next_id = (
        waiting.filter(after).order_by("created_at", "id").values_list("id", flat=True).first()
    )
    previous_id = (
        waiting.filter(before).order_by("-created_at", "-id").values_list("id", flat=True).first()
    )
    return previous_id, next_id


def late_before(*, target: timedelta, now: datetime | None = None) -> datetime:
    """Orders created before this moment are late."""
    return (now or timezone.now()) - target
