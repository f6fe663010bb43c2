"""Fixtures shared by every test.

The services come from tests/services.sh, which `make test` runs pytest under: a throwaway
PostgreSQL cluster and Redis server on free ports on 127.0.0.1, removed afterwards. Besides
DATABASE_URL and REDIS_URL (read by opsdesk.settings), it exports, for fault tests that stop
and start them:

    REDIS_SERVER_BIN  the redis-server binary
    REDIS_PORT        its port on 127.0.0.1
    REDIS_CONF        its config file: `$REDIS_SERVER_BIN $REDIS_CONF` starts it again as it was
    TEST_PG_CTL       the pg_ctl binary of the cluster's PostgreSQL
    TEST_PG_DATA      the cluster's data directory (its postgresql.conf holds port and options,
                      so a plain `pg_ctl start` brings it back the same)
    TEST_PG_RUNAS     the user pg_ctl must run as (postgres when the tests run as root, since
                      PostgreSQL refuses root), or empty for the current user
    TEST_PG_PORT      its port on 127.0.0.1
    TEST_PG_LOG       its log file

The `service_control` fixture wraps them: service_control.redis_stop(), .redis_start(),
.pg_stop(), .pg_start(). It skips the test when the variables are missing (pytest run by
hand against a database of one's own). tests/services.sh stops both at the end whatever
state a test left them in.
"""

import contextlib
import itertools
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from opsdesk.core.roles import Role

ROLE_USER_PASSWORD = "opsdesk-test-password-4821"
TESTS_DIR = Path(__file__).resolve().parent
# Run one at a time, after the rest (tests/suite.sh): they stop and start the shared
# PostgreSQL and Redis, start Celery subprocesses, or bound how long something takes.
SERIAL_PATHS = [
    TESTS_DIR / "faults" / "test_ingest_load.py",
    TESTS_DIR / "notifications" / "test_integration.py",
    TESTS_DIR / "inventory" / "test_pos_sync_load.py",
    TESTS_DIR / "orders" / "test_intake_concurrency.py",
]


# Started first in the parallel pass, so that no worker is left running one of them alone at
# the end: the longest files (minutes of races and property tests, browsers).
SLOW_FIRST = [
    TESTS_DIR / "faults",
    TESTS_DIR / "e2e",
    TESTS_DIR / "inventory" / "test_concurrency.py",
]


def _slow(item: pytest.Item) -> bool:
    return any(item.path == path or item.path.is_relative_to(path) for path in SLOW_FIRST)


def pytest_itemcollected(item: pytest.Item) -> None:
    # Marked as collected, before `-m` selects by marker.
    if "service_control" in getattr(item, "fixturenames", ()) or any(
        item.path == path or item.path.is_relative_to(path) for path in SERIAL_PATHS
    ):
        item.add_marker(pytest.mark.serial)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # After pytest-django's own ordering; a stable sort keeps it within each group.
    items.sort(key=lambda item: not _slow(item))


@pytest.fixture(scope="session", autouse=True)
def _static_root() -> None:
    # WhiteNoise warns on every request when STATIC_ROOT is missing, as in a fresh clone.
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def role_user_password() -> str:
    """The password role_user gives its users unless told otherwise."""
    return ROLE_USER_PASSWORD


@pytest.fixture
def role_user(db, django_user_model) -> Callable:
    """Factory: role_user(Role.OWNER, username=..., password=..., **user_fields) -> user.

    The user is in the Django group named after the role. The groups come from a data
    migration; one that does not exist (yet) is created here, without permissions.
    """
    counter = itertools.count(1)

    def make(
        role: Role | str,
        *,
        username: str | None = None,
        password: str = ROLE_USER_PASSWORD,
        **fields,
    ):
        group, _ = Group.objects.get_or_create(name=str(role))
        if username is None:
            username = f"{str(role).lower().replace(' ', '-')}-{next(counter)}"
        fields.setdefault("email", f"{username}@example.com")
        user = django_user_model.objects.create_user(username=username, password=password, **fields)
        user.groups.add(group)
        return user

    return make


@pytest.fixture
def owner_user(role_user):
    return role_user(Role.OWNER, username="owner")


@pytest.fixture
def admin_user_role(role_user):
    """A user with the Admin role (pytest-django's `admin_user` is a superuser instead)."""
    return role_user(Role.ADMIN, username="admin-role")


