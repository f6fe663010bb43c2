"""Time the staff queues (order review, pick and pack, store pickup) and an order page, and
count their queries, at a realistic size.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/queues.py \
        [--orders 100000] [--runs 50] [--keepdb] [--review-only]

With REDIS_URL, sessions are read from Redis, as in production; without it, from the
database (as a site without Redis does).

The review queue and the order page are measured here; then the fulfillment queues
(bench/fulfillment_queues.py: pick/pack/ship queues, pick list, pack screen) and the pickup
queue (bench/flow_queues.py) each run with the same arguments on a database of their own
(the name with _fulfillment or _pickup appended), unless --review-only.

Builds a throwaway test database (test_<name>), fills it with orders (about 2.5 lines each,
their timelines and risk assessments, bulk-created), then requests each page through Django's
test client as a logged-in order reviewer: 5 warm-up requests, then `--runs` timed ones.
Prints the median, the 95th percentile and the number of queries per page, beside the
targets of issue 4 (at most 10 queries for the queue; 95th percentile under 25 ms for the
queue and under 20 ms for an order page). Prints figures; asserts nothing.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings_test")

WARM_UPS = 5
BATCH = 5_000
TARGETS_MS = {"queue": 25.0, "order": 20.0}
QUEUE_QUERY_TARGET = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--keepdb",
        action="store_true",
        help="keep the database afterwards, and reuse one already filled (filling takes minutes)",
    )
    parser.add_argument("--review-only", action="store_true", help="skip the other queues")
    args = parser.parse_args()
    review(args)
    if not args.review_only:
        others("fulfillment_queues.py", "_fulfillment", args)
        others("flow_queues.py", "_pickup", args)


def others(script: str, suffix: str, args) -> None:
    """Run another queue bench in a process of its own, on a database of its own."""
    url = os.environ["DATABASE_URL"]
    base, _, name = url.rpartition("/")
    name, _, query = name.partition("?")
    env = {**os.environ, "DATABASE_URL": f"{base}/{name}{suffix}" + (f"?{query}" if query else "")}
    command = [sys.executable, str(Path(__file__).with_name(script))]
    command += ["--orders", str(args.orders), "--runs", str(args.runs), "--seed", str(args.seed)]
    if args.keepdb:
        command.append("--keepdb")
    print(f"\n== {script} ==", flush=True)
    subprocess.run(command, env=env, check=False)


def review(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    # Not setup_test_environment(): its template instrumentation (a signal for every
    # template rendered) is not what production runs.
    as_deployed(settings)
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        run(args)
    finally:
        if not args.keepdb:
            teardown_databases(old, verbosity=0)


def as_deployed(settings) -> None:
    """Undo what the test settings change that a page's speed depends on: the test client's
    host is allowed and, with REDIS_URL, Django's cache (which sessions are read from) is
    Redis, as in production, not each process's memory. Call before anything uses the cache."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if settings.REDIS_URL:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.REDIS_URL,
            }
        }


