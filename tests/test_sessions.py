"""Sessions come from the cache and the roles with the user: a staff page reads neither the
session table nor the groups table on its own. Staff keep working when the cache is down."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsdesk.core.auth import StaffBackend
from opsdesk.core.roles import Role, user_roles

# As with REDIS_URL set (make test sets it); the cache is the test settings' own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_cached_sessions")]

LOGIN_URL = "/accounts/login/"
# Nothing listens on port 9 (discard): every cache call is refused.
CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def _cached_sessions():
    with override_settings(SESSION_ENGINE="opsdesk.core.sessions"):
        yield


def _login(client: Client, user, password: str) -> None:
    response = client.post(LOGIN_URL, {"username": user.username, "password": password})
    assert response.status_code == 302, response.content[:300]


def test_a_page_reads_the_session_from_the_cache_and_the_roles_with_the_user(
    role_user, role_user_password
):
    user = role_user(Role.ORDER_REVIEWER)
    client = Client()
    _login(client, user, role_user_password)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("orders:queue")).status_code == 200
    tables = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "django_session" not in tables
    user_queries = [q["sql"] for q in ctx.captured_queries if 'FROM "auth_user"' in q["sql"]]
    assert len(user_queries) == 1 and "auth_group" in user_queries[0]
    assert 'FROM "auth_group"' not in tables


def test_the_backend_reads_roles_and_refuses_an_inactive_user(role_user):
    user = role_user(Role.FULFILLMENT)
    user.groups.add(role_user(Role.INVENTORY).groups.get())
    loaded = StaffBackend().get_user(user.pk)
    assert user_roles(loaded) == {Role.FULFILLMENT, Role.INVENTORY}
    boss = role_user(Role.FULFILLMENT, is_superuser=True)
    assert user_roles(StaffBackend().get_user(boss.pk)) >= {Role.ADMIN, Role.OWNER}
    user.is_active = False
    user.save()
    assert StaffBackend().get_user(user.pk) is None
    assert StaffBackend().get_user(10**9) is None


def test_a_user_without_a_role_has_none(django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x")
    assert user_roles(StaffBackend().get_user(nobody.pk)) == set()


def test_staff_log_in_work_and_log_out_while_the_cache_is_down(role_user, role_user_password):
    user = role_user(Role.ORDER_REVIEWER)
    client = Client()
    with override_settings(CACHES=CACHE_DOWN):
        _login(client, user, role_user_password)
        assert Session.objects.count() == 1
        page = client.get(reverse("orders:queue"))
        assert page.status_code == 200 and page.wsgi_request.user == user
        client.post(reverse("logout"))
        assert Session.objects.count() == 0
        # Logged out: the queue sends the browser to the login page.
        assert client.get(reverse("orders:queue")).status_code == 302
