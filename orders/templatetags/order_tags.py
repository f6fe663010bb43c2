from decimal import Decimal

from django import template

from orders.models import Order

register = template.Library()

RISK_BADGES = {"low": "text-bg-success", "medium": "text-bg-warning", "high": "text-bg-danger"}
STATUS_BADGES = {
    Order.Status.RECEIVED: "text-bg-secondary",
    Order.Status.AWAITING_REVIEW: "text-bg-primary",
    Order.Status.ON_HOLD: "text-bg-warning",
    Order.Status.APPROVED: "text-bg-success",
    Order.Status.CANCELLED: "text-bg-dark",
}
STATUS_LABELS = dict(Order.Status.choices)


@register.filter
def risk_badge(level: str) -> str:
    return RISK_BADGES.get(level or "", "text-bg-light border")


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "text-bg-secondary")


@register.filter
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@register.simple_tag
def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}".strip()


@register.filter
def address_lines(address: dict | None) -> list[str]:
    """An address as received, as the lines of a label."""
    if not isinstance(address, dict) or not address:
        return []
    name = address.get("name") or " ".join(
        str(address.get(k) or "") for k in ("first_name", "last_name")
    )
    place = " ".join(
        str(v)
        for v in (
            address.get("city"),
            address.get("region") or address.get("province") or address.get("state"),
            address.get("postcode") or address.get("zip") or address.get("postal_code"),
        )
        if v
    )
    country = address.get("country_code") or address.get("country") or ""
    lines = [
        name,
        address.get("company"),
        address.get("address1") or address.get("address_1"),
        address.get("address2") or address.get("address_2"),
        place,
        country,
        address.get("phone"),
    ]
    return [str(line).strip() for line in lines if line and str(line).strip()]
