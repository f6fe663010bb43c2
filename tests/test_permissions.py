"""Every URL against every role and an anonymous visitor (RELIABILITY R23).

Each view must declare who may open it (opsdesk.core.permissions); a view that does not
fails this test. Django's admin is left out: it has its own staff check.
"""

from datetime import time

import pytest
from axes.models import AccessAttempt
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from opsdesk.core.permissions import PUBLIC, declared_roles
from opsdesk.core.roles import ALL_ROLES, Role
from opsdesk.processes.models import Shift, ShiftChange, WorkItem
from tests.processes.factories import UserFactory, process

pytestmark = pytest.mark.django_db

# Views whose decorator admits a role that the object itself may still refuse.
OBJECT_CHECKED = {"processes:detail", "processes:mark_reviewed"}


def _walk(patterns, namespace="", params=()):
    for entry in patterns:
        names = tuple(getattr(entry.pattern, "converters", {}))
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, ns, params + names)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", params + names, entry.callback


def all_views():
    return list(_walk(get_resolver().url_patterns))


def test_every_view_declares_who_may_open_it():
    undeclared = [name for name, _, view in all_views() if declared_roles(view) is None]
    assert undeclared == []


@pytest.fixture
def samples():
    someone = UserFactory(username="sample", roles=[Role.FULFILLMENT])
    shift = Shift.objects.create(user=someone, weekday=0, start=time(9), end=time(10))
    change = ShiftChange.objects.create(user=someone, date="2026-12-01", kind="time_off")
    item = WorkItem.objects.create(
        process=process("order_review"), title="Sample", due_at="2030-01-01T00:00Z"
    )
    attempt = AccessAttempt.objects.create(
        username="sample",
        ip_address="10.0.0.9",
        failures_since_start=3,
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/",
    )
    return {
        "key": "order_review",
        "shift_id": shift.pk,
        "change_id": change.pk,
        "item_id": item.pk,
        "attempt_id": attempt.pk,
        "uidb64": "MQ",
        "token": "set-password",
        "notification_id": 999_999,
    }


def _url(name, params, samples):
    # Ids without a sample point at nothing: allowed roles get a 404, the others still 403.
    return reverse(name, kwargs={param: samples.get(param, 999_999) for param in params})


def _client_for(client, role):
    if role == "anonymous":
        return client
    user = UserFactory(
        username=f"u-{role}".replace(" ", "-").lower(), roles=[role] if role != "no role" else []
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["anonymous", "no role", *ALL_ROLES])
def test_every_url_answers_each_role_as_declared(client, role, samples):
    failures = []
    for name, params, view in all_views():
        declared = declared_roles(view)
        if name in ("logout",):
            continue  # logging out changes the session the loop uses
        url = _url(name, params, samples)
        response = _client_for(client, role).get(url)
        status = response.status_code
        if declared == PUBLIC:
            ok = status in (200, 302, 400, 405)
        elif role == "anonymous":
            ok = status == 302 and response["Location"].startswith(reverse("login"))
        elif role in declared:
            ok = status in (200, 302, 404, 405) or (status == 403 and name in OBJECT_CHECKED)
        else:
            ok = status == 403 and b"<table" not in response.content
        if not ok:
            failures.append(f"{name} {url}: {status} for {role}")
    assert failures == []


def test_an_expired_session_sends_htmx_requests_to_the_login_page(client):
    response = client.get(
        reverse("notifications:unread_badge"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/processes/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/processes/"


def test_the_top_bar_shows_each_role_its_areas(client):
    from tests.processes.factories import UserFactory as Users

    client.force_login(Users(username="finn", roles=[Role.FULFILLMENT]))
    page = client.get(reverse("processes:readiness"))
    assert page.status_code == 403
    nav = {item["label"] for item in page.context["nav_items"]}
    assert "Launch readiness" not in nav and "Dashboard" not in nav
    assert {"My work", "Processes", "Shifts"} <= nav
    client.force_login(Users(username="olga", roles=[Role.OWNER]))
    page = client.get(reverse("processes:readiness"))
    active = [item["label"] for item in page.context["nav_items"] if item["active"]]
    assert active == ["Launch readiness"]
