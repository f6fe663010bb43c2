from django import template
from django.utils.safestring import SafeString, mark_safe

from opsdesk.core.text import markdown_to_safe_html

register = template.Library()


@register.filter
def markdown_safe(text: str) -> SafeString:
    """Render Markdown written by staff, sanitized (see opsdesk.core.text)."""
    return mark_safe(markdown_to_safe_html(text))  # noqa: S308 - sanitized by nh3


@register.filter
def minutes_label(minutes: int | None) -> str:
    """480 -> '8 h', 2880 -> '2 days', 45 -> '45 min'."""
    if not minutes:
        return "—"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
