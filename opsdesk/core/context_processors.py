from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from opsdesk.core.roles import ALL_ROLES, OVERSIGHT_ROLES, Role, user_roles

# The top bar: label, URL name, roles that see it. An area whose URLs are not installed
# is left out.
NAV = [
    ("My work", "processes:my_work", ALL_ROLES),
    ("Orders", "orders:queue", (Role.ORDER_REVIEWER, *OVERSIGHT_ROLES)),
    ("Intake", "orders:delivery_list", (Role.ORDER_REVIEWER, *OVERSIGHT_ROLES)),
    # Pick, pack and ship; its page leads to pickup, drop ship and local delivery.
    ("Fulfillment", "orders:fulfillment", (Role.FULFILLMENT, *OVERSIGHT_ROLES)),
    # Customer service hands pickup orders over at the counter.
    ("Pickup", "orders:pickup_index", (Role.CUSTOMER_SERVICE,)),
    ("Returns", "returns:queue", (Role.CUSTOMER_SERVICE, *OVERSIGHT_ROLES)),
    ("Refunds", "returns:refund_queue", (Role.CUSTOMER_SERVICE, Role.BOOKKEEPER, *OVERSIGHT_ROLES)),
    ("Stock", "inventory:stock_list", (Role.INVENTORY, Role.FULFILLMENT, *OVERSIGHT_ROLES)),
    ("Receiving", "inventory:po_list", (Role.INVENTORY, *OVERSIGHT_ROLES)),
    ("POS sync", "inventory:pos_sync_list", (Role.INVENTORY, *OVERSIGHT_ROLES)),
    ("Catalog", "catalog:product_list", (Role.CONTENT_EDITOR, Role.INVENTORY, *OVERSIGHT_ROLES)),
    ("Processes", "processes:list", ALL_ROLES),
    ("Shifts", "processes:shifts", ALL_ROLES),
    ("Dashboard", "dashboard:index", OVERSIGHT_ROLES),
    ("Launch readiness", "processes:readiness", OVERSIGHT_ROLES),
]


# The top bar's other links, by the name the template reads them with.
TOPBAR_URLS = {
    "my_work": "processes:my_work",
    "search": "processes:search",
    "inbox": "notifications:inbox",
    "unread_badge": "notifications:unread_badge",
    "preferences": "notifications:preferences",
    "password_change": "password_change",
    "admin": "admin:index",
    "logout": "logout",
}


@cache
def _reverse_once(name: str, urlconf: str, prefix: str) -> str | None:
    """reverse(name), or None for a URL that is not installed: worked out once per URLconf
    and script prefix, not on every page (the top bar's reverse() calls cost more than the
    rest of it)."""
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None


def _urls() -> Callable[[str], str | None]:
    """_reverse_once for the URLconf and script prefix of this request."""
    urlconf, prefix = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    return lambda name: _reverse_once(name, urlconf, prefix)


def _nav(roles: set[str], path: str, url_of: Callable[[str], str | None]) -> list[dict]:
    items = []
    for label, name, allowed in NAV:
        if not roles & set(allowed):
            continue
        url = url_of(name)
        if url is None:
            continue
        items.append({"label": label, "url": url, "active": False})
    # The entry whose address is the longest prefix of this page's is the current one.
    current = max(
        (i for i in items if path == i["url"] or (i["url"] != "/" and path.startswith(i["url"]))),
        key=lambda i: len(i["url"]),
        default=None,
    )
    if current is not None:
        current["active"] = True
    return items


def store(request) -> dict:
    user = getattr(request, "user", None)
    roles = user_roles(user) if user is not None else set()
    url_of = _urls()
    return {
        "store_name": settings.STORE_NAME,
        "user_role_names": sorted(roles),
        "nav_items": _nav(roles, request.path, url_of) if roles else [],
        "topbar_urls": {key: url_of(name) for key, name in TOPBAR_URLS.items()},
    }
