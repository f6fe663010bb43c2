"""Order intake under load: signed Shopify deliveries to gunicorn, built by a Celery worker.

    DATABASE_URL=postgres://... [REDIS_URL=redis://...] .venv/bin/python bench/ingest.py \
        [--deliveries 2000] [--clients 4] [--threads 2] [--web-workers 8]
        [--web-threads 1] [--build-workers 2]

Creates a throwaway database (opsdesk_bench_ingest_<random>, migrated, dropped at the end)
on the cluster DATABASE_URL points at, with a channel and 50 stocked SKUs; starts gunicorn on
127.0.0.1 and one Celery worker on that database, with REDIS_URL as broker (or a throwaway
redis-server on a free port when REDIS_URL is unset). Then `--clients` processes of
`--threads` senders each send `--deliveries` signed orders/create deliveries in all (each a
new order of 1 to 3 lines), and the script prints:

  accepted/s   deliveries answered per second, while sending
  built/s      orders built per second by the worker (first to last build)
  p50 / p95    response times of the deliveries
  pgbench TPS  the cluster's TPS on pgbench's default TPC-B-like script, for the ratio

Targets on this machine: 95th percentile under 50 ms; at least 200 orders built a second.
Bounded in count (at most 20,000 deliveries) and time (each request 10 s, the build phase
--build-timeout seconds); traffic goes to 127.0.0.1 only; everything it starts it stops.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings_test")

MAX_DELIVERIES = 20_000
SKUS = 50
SECRET = "bench-" + "s" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


# Services -----------------------------------------------------------------------------------


@contextmanager
def redis_url():
    """REDIS_URL as given, on a database index of its own; else a throwaway redis-server."""
    given = os.environ.get("REDIS_URL")
    if given:
        url = re.sub(r"/\d*$", "", given.rstrip("/")) + "/12"
        import redis

        redis.Redis.from_url(url).flushdb()
        try:
            yield url
        finally:
            redis.Redis.from_url(url).flushdb()
        return
    binary = shutil.which("redis-server")
    if not binary:
        raise SystemExit("Set REDIS_URL, or install redis-server.")
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait(lambda: _port_open(port), timeout=15, what="redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=15)


@contextmanager
def subprocesses(commands: dict[str, list[str]], env: dict[str, str], logs: Path):
    started = []
    try:
        for name, command in commands.items():
            started.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=(logs / f"{name}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# The store's side ---------------------------------------------------------------------------


def delivery(n: int, skus: list[str]) -> tuple[bytes, dict[str, str]]:
    from orders.signatures import signature_compute

    lines = [
        {
            "id": n * 10 + i,
            "sku": skus[(n * 7 + i * 13) % len(skus)],
            "name": "Bench item",
            "title": "Bench item",
            "quantity": 1 + (n + i) % 2,
            "price": "12.50",
            "total_discount": "0.00",
            "tax_lines": [],
        }
        for i in range(1 + n % 3)
    ]
    subtotal = sum(12.5 * line["quantity"] for line in lines)
    address = {
        "first_name": "Bench",
        "last_name": f"Buyer {n}",
        "address1": f"{n} Bench Street",
        "city": "Springfield",
        "zip": "62701",
        "province_code": "IL",
        "country_code": "US",
    }
    order = {
        "id": 10_000_000 + n,
        "name": f"#B{n}",
        "email": f"buyer{n % 500}@example.com",
        "created_at": "2026-03-02T14:00:00-05:00",
        "updated_at": "2026-03-02T14:00:01-05:00",
        "currency": "USD",
        "financial_status": "paid",
        "total_line_items_price": f"{subtotal:.2f}",
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "total_price": f"{subtotal + 5:.2f}",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"}},
        "browser_ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
        "customer": {"email": f"buyer{n % 500}@example.com", "first_name": "Bench"},
        "billing_address": address,
        "shipping_address": address,
        "line_items": lines,
        "shipping_lines": [{"code": "Standard", "source": "shopify", "price": "5.00"}],
    }
    body = json.dumps(order).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": signature_compute(secret=SECRET, body=body),
        "X-Shopify-Webhook-Id": f"bench-{n}",
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
    }
    return body, headers


def _get(url: str) -> tuple[int, float]:
    return _post(url, None, {})


def _post(url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, float]:
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # 127.0.0.1 only
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def client(job: tuple[str, list[tuple[bytes, dict[str, str]]], int, str]) -> dict:
    """One client process: its deliveries from `threads` threads. Each thread first makes
    one unmeasured request (a fresh process loads urllib's machinery then), then all start
    together; returns the answers and the wall-clock span of the sending."""
    url, deliveries, threads, warm_url = job
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads)
    span: list[float] = []

    def sender(mine):
        _get(warm_url)
        ready.wait(60)
        with lock:
            span.append(time.time())
        for body, headers in mine:
            answer = _post(url, body, headers)
            with lock:
                results.append(answer)
        with lock:
            span.append(time.time())

    workers = [
        threading.Thread(target=sender, args=(deliveries[i::threads],)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"answers": results, "start": min(span), "end": max(span)}


# pgbench ------------------------------------------------------------------------------------


def pgbench_tps(base_url: str, *, clients: int, seconds: int) -> str:
    binary = shutil.which("pgbench")
    if not binary:
        return "pgbench not found"
    parts = urlsplit(base_url)
    name = f"opsdesk_pgbench_{secrets.token_hex(4)}"
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    common = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    common += ["-U", parts.username or "postgres"]
    admin = [shutil.which("psql") or "psql", *common, "-d", "postgres", "-q", "-c"]
    subprocess.run([*admin, f'CREATE DATABASE "{name}"'], check=True, env=env, timeout=60)
    try:
        subprocess.run(
            [binary, *common, "-i", "-q", "-s", "10", name],
            check=True,
            env=env,
            timeout=300,
            capture_output=True,
        )
        out = subprocess.run(
            [binary, *common, "-c", str(clients), "-j", "2", "-T", str(seconds), name],
            check=True,
            env=env,
            timeout=seconds + 120,
            capture_output=True,
            text=True,
        ).stdout
        match = re.search(r"tps = ([\d.]+)", out)
        return f"{float(match.group(1)):.0f}" if match else "unknown"
    finally:
        subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}"'], env=env, timeout=60)


# The run ------------------------------------------------------------------------------------


def seed() -> list[str]:
    from catalog.models import Product, Variant
    from inventory.models import Location
    from inventory.services import stock_receive
    from orders.services.intake import channel_create, shipping_mapping_save

    channel = channel_create(kind="shopify", name="Bench", secret=SECRET, slug="bench")
    shipping_mapping_save(
        channel_id=channel.pk,
        match_value="Standard",
        method="ship",
        pickup_location_id=None,
        actor=None,
    )
    store = Location.objects.create(name="Bench store", kind=Location.Kind.STORE)
    skus = []
    for n in range(SKUS):
        product = Product.objects.create(title=f"Bench item {n}", status=Product.Status.ACTIVE)
        variant = Variant.objects.create(product=product, sku=f"BENCH-{n:03d}")
        stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=1_000_000, actor=None)
        skus.append(variant.sku)
    return skus


def run(args, base_url: str) -> None:
    from django.db import connection

    from orders.models import WebhookDelivery

    skus = seed()
    url_db = database_url()
    connection.close()
    with ExitStack() as stack:
        redis = stack.enter_context(redis_url())
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "opsdesk.settings_test",
            "DATABASE_URL": url_db,
            "REDIS_URL": redis,
            "LOG_LEVEL": "WARNING",
            "MAIL_BACKEND": "locmem",
        }
        commands = {
            "gunicorn": [
                sys.executable, "-m", "gunicorn", "opsdesk.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", str(args.web_workers), "--threads", str(args.web_threads),
                "--backlog", "2048",
            ],
            "worker": [
                sys.executable, "-m", "celery", "-A", "opsdesk", "worker",
                "--concurrency", str(args.build_workers), "-Q", "celery",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "WARNING",
            ],
        }  # fmt: skip
        stack.enter_context(subprocesses(commands, env, logs))
        _wait(lambda: _port_open(port), timeout=60, what="gunicorn")
        base = f"http://127.0.0.1:{port}"
        quick, deadline = 0, time.monotonic() + 120
        while quick < 20 and time.monotonic() < deadline:
            status, seconds = _get(f"{base}/healthz")
            quick = quick + 1 if status == 200 and seconds < 0.5 else 0
        # Every worker thread opens its database connection before the measuring starts.
        warm = [f"{base}/healthz"] * (args.web_workers * args.web_threads * 4)
        with ThreadPoolExecutor(args.web_workers * args.web_threads) as warmers:
            list(warmers.map(_get, warm))

        count = min(args.deliveries, MAX_DELIVERIES)
        planned = [delivery(n, skus) for n in range(count)]
        url = f"{base}/webhooks/shopify/bench/"
        jobs = [
            (url, planned[i :: args.clients], args.threads, f"{base}/healthz")
            for i in range(args.clients)
        ]
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            parts = pool.map(client, jobs)
        answers = [a for part in parts for a in part["answers"]]
        sending = max(p["end"] for p in parts) - min(p["start"] for p in parts)

        _wait(
            lambda: not WebhookDelivery.objects.filter(outcome="accepted").exists(),
            timeout=args.build_timeout,
            what="the worker to build every delivery",
        )
        done = WebhookDelivery.objects.filter(outcome="built")
        built = done.count()
        first = done.order_by("processed_at").values_list("processed_at", flat=True).first()
        last = done.order_by("-processed_at").values_list("processed_at", flat=True).first()
        building = (last - first).total_seconds() if built > 1 else float("nan")
        connection.close()

    ok = [s for status, s in answers if 200 <= status < 300]
    failed = len(answers) - len(ok)
    print(f"deliveries     {len(answers)} ({failed} not 2xx), {built} orders built")
    print(f"accepted/s     {len(ok) / sending:.0f}  (sending took {sending:.1f} s)")
    print(f"built/s        {built / building:.0f}  (first to last build {building:.1f} s)")
    print(f"p50 / p95      {_pct(ok, 0.5) * 1000:.1f} ms / {_pct(ok, 0.95) * 1000:.1f} ms")
    print(f"max            {max(ok) * 1000:.1f} ms  (mean {statistics.mean(ok) * 1000:.1f} ms)")
    tps = pgbench_tps(base_url, clients=args.clients * args.threads, seconds=args.pgbench_seconds)
    print(
        f"pgbench TPS    {tps}  (TPC-B-like, {args.clients * args.threads} clients, same cluster)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=2, help="senders per client process")
    # As README.md's production command: sync workers (one thread each), four per core.
    parser.add_argument("--web-workers", type=int, default=8, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--build-workers", type=int, default=2, help="Celery concurrency")
    parser.add_argument("--build-timeout", type=int, default=600, help="seconds")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (a test database is made).")

    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    # A database of its own, whatever test databases others use on the cluster.
    connections["default"].settings_dict["TEST"]["NAME"] = (
        f"opsdesk_bench_ingest_{secrets.token_hex(3)}"
    )

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        run(args, base_url)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