def fill(n_orders: int, rng: random.Random) -> dict:
    """Bulk-create the store: channels, variants, customers, orders, lines, events, risk."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from catalog.models import Product, Variant
    from opsdesk.core.roles import Role
    from orders.models import Channel, Customer, Order, OrderEvent, OrderLine, RiskAssessment

    User = get_user_model()
    reviewers = Group.objects.get(name=Role.ORDER_REVIEWER)
    staff = []
    for i in range(4):
        user = User.objects.create_user(f"reviewer{i}", f"reviewer{i}@example.com", "x")
        user.groups.add(reviewers)
        staff.append(user)
    channels = [
        Channel.objects.create(name=name, slug=slug, kind=kind, secret="s")
        for name, slug, kind in (
            ("Shopify store", "shopify", Channel.Kind.SHOPIFY),
            ("WooCommerce store", "woo", Channel.Kind.WOOCOMMERCE),
            ("Market stall app", "generic", Channel.Kind.GENERIC),
        )
    ]
    products = Product.objects.bulk_create(Product(title=f"Product {i}") for i in range(250))
    variants = Variant.objects.bulk_create(
        Variant(product=products[i % 250], sku=f"BENCH-{i:05d}", retail_price=Decimal("19.99"))
        for i in range(1_000)
    )
    n_customers = max(1, n_orders // 3)
    customers = []
    for start in range(0, n_customers, BATCH):
        customers += Customer.objects.bulk_create(
            Customer(email=f"c{i}@example.com", first_name="Cus", last_name=f"Tomer{i}")
            for i in range(start, min(start + BATCH, n_customers))
        )

    S = Order.Status
    statuses = (
        [S.AWAITING_REVIEW] * 30 + [S.ON_HOLD] * 5 + [S.APPROVED] * 55 + [S.CANCELLED] * 5
    ) + [S.RECEIVED] * 5
    levels = ["low"] * 70 + ["medium"] * 20 + ["high"] * 10
    methods = [Order.Method.SHIP] * 8 + [Order.Method.STORE_PICKUP, Order.Method.LOCAL_DELIVERY]
    now = timezone.now()
    # Oldest first, about 2.5 minutes apart: 100,000 orders span some six months.
    step = timedelta(seconds=150)
    address = {"address1": "1 Bench St", "city": "Springfield", "postcode": "62701"}
    address["country"] = "US"
    made = 0
    for start in range(0, n_orders, BATCH):
        orders = []
        for i in range(start, min(start + BATCH, n_orders)):
            status = rng.choice(statuses)
            level = "" if status == S.RECEIVED else rng.choice(levels)
            created = now - step * (n_orders - i)
            orders.append(
                Order(
                    channel=channels[i % 3],
                    external_id=str(10_000_000 + i),
                    number=f"#{100_000 + i}",
                    customer=customers[rng.randrange(n_customers)],
                    email="",
                    billing_address=address,
                    shipping_address=address,
                    currency="USD",
                    subtotal=Decimal("50.00"),
                    shipping_total=Decimal("5.00"),
                    total=Decimal(rng.randrange(1_000, 40_000)) / 100,
                    payment_status=Order.PaymentStatus.PAID,
                    shipping_line={"code": "standard", "title": "Standard"},
                    fulfillment_method=rng.choice(methods),
                    status=status,
                    risk_level=level,
                    risk_score={"": None, "low": 10, "medium": 40, "high": 75}[level],
                    claimed_by=staff[i % 4] if i % 7 == 0 else None,
                    placed_at=created,
                    created_at=created,
                )
            )
        orders = Order.objects.bulk_create(orders)
        lines, events, risks = [], [], []
        for order in orders:
            for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
                variant = variants[rng.randrange(len(variants))]
                lines.append(
                    OrderLine(
                        order=order,
                        variant=variant,
                        sku=variant.sku,
                        title=f"Item {variant.sku}",
                        quantity=rng.randint(1, 3),
                        unit_price=Decimal("19.99"),
                    )
                )
            events.append(
                OrderEvent(order=order, type=OrderEvent.Type.RECEIVED, created_at=order.created_at)
            )
            if order.risk_level:
                events.append(
                    OrderEvent(
                        order=order,
                        type=OrderEvent.Type.RISK_ASSESSED,
                        data={"score": order.risk_score, "level": order.risk_level},
                        created_at=order.created_at,
                    )
                )
                risks.append(
                    RiskAssessment(
                        order=order,
                        score=order.risk_score,
                        level=order.risk_level,
                        indicators=[
                            {
                                "code": "address_mismatch",
                                "points": order.risk_score,
                                "raises": True,
                                "sentence": "The billing postcode differs from the shipping one.",
                            }
                        ],
                        assessed_at=order.created_at,
                    )
                )
            if order.status not in (S.RECEIVED, S.AWAITING_REVIEW):
                events.append(
                    OrderEvent(
                        order=order,
                        type=OrderEvent.Type.APPROVED,
                        actor=staff[0],
                        from_status=S.AWAITING_REVIEW,
                        to_status=order.status,
                        created_at=order.created_at + timedelta(minutes=20),
                    )
                )
        OrderLine.objects.bulk_create(lines)
        OrderEvent.objects.bulk_create(events)
        RiskAssessment.objects.bulk_create(risks)
        made += len(orders)
        print(f"\r  {made:,} orders", end="", flush=True)
    print()
    return {"reviewer": staff[0], "channels": channels}


def measure(client, url: str, runs: int) -> tuple[float, float, float, int]:
    """(median ms, 95th percentile ms, median CPU ms of this process, queries).

    The queries are counted on a request of their own: recording them (Django's debug
    cursor) is not part of serving the page, so the timed requests run without it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UPS):
        assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    queries = len(ctx.captured_queries)  # now: the next request clears the log
    timings, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return (
        statistics.median(timings),
        statistics.quantiles(timings, n=20)[-1],
        statistics.median(cpu),
        queries,
    )


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from orders.models import Channel, Order, OrderLine

    rng = random.Random(args.seed)
    started = time.perf_counter()
    if args.keepdb and Order.objects.count() >= args.orders:
        print(f"Reusing the kept database with {Order.objects.count():,} orders")
        store = {
            "reviewer": get_user_model().objects.get(username="reviewer0"),
            "channels": list(Channel.objects.order_by("id")),
        }
    else:
        print(f"Filling a throwaway database with {args.orders:,} orders ...")
        store = fill(args.orders, rng)
    with connection.cursor() as cursor:
        # What autovacuum does on a live database: statistics, and the visibility map that
        # lets counts read only the index.
        cursor.execute("VACUUM ANALYZE")
    lines = OrderLine.objects.count()
    print(f"  {lines:,} lines; ready in {time.perf_counter() - started:.0f} s")

    # An order in the middle of the queue, from a customer with a few orders.
    waiting = Order.objects.filter(status=Order.Status.AWAITING_REVIEW).order_by("created_at", "id")
    middle = waiting[waiting.count() // 2]
    queue = reverse("orders:queue")
    pages = [
        ("Review queue, first page", queue, "queue"),
        (
            "Review queue, filtered",
            f"{queue}?risk=medium&channel={store['channels'][1].slug}&method=ship&age=1d",
            "queue",
        ),
        ("Review queue, page 200", f"{queue}?page=200", "queue"),
        ("Review queue, any status", f"{queue}?status=all&risk=high", "queue"),
        ("Order page", middle.get_absolute_url(), "order"),
    ]
    # For scale: a nearly empty staff page (the layout, the session, the roles) on this
    # machine at this moment. On a shared machine the load changes the figures a lot; the
    # CPU column (this process only) moves less.
    pages.append(("(floor: password change page)", reverse("password_change"), ""))
    client = Client()
    client.force_login(store["reviewer"])
    print(f"\n{args.runs} timed requests per page after {WARM_UPS} warm-ups, as an order reviewer")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8} {'target':>8} {'CPU ms':>7} {'queries':>8}")
    for name, url, kind in pages:
        median, p95, cpu, queries = measure(client, url, args.runs)
        target = f"< {TARGETS_MS[kind]:.0f}" if kind else ""
        flag = "" if not kind or p95 < TARGETS_MS[kind] else "  (over target)"
        if kind == "queue" and queries > QUEUE_QUERY_TARGET:
            flag += "  (too many queries)"
        print(f"{name:32} {median:10.1f} {p95:8.1f} {target:>8} {cpu:7.1f} {queries:8d}{flag}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
