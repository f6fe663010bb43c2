"""Who works on the catalog."""

from opsdesk.core.roles import Role

# Edit products, variants and images; work the data-entry queue; read the accuracy checks.
CATALOG_EDITORS: tuple[Role, ...] = (
    Role.CONTENT_EDITOR,
    Role.INVENTORY,
    Role.OWNER,
    Role.MANAGER,
    Role.ADMIN,
)
