"""The dependency rules of DESIGN.md, checked on the source: catalog <- inventory <- orders <-
returns, and the domain apps never import the apps that observe them."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

DOMAIN = ["catalog", "inventory", "orders", "returns", "sitecontent"]
# What each domain app may not import: the apps after it, and the observers.
OBSERVERS = ["bookkeeping", "opsdesk.notifications", "opsdesk.dashboard"]
LATER = {app: DOMAIN[DOMAIN.index(app) + 1 : 4] for app in DOMAIN}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _forbidden(app: str) -> list[str]:
    return [*OBSERVERS, *LATER[app]]


@pytest.mark.parametrize("app", DOMAIN)
def test_a_domain_app_imports_neither_later_apps_nor_observers(app):
    root = Path(settings.BASE_DIR) / app
    wrong = []
    for path in sorted(root.rglob("*.py")):
        for module in _imports(path):
            for banned in _forbidden(app):
                if module == banned or module.startswith(banned + "."):
                    wrong.append(f"{path.relative_to(settings.BASE_DIR)} imports {module}")
    assert wrong == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("from opsdesk.notifications.services import notify\nimport orders.models\n")
    assert _imports(source) == {"opsdesk.notifications.services", "orders.models"}
    assert "orders" in _forbidden("inventory")
    assert "opsdesk.notifications" in _forbidden("orders")
