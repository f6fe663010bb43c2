"""Launch readiness: one registry of checks, each passing or failing with a link to fix it.

Areas add their own checks with `@readiness_check(...)` in a module imported from their
AppConfig.ready(); the page and `manage.py launch_check` run them all.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.urls import reverse


@dataclass(frozen=True)
class CheckResult:
    key: str
    name: str
    ok: bool
    detail: str
    fix_url: str


CheckFunc = Callable[[], tuple[bool, str, str]]
_registry: dict[str, tuple[str, CheckFunc]] = {}


def readiness_check(key: str, name: str) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check returning (ok, detail, fix_url)."""

    def decorator(func: CheckFunc) -> CheckFunc:
        _registry[key] = (name, func)
        return func

    return decorator


def readiness_run() -> list[CheckResult]:
    results = []
    for key, (name, func) in _registry.items():
        ok, detail, fix_url = func()
        results.append(CheckResult(key=key, name=name, ok=ok, detail=detail, fix_url=fix_url))
    return results


@readiness_check("process-people", "Every process has a primary and a backup")
def _every_process_has_people() -> tuple[bool, str, str]:
    from opsdesk.processes.models import Process

    missing = list(
        Process.objects.filter(Q(primary__isnull=True) | Q(backup__isnull=True)).order_by("id")
    )
    if not missing:
        return True, "All processes have a primary and a backup.", reverse("processes:list")
    names = ", ".join(p.name for p in missing)
    return (
        False,
        f"Nobody (or no backup) for: {names}.",
        reverse("processes:edit", kwargs={"key": missing[0].key}),
    )


@readiness_check("watched-hours", "Every process's watched hours are covered by shifts")
def _watched_hours_covered() -> tuple[bool, str, str]:
    from opsdesk.processes.selectors import watched_hours_gaps

    gaps = watched_hours_gaps()
    if not gaps:
        return True, "Every watched hour has someone on shift.", reverse("processes:shifts")
    parts = [f"{p.name}: {', '.join(g[:3])}{' …' if len(g) > 3 else ''}" for p, g in gaps.items()]
    return False, "Uncovered — " + "; ".join(parts), reverse("processes:shifts")


@readiness_check("mail", "Outgoing mail is configured and a test message was sent")
def _mail_configured() -> tuple[bool, str, str]:
    from django.apps import apps

    fix = reverse("notifications:mail_test")
    backend = settings.MAILERS.get("default", {}).get("BACKEND", "")
    if backend.endswith("dummy.EmailBackend"):
        return False, "Mail goes nowhere: set MAIL_BACKEND (see the README).", fix
    sender = settings.DEFAULT_FROM_EMAIL
    if "@" not in sender or sender.rsplit("@", 1)[1] in ("localhost", ""):
        return False, f"DEFAULT_FROM_EMAIL ({sender}) is not a real address.", fix
    MailTest = apps.get_model("notifications", "MailTest")
    last = MailTest.objects.filter(ok=True).order_by("-sent_at").first()
    if last is None:
        return False, "No test message has been sent yet.", fix
    return True, f"Test message to {last.to} sent {last.sent_at:%Y-%m-%d %H:%M}.", fix