@pytest.fixture
def staff_client_for(role_user) -> Callable[..., Client]:
    """Factory: staff_client_for(Role.FULFILLMENT) -> a Client logged in as a new user with
    that role; the user is on the client as `.user`."""

    def make(role: Role | str, **user_fields) -> Client:
        user = role_user(role, **user_fields)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ServiceControl:
    """Stops and starts the throwaway Redis and PostgreSQL of tests/services.sh."""

    redis_server_bin: str
    redis_port: int
    redis_conf: str
    pg_ctl: str
    pg_data: str
    pg_runas: str
    pg_log: str

    def redis_stop(self) -> None:
        import redis

        # Shutdown closes the connection as it goes.
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=self.redis_port, socket_timeout=2).shutdown(nosave=True)
        self._wait_port(self.redis_port, open_=False)

    def redis_start(self) -> None:
        subprocess.Popen(
            [self.redis_server_bin, self.redis_conf],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_port(self.redis_port, open_=True)

    def pg_stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def pg_start(self) -> None:
        self._pg_ctl("-l", self.pg_log, "-w", "-t", "60", "start")

    def _pg_ctl(self, *args: str) -> None:
        command = [self.pg_ctl, "-D", self.pg_data, *args]
        if self.pg_runas:
            command = ["runuser", "-u", self.pg_runas, "--", *command]
        # The cluster's own folder: the postgres user may not be able to read the work tree.
        subprocess.run(
            command, check=True, cwd=Path(self.pg_data).parent, capture_output=True, timeout=90
        )

    @staticmethod
    def _wait_port(port: int, *, open_: bool, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while _port_open(port) != open_:
            if time.monotonic() > deadline:
                state = "open" if open_ else "closed"
                raise TimeoutError(f"port {port} not {state} after {timeout:.0f} s")
            time.sleep(0.05)


@pytest.fixture
def service_control() -> ServiceControl:
    names = ["REDIS_SERVER_BIN", "REDIS_PORT", "REDIS_CONF", "TEST_PG_CTL", "TEST_PG_DATA"]
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.skip(f"needs the services of tests/services.sh (unset: {', '.join(missing)})")
    return ServiceControl(
        redis_server_bin=os.environ["REDIS_SERVER_BIN"],
        redis_port=int(os.environ["REDIS_PORT"]),
        redis_conf=os.environ["REDIS_CONF"],
        pg_ctl=os.environ["TEST_PG_CTL"],
        pg_data=os.environ["TEST_PG_DATA"],
        pg_runas=os.environ.get("TEST_PG_RUNAS", ""),
        pg_log=os.environ.get(
            "TEST_PG_LOG", str(Path(os.environ["TEST_PG_DATA"]).parent / "pg.log")
        ),
    )


# Rows the data migrations make: a model that holds them, the migration, its function.
MIGRATION_ROWS = [
    ("processes.Process", "opsdesk.processes.migrations.0002_roles_and_catalogue", "seed"),
    ("orders.FraudRule", "orders.migrations.0002_fraud_rules", "seed"),
    ("orders.Carrier", "orders.migrations.0004_carriers", "add_carriers"),
]


@pytest.fixture(autouse=True)
def _migration_rows(request) -> None:
    """Give every database test the rows data migrations made (role groups, processes,
    fraud rules, carriers).

    A transactional test empties every table after it ran, so a test after it (in its
    pytest-xdist worker, any kind of test may come next) would start without them. The
    migrations' own seeding functions put them back.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from importlib import import_module

    from django.apps import apps

    for label, module, function in MIGRATION_ROWS:
        if not apps.get_model(label).objects.exists():
            getattr(import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _no_build_due_mark(request) -> None:
    """Start every database test without the intake's "a build task is on its way" mark in
    Redis: a mark left by an earlier test, whose task no worker ran, would keep this test's
    deliveries from waking a task for a minute."""
    if "_migration_rows" not in request.fixturenames or not (
        request.node.get_closest_marker("django_db") or "db" in request.fixturenames
    ):
        return
    from orders.services import intake

    intake._build_due_clear()


@pytest.fixture(autouse=True)
def _no_kept_channels() -> None:
    """Start every test with no channel kept by the intake: each test's database has its own
    channels, and a kept row from an earlier test would outlive its rollback."""
    from orders.services import intake

    intake.channels_forget()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Start every test with an empty cache: each test's database has its own rows, and a
    value kept by an earlier test (a process's target time, the channels) would outlive them."""
    from django.core.cache import cache

    cache.clear()
