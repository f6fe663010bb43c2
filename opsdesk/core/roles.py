"""The staff roles. Each is a Django group, created with its permissions by a migration."""

from collections.abc import Iterable
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
    """The role names of a user (cached on the instance for the request; the login backend,
    opsdesk.core.auth, reads them with the user)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_opsdesk_roles", None)
    if cached is None:
        cached = user_roles_set(user, user.groups.values_list("name", flat=True))
    return cached


def user_roles_set(user, group_names: Iterable[str]) -> set[str]:
    """Cache `group_names` as the user's roles (a superuser is also Admin and Owner)."""
    roles = set(group_names)
    if user.is_superuser:
        roles |= {Role.ADMIN, Role.OWNER}
    user._opsdesk_roles = roles
    return roles


def user_has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
