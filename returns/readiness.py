"""The returns area's launch readiness check (registered when the app is ready)."""

from django.urls import NoReverseMatch, reverse

from opsdesk.processes.readiness import readiness_check


def _fix_url() -> str:
    try:
        return reverse("returns:policy_edit")
    except NoReverseMatch:
        return "/admin/returns/returnpolicy/"


@readiness_check("returns-policy", "A return policy is published")
def _return_policy_published() -> tuple[bool, str, str]:
    from returns.services.policy import policy_current

    policy = policy_current()
    if policy is None:
        return False, "No return policy is published: the website has none to show.", _fix_url()
    return (
        True,
        f"Version {policy.version} is published ({policy.window_days}-day window).",
        _fix_url(),
    )
