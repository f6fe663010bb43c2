"""The review queue's rows and filters, and the order page's history, written in Python.

A queue page has 25 rows of some 20 values each: through template tags that was some 600
variable renders a page, the larger part of its time (bench/queues.py). Every value is
escaped as the template would escape it (format_html, or _html below), user text included.
"""

from html import escape

from django import template
from django.template.defaultfilters import date, join, linebreaksbr, pluralize
from django.utils.formats import date_format, localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from opsdesk.core.templatetags.opsdesk_tags import person
from orders.models import Order, OrderEvent
from orders.selectors import QueueRow
from orders.templatetags.order_tags import money, risk_badge, status_badge, status_label

register = template.Library()

ROW = """<tr id="order-row-{pk}" data-order-row{late}>
  <td>
    <input class="form-check-input" type="checkbox" name="order" value="{pk}" form="bulk-form"
           aria-label="Tick order {number}">
  </td>
  <td>
    <a href="{url}" data-row-link>{number}</a>
    <span class="badge {status_badge}">{status_label}</span>{reasons}
    <div class="small text-secondary">{channel_name} · {method_label}</div>
  </td>
  <td>
    {customer_name}
    <div class="small text-secondary">{customer_email}</div>
  </td>
  <td class="text-end text-nowrap">{total} {currency}</td>
  <td>
    <span class="badge {risk_badge}">{risk_label}</span>
  </td>
  <td class="text-nowrap">
    <time datetime="{created_iso}">{age}</time>{late_badge}
  </td>
  <td>{claimed_by}</td>
  <td class="text-end text-nowrap">{error}{approve}</td>
</tr>"""
REASONS = """
    <span class="badge text-bg-warning">needs a person</span>
    <div class="small text-warning-emphasis">{}</div>"""
# The bulk form carries the CSRF token, so a row needs no form (and no token) of its own.
APPROVE = """<button type="submit" form="bulk-form" formaction="{url}" name="fragment" value="row"
            hx-post="{url}" hx-vals='{{"fragment": "row"}}' hx-target="closest tr"
            hx-swap="outerHTML" class="btn btn-outline-success btn-sm"
            data-row-approve>Approve</button>"""
ERROR = '<div class="small text-danger" role="alert">{}</div>'
LATE_ROW = SafeString(' class="table-danger" data-late')
LATE_BADGE = SafeString(' <span class="badge text-bg-danger">late</span>')
NONE = "—"


def _html(template: str, **values) -> SafeString:
    """format_html() for the queue's 25 rows of some 20 values: the same escaping, without
    the check for lazy text that django.utils.html.escape() makes on each call, which costs
    several times the escaping itself (html.escape, which escape() calls)."""
    return SafeString(
        template.format(
            **{
                name: value.__html__() if hasattr(value, "__html__") else escape(str(value))
                for name, value in values.items()
            }
        )
    )


@register.simple_tag
def queue_row(row: QueueRow, error: str = "") -> SafeString:
    """One row of the queue; `error` says why approving it from the queue failed."""
    reasons = ""
    if row.review_reasons:
        reasons = format_html(
            REASONS, format_html_join("; ", "{}", ((r,) for r in row.review_reasons))
        )
    approve = ""
    if row.status == Order.Status.AWAITING_REVIEW:
        approve = _html(APPROVE, url=row.approve_url)
    return _html(
        ROW,
        pk=row.pk,
        late=LATE_ROW if row.is_late else "",
        number=row.number,
        url=row.url,
        status_badge=status_badge(row.status),
        status_label=row.status_label,
        reasons=reasons,
        channel_name=row.channel_name,
        method_label=row.method_label,
        customer_name=row.customer_name,
        customer_email=row.customer_email or NONE,
        # As the template showed it: with {% localize off %}, no thousands separator.
        total=localize(row.total, use_l10n=False),
        currency=row.currency,
        risk_badge=risk_badge(row.risk_level),
        risk_label=row.risk_label,
        created_iso=row.created_iso,
        age=row.age,
        late_badge=LATE_BADGE if row.is_late else "",
        claimed_by=row.claimed_by_label or NONE,
        error=format_html(ERROR, error) if error else "",
        approve=approve,
    )


