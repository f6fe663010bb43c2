"""The rows of the fulfillment and store-pickup queues, each table rendered in one pass.

A queue shows up to a hundred rows, and through template tags, filters and an include per
row their rendering cost more than the rest of the page. The views work out what a row shows
(labels, links, lateness); these tags only put it into HTML. Every value goes through
format_html, which escapes it.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

# Fixed markup, without data.
LATE = mark_safe('<span class="badge text-bg-danger" data-late>Late</span>')
NOT_COLLECTED = mark_safe('<span class="badge text-bg-danger">not collected</span>')
LATE_PICKUP = mark_safe('<span class="badge text-bg-danger">late</span>')
LATE_ROW = mark_safe(' class="table-warning" data-late')
FLAGGED_ROW = mark_safe(' class="table-danger" data-flagged')

# Pick, pack, ship ---------------------------------------------------------------------------

PICK_ROW = """<tr data-shipment="{number}">
  <td>
    <input class="form-check-input" type="checkbox" name="shipments" value="{pk}"
           id="pick-{pk}" checked>
  </td>
  <td>
    <label for="pick-{pk}"><a href="{url}">{number}</a></label>
  </td>
  <td>{method}</td>
  <td class="text-end">{line_count}</td>
  <td class="text-end">{units}</td>
  <td>
    {since}
    {late}
  </td>
</tr>"""

SIDE_ROW = """<li class="list-group-item d-flex justify-content-between align-items-center"
    data-shipment="{number}">
  <span>
    <a href="{url}">{number}</a>
    <span class="text-secondary small">units: {units} · {since}</span>
    {late}
  </span>
  <a class="btn btn-outline-primary btn-sm"
     href="{url}{suffix}"><i class="bi {icon}"></i> {text}</a>
</li>"""

# The button of a side queue's rows: (what follows the shipment's address, icon, text).
SIDE_BUTTONS = {
    "pack": ("pack/", "bi-upc-scan", "Pack"),
    "ship": ("#ship", "bi-truck", "Ship"),
}

PICK_LIST_ROW = """<tr data-sku="{sku}">
  <td class="font-monospace">{bin}</td>
  <td class="font-monospace">{sku}</td>
  <td>{title}</td>
  <td class="text-end fw-semibold">{quantity}</td>
  <td class="small">{into}</td>
</tr>"""

PICK_LIST_SHIPMENT = """<li class="list-group-item d-flex justify-content-between">
  <a href="{url}">{number}</a>
  <span class="text-secondary small">{status}</span>
</li>"""


@register.simple_tag
def pick_rows(rows) -> str:
    """The to-pick table's rows: a ticked box, the shipment, its method and counts."""
    return format_html_join(
        "\n",
        PICK_ROW,
        (
            {
                "number": row.number,
                "pk": row.pk,
                "url": row.url,
                "method": row.method_label,
                "line_count": row.line_count,
                "units": row.units,
                "since": row.since,
                "late": LATE if row.late else "",
            }
            for row in rows
        ),
    )


@register.simple_tag
def side_rows(rows, action: str) -> str:
    """The rows of the to-pack or to-ship list, each with the button of that step."""
    suffix, icon, text = SIDE_BUTTONS[action]
    return format_html_join(
        "\n",
        SIDE_ROW,
        (
            {
                "number": row.number,
                "url": row.url,
                "units": row.units,
                "since": row.since,
                "late": LATE if row.late else "",
                "suffix": suffix,
                "icon": icon,
                "text": text,
            }
            for row in rows
        ),
    )


@register.simple_tag
def pick_list_rows(rows) -> str:
    """A pick list's SKUs in walking order, with how many go into which shipment."""
    return format_html_join(
        "\n",
        PICK_LIST_ROW,
        (
            {
                "sku": row.sku,
                "bin": row.bin or "—",
                "title": row.title,
                "quantity": row.quantity,
                # Plain text, escaped as a whole.
                "into": " · ".join(f"{number} × {quantity}" for number, quantity in row.shipments),
            }
            for row in rows
        ),
    )


@register.simple_tag
def pick_list_shipments(shipments) -> str:
    """The shipments on a pick list, each with its status."""
    return format_html_join(
        "\n",
        PICK_LIST_SHIPMENT,
        ({"url": s["url"], "number": s["number"], "status": s["status_label"]} for s in shipments),
    )


# Store pickup -------------------------------------------------------------------------------

SHELVE_ROW = """<tr{late_row}>
  <td>
    {number}
    <div class="small text-secondary">Order {order_number}</div>
  </td>
  <td>
    {picked}
    {late}
  </td>
  <td class="text-end">
    <button type="submit"
            form="pickup-actions"
            formaction="{ready_url}"
            class="btn btn-success btn-sm">Ready for pickup</button>
  </td>
</tr>"""

WAITING_ROW = """<tr{flagged_row}>
  <td>
    {number}
    <div class="small text-secondary">Order {order_number}</div>
  </td>
  <td>
    {ready}
    {flagged}
  </td>
  <td>{reminders}</td>
  <td class="text-end">{cancel}</td>
</tr>"""

CANCEL_BUTTON = (
    '<button type="submit" form="pickup-actions" formaction="{}" '
    'class="btn btn-outline-danger btn-sm">Cancel and restock</button>'
)


@register.simple_tag
def shelve_rows(rows) -> str:
    """Picked pickup orders to put on the shelf, each with its "Ready for pickup" button."""
    return format_html_join(
        "\n",
        SHELVE_ROW,
        (
            {
                "late_row": LATE_ROW if row["is_late"] else "",
                "number": row["number"],
                "order_number": row["order_number"],
                "picked": row["picked_label"],
                "late": LATE_PICKUP if row["is_late"] else "",
                "ready_url": row["ready_url"],
            }
            for row in rows
        ),
    )


@register.simple_tag
def waiting_rows(rows) -> str:
    """Orders on the shelf; one not collected in time is flagged, with a button to cancel it."""
    return format_html_join(
        "\n",
        WAITING_ROW,
        (
            {
                "flagged_row": FLAGGED_ROW if row["flagged"] else "",
                "number": row["number"],
                "order_number": row["order_number"],
                "ready": row["ready_label"],
                "flagged": NOT_COLLECTED if row["flagged"] else "",
                "reminders": row["reminders"],
                "cancel": format_html(CANCEL_BUTTON, row["cancel_url"]) if row["flagged"] else "",
            }
            for row in rows
        ),
    )
