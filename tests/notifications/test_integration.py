"""Notifications against a real Redis, a real Celery worker and real beats (R18 in small, R21).

The worker and beats are subprocesses on the test database (these tests are
transaction=True, so what they write is committed and visible to them), with the file mail
backend in a temporary folder: each e-mail they send is read back from there and counted by
its Message-ID.

Redis: under `make test` (tests/services.sh exports REDIS_SERVER_BIN, REDIS_PORT and
REDIS_CONF) the suite's throwaway Redis is stopped and started again; otherwise each test
starts a redis-server of its own on a free port, so a shared one is never touched.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis as redis_client
from django.db import connection, transaction
from django.utils import timezone
from kombu import pools as kombu_pools
from redis.backoff import NoBackoff
from redis.retry import Retry

from opsdesk.celery import app as celery_app
from opsdesk.core.models import SweepRun
from opsdesk.notifications.emails import delivery_message_id
from opsdesk.notifications.models import EmailDelivery
from opsdesk.notifications.services import DELIVERY_SWEEP, DIGEST_SWEEP, notify
from opsdesk.notifications.tasks import delivery_send_task, delivery_sweep_task
from tests.notifications.factories import EmailDeliveryFactory, ProcessFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Its own Redis database, so messages other tests left in the suite's Redis are not consumed.
REDIS_DB = 7


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class RedisServer:
    """Stops and starts the Redis the test's broker URL points at."""

    command: list[str]
    port: int
    own: bool
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{REDIS_DB}"

    def start(self) -> None:
        if not _port_open(self.port):
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait_for(lambda: _port_open(self.port), timeout=15, what="redis-server to start")
        redis_client.Redis(port=self.port, db=REDIS_DB).flushdb()

    def stop(self) -> None:
        # SHUTDOWN closes the connection as it goes; retrying that would only wait.
        client = redis_client.Redis(port=self.port, socket_timeout=2, retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis_client.ConnectionError):
            client.shutdown(nosave=True)
        _wait_for(lambda: not _port_open(self.port), timeout=15, what="redis-server to stop")
        if self.process is not None:
            self.process.wait(timeout=15)  # reaped, not left a zombie
            self.process = None


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
    if not binary:
        pytest.skip("needs redis-server")
    conf = os.environ.get("REDIS_CONF")
    if conf and os.environ.get("REDIS_PORT"):
        server = RedisServer([binary, conf], int(os.environ["REDIS_PORT"]), own=False)
    else:
        port = _free_port()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(tmp_path)]
        server = RedisServer(command, port, own=True)
    yield server
    if server.own:
        server.stop()
    else:
        server.start()  # the rest of the suite needs it, running as it was


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (what notify() enqueues through) at `url`."""

    def reset_pools() -> None:
        kombu_pools.reset()  # kombu keeps producer pools per connection, process-wide
        celery_app._pool = None
        amqp = celery_app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    reset_pools()
    try:
        yield
    finally:
        reset_pools()
        celery_app.conf.broker_url = previous


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


@dataclass
class Celery:
    """Celery subprocesses of one test, on the test database and the test's Redis."""

    redis_url: str
    workdir: Path
    mail_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = os.environ.copy()
        env.update(
            DJANGO_SETTINGS_MODULE="opsdesk.settings_test",
            DATABASE_URL=_test_database_url(),
            REDIS_URL=self.redis_url,
            MAIL_BACKEND="file",
            MAIL_FILE_PATH=str(self.mail_dir),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def _start(self, name: str, args: list[str], **env: str) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opsdesk", *args, "--loglevel=INFO"],
            cwd=ROOT,
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process, log

    def worker(self, **env: str) -> tuple[subprocess.Popen, Path]:
        name = f"worker-{uuid.uuid4().hex[:8]}"
        process, log = self._start(
            name,
            [
                *("worker", "--pool=solo", "-Q", "celery", f"--hostname={name}@%h"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            **env,
        )
        _wait_for(
            lambda: b" ready." in log.read_bytes() or process.poll() is not None,
            timeout=30,
            what="the worker to be ready",
        )
        assert process.poll() is None, log.read_text()
        return process, log

    def beat(self, name: str, **env: str) -> tuple[subprocess.Popen, Path]:
        return self._start(name, ["beat", f"--schedule={self.workdir / name}-schedule"], **env)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
def celery(redis_server, tmp_path) -> Iterator[Celery]:
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    runner = Celery(redis_url=redis_server.url, workdir=tmp_path, mail_dir=mail_dir)
    yield runner
    runner.stop_all()
    connection.close()


def _message_ids(mail_dir: Path) -> Counter:
    """How many times each Message-ID was written by the file mail backend."""
    found: Counter = Counter()
    for path in mail_dir.iterdir():
        for match in re.findall(rb"^Message-ID: (<[^>\s]+>)", path.read_bytes(), re.M):
            found[match.decode()] += 1
    return found


def _all_sent(ids: list[int]) -> bool:
    return EmailDelivery.objects.filter(pk__in=ids, status="sent").count() == len(ids)


def test_deliveries_made_while_redis_is_down_are_sent_once_when_it_returns(redis_server, celery):
    process = ProcessFactory()
    people = [UserFactory(username=f"duty{n}") for n in range(3)]
    redis_server.stop()

    with broker(redis_server.url):
        started = time.monotonic()
        with transaction.atomic():
            notifications = notify(
                process=process, subject="New order #1001", body="Review it.", users=people
            )
        waited = time.monotonic() - started

    assert waited < 2, f"notify() waited {waited:.1f} s on a broker that is down"
    ids = list(EmailDelivery.objects.values_list("pk", flat=True))
    assert len(ids) == len(notifications) == 3
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {"pending"}

    redis_server.start()
    celery.worker(SWEEP_INTERVAL="1")
    with broker(redis_server.url):
        delivery_sweep_task.delay()  # what beat sends every SWEEP_INTERVAL
    _wait_for(lambda: _all_sent(ids), timeout=20, what="the sweep to send the deliveries")

    # Again: a new sweep period, and each delivery's task delivered late, all at once.
    time.sleep(1.1)
    with broker(redis_server.url):
        delivery_sweep_task.delay()
        for delivery_id in ids:
            delivery_send_task.delay(delivery_id)
        # The queue is first in, first out: once this one is sent (by its on-commit task),
        # the worker has run everything above.
        with transaction.atomic():
            notify(process=process, subject="Sentinel", body="", users=people[:1])
    sentinel = EmailDelivery.objects.exclude(pk__in=ids).get().pk
    _wait_for(lambda: _all_sent([sentinel]), timeout=20, what="the on-commit task to send")

    sent = _message_ids(celery.mail_dir)
    assert {delivery_message_id(pk): sent[delivery_message_id(pk)] for pk in ids} == {
        delivery_message_id(pk): 1 for pk in ids
    }
    assert sent[delivery_message_id(sentinel)] == 1
    assert EmailDelivery.objects.filter(attempts=1, status="sent").count() == 4


def test_two_beats_run_each_sweep_once_per_period_and_a_far_task_once(redis_server, celery):
    """R21: a second beat refuses to run; sweeps claim their periods; a delivery due later
    than the broker's visibility timeout is held in the database and sent once."""
    redis_server.start()
    celery.worker(SWEEP_INTERVAL="1", CELERY_VISIBILITY_TIMEOUT="2")
    due_in = timedelta(seconds=5)
    far = EmailDeliveryFactory(next_attempt_at=timezone.now() + due_in)
    # The anti-pattern as well: the same delivery as a broker ETA beyond the visibility
    # timeout, which Redis hands out again. The claim must still send it once.
    with broker(redis_server.url):
        delivery_send_task.apply_async(args=[far.pk], countdown=due_in.total_seconds())

    first, first_log = celery.beat("beat-1", SWEEP_INTERVAL="1")
    _wait_for(
        lambda: b"single-beat lock" in first_log.read_bytes() or first.poll() is not None,
        timeout=20,
        what="the first beat to take the lock",
    )
    started = time.monotonic()
    second, second_log = celery.beat("beat-2", SWEEP_INTERVAL="1")
    second.wait(timeout=30)
    assert b"Another celery beat is already running" in second_log.read_bytes()
    assert first.poll() is None, first_log.read_text()

    time.sleep(max(0.0, 10.5 - (time.monotonic() - started)))  # ten periods
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=15)
    _wait_for(lambda: _all_sent([far.pk]), timeout=15, what="the far delivery to be sent")
    time.sleep(1)  # any late duplicate of the far task would have run by now

    periods = list(SweepRun.objects.filter(name=DELIVERY_SWEEP).values_list("period", flat=True))
    assert len(periods) == len(set(periods))
    assert 7 <= len(periods) <= 12, periods  # ten periods, give or take a busy worker
    assert 1 <= SweepRun.objects.filter(name=DIGEST_SWEEP).count() <= 2  # an hour, maybe two
    worker_log = b"".join(p.read_bytes() for p in celery.workdir.glob("worker-*.log"))
    runs = worker_log.count(b"Task notifications.delivery_sweep_task[")
    # Received + succeeded lines: one beat's ten ticks, give or take a tick (two beats would
    # make twenty). Not the periods: on a busy worker two ticks may fall in one period, and
    # the second finds it claimed.
    assert runs // 2 <= 12

    far.refresh_from_db()
    assert far.sent_at >= far.next_attempt_at
    assert (far.status, far.attempts) == ("sent", 1)
    assert _message_ids(celery.mail_dir)[delivery_message_id(far.pk)] == 1
