from django.conf import settings
from django.urls import NoReverseMatch, reverse

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


def _nav(roles: set[str], path: str) -> list[dict]:
    items = []
    for label, name, allowed in NAV:
        if not roles & set(allowed):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
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
    return {
        "store_name": settings.STORE_NAME,
        "user_role_names": sorted(roles),
        "nav_items": _nav(roles, request.path) if roles else [],
    }
