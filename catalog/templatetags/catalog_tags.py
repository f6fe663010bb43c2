from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog.richtext import description_sanitize

register = template.Library()

STATUS_BADGES = {
    "draft": "text-bg-secondary",
    "active": "text-bg-success",
    "discontinued": "text-bg-warning",
    "archived": "text-bg-dark",
}


@register.filter
def description_html(description: str) -> SafeString:
    """A stored description, sanitized once more as it is shown (whatever wrote it)."""
    return mark_safe(description_sanitize(description))  # noqa: S308 - sanitized by nh3


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "text-bg-light")


@register.filter
def options_label(option_values) -> str:
    if not isinstance(option_values, dict):
        return ""
    return " / ".join(str(v) for v in option_values.values())
