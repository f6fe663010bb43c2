"""The staff roles. Each is a Django group, created with its permissions by a migration."""

from enum import StrEnum


class Role(StrEnum):
    OWNER = "Owner"
    MANAGER = "Manager"
    ORDER_REVIEWER = "Order reviewer"
    FULFILLMENT = "Fulfillment"
    INVENTORY = "Inventory"
    CUSTOMER_SERVICE = "Customer service"
    CONTENT_EDITOR = "Content editor"
    BOOKKEEPER = "Bookkeeper"
    ADMIN = "Admin"


ALL_ROLES: tuple[Role, ...] = tuple(Role)
# Roles that see every process and the owner's dashboard.
OVERSIGHT_ROLES: tuple[Role, ...] = (Role.OWNER, Role.MANAGER, Role.ADMIN)
# Roles that edit who handles what.
ASSIGNMENT_EDITORS: tuple[Role, ...] = (Role.OWNER, Role.ADMIN)


def user_roles(user) -> set[str]:
    """The role names of a user (cached on the instance for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_opsdesk_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached |= {Role.ADMIN, Role.OWNER}
        user._opsdesk_roles = cached
    return cached


def user_has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