OPTION = '<option value="{value}"{selected}>{label}</option>'
SELECTED = SafeString(" selected")


@register.simple_tag
def select_options(options: list[tuple]) -> SafeString:
    """The <option>s of one of the queue's filters, from (value, label, selected) triples."""
    return SafeString(
        "\n".join(
            _html(OPTION, value=value, selected=SELECTED if selected else "", label=label)
            for value, label, selected in options
        )
    )


HISTORY_ITEM = """<li class="list-group-item d-flex justify-content-between">
  <span><a href="{url}">{number}</a>
    <span class="badge {status_badge}">{status}</span>
    <span class="text-secondary">{payment_status}</span>
  </span>
  <span class="text-nowrap">{total} · {created}</span>
</li>"""
PAYMENT_STATUS_LABELS = dict(Order.PaymentStatus.choices)


@register.simple_tag
def history_item(order: Order) -> SafeString:
    """One of the customer's other orders, on the order page."""
    return _html(
        HISTORY_ITEM,
        url=order.get_absolute_url(),
        number=order.number,
        status_badge=status_badge(order.status),
        status=status_label(order.status),
        payment_status=PAYMENT_STATUS_LABELS.get(order.payment_status, order.payment_status),
        total=money(order.total, order.currency),
        created=date_format(localtime(order.created_at), "j M Y"),
    )


EVENT = """<li class="list-group-item" data-event="{type}">
  <strong>{label}</strong>
  by <span data-actor>{actor}</span>
  <time class="text-secondary" datetime="{iso}">{when}</time>{details}
</li>"""


@register.simple_tag
def timeline_event(event: OrderEvent) -> SafeString:
    """One event of the order page's timeline, with what its data says. (In the template, each
    of the dozen data keys an event lacks cost three caught exceptions.)"""
    data = event.data if isinstance(event.data, dict) else {}
    details = []
    if event.from_status and event.to_status:
        details.append(
            format_html(
                '<div class="text-secondary">{} → {}</div>',
                status_label(event.from_status),
                status_label(event.to_status),
            )
        )
    if data.get("reason"):
        details.append(format_html("<div>Reason: {}</div>", data["reason"]))
    if data.get("note"):
        details.append(format_html("<div>Note: {}</div>", data["note"]))
    for item in data.get("lines") or ():
        details.append(
            format_html(
                '<div class="font-monospace">{} × {}</div>',
                _key(item, "quantity"),
                _key(item, "sku"),
            )
        )
    for item in data.get("reservations") or ():
        details.append(
            format_html(
                '<div class="font-monospace">{} × {} at {}</div>',
                _key(item, "quantity"),
                _key(item, "sku"),
                _key(item, "location"),
            )
        )
    if data.get("text"):
        details.append(format_html('<div class="text-body">{}</div>', linebreaksbr(data["text"])))
    if data.get("taken_over_from"):
        details.append(format_html("<div>Taken over from {}</div>", data["taken_over_from"]))
    if event.type == OrderEvent.Type.RISK_ASSESSED:
        details.append(
            format_html(
                '<div class="text-secondary">Score {}, {} risk</div>',
                _key(data, "score"),
                _key(data, "level"),
            )
        )
    if data.get("reasons"):
        details.append(format_html("<div>Needs a person: {}</div>", join(data["reasons"], "; ")))
    if data.get("refund_due"):
        details.append(SafeString("<div>Payment marked for refund.</div>"))
    if released := data.get("stock_released"):
        suffix = pluralize(released)
        details.append(
            format_html(
                "<div>Stock given back ({} reservation{} or backorder{}).</div>",
                released,
                suffix,
                suffix,
            )
        )
    created = localtime(event.created_at)
    return format_html(
        EVENT,
        type=event.type,
        label=event.get_type_display(),
        actor=person(event.actor) or "the system",
        iso=date(created, "c"),
        when=date(created, "D j M H:i"),
        details=SafeString("".join(f"\n  {detail}" for detail in details)),
    )


def _key(item, key: str):
    """item.key as the template read it: the value, or "" when there is none."""
    return item.get(key, "") if isinstance(item, dict) else ""
