"""Time the store-pickup queue and the handover page, and count their queries, at 100,000 orders.

    DATABASE_URL=postgres://... .venv/bin/python bench/flow_queues.py [--orders 100000] [--runs 50]

Builds a throwaway test database (test_<name>) filled as bench/queues.py fills it (orders,
lines, timelines, risk), then gives every approved, fulfilled or cancelled order a shipment of
its method, bulk-created: pickup orders are spread over three pickup stores, most of them
collected long ago, some on the shelf (a few past the hold), some picked and waiting to be put
on the shelf. Then requests each page through Django's test client as a fulfillment clerk:
5 warm-up requests, then `--runs` timed ones. Prints the median, the 95th percentile and the
number of queries per page beside the targets (a fixed number of queries; 95th percentile
under 25 ms). Prints figures; asserts nothing.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings_test")

BATCH = 5_000
TARGET_MS = 25.0
QUERY_TARGET = 10


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
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from bench.queues import as_deployed

    as_deployed(settings)
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        run(args)
    finally:
        if not args.keepdb:
            teardown_databases(old, verbosity=0)


def fill_shipments(rng: random.Random) -> dict:
    """A shipment for each order past review; pickup ones at three stores."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from inventory.models import Location
    from opsdesk.core.roles import Role
    from orders.models import Order, OrderLine, Shipment, ShipmentLine

    S = Shipment.Status
    clerk = get_user_model().objects.create_user("clerk0", "clerk0@example.com", "x")
    clerk.groups.add(Group.objects.get_or_create(name=Role.FULFILLMENT)[0])
    warehouse = Location.objects.create(name="Bench warehouse", kind="warehouse", web_priority=1)
    stores = [
        Location.objects.create(
            name=f"Bench store {i}", kind="store", is_pickup=True, address=f"{i} Bench St"
        )
        for i in range(3)
    ]
    done_status = {
        "ship": S.SHIPPED,
        "store_pickup": S.PICKED_UP,
        "local_delivery": S.DELIVERED,
        "drop_ship": S.SHIPPED,
    }
    now = timezone.now()
    orders = Order.objects.filter(
        status__in=[Order.Status.APPROVED, Order.Status.CANCELLED]
    ).order_by("pk")
    made = 0
    last_pk = 0
    while True:
        batch = list(
            orders.filter(pk__gt=last_pk).values_list(
                "pk", "number", "fulfillment_method", "status", "created_at", "shipping_address"
            )[:BATCH]
        )
        if not batch:
            break
        last_pk = batch[-1][0]
        lines = {}
        for line_id, order_id, variant_id, quantity in OrderLine.objects.filter(
            order_id__in=[row[0] for row in batch]
        ).values_list("pk", "order_id", "variant_id", "quantity"):
            lines.setdefault(order_id, []).append((line_id, variant_id, quantity))
        shipments = []
        for pk, number, method, status, created, ship_to in batch:
            method = method if method in done_status else "ship"
            age = now - created
            shipment = Shipment(
                order_id=pk,
                number=f"{number}-1",
                method=method,
                location=warehouse if method != "store_pickup" else rng.choice(stores),
                ship_to=ship_to,
                created_at=created,
            )
            if status == Order.Status.CANCELLED:
                shipment.status = S.CANCELLED
            elif method == "store_pickup":
                shipment.pickup_location = shipment.location
                recent = age < timedelta(days=20)
                roll = rng.random()
                if recent and roll < 0.5:
                    shipment.status = S.READY_FOR_PICKUP
                    shipment.pickup_code = f"B{pk:05d}"[-6:]
                    shipment.ready_at = created + timedelta(hours=3)
                    if age > timedelta(days=14):
                        shipment.uncollected_flagged_at = created + timedelta(days=14)
                elif recent and roll < 0.6:
                    shipment.status = S.PICKED
                else:
                    shipment.status = S.PICKED_UP
            elif age < timedelta(days=2):
                shipment.status = S.PENDING
            else:
                shipment.status = done_status[method]
                if method == "ship":
                    shipment.tracking_number = f"1Z{pk:08d}"
            shipments.append(shipment)
        shipments = Shipment.objects.bulk_create(shipments)
        ShipmentLine.objects.bulk_create(
            ShipmentLine(
                shipment=shipment,
                order_line_id=line_id,
                variant_id=variant_id,
                quantity=quantity,
            )
            for shipment in shipments
            for line_id, variant_id, quantity in lines.get(shipment.order_id, [])
        )
        made += len(shipments)
        print(f"\r  {made:,} shipments", end="", flush=True)
    print()
    return {"clerk": clerk, "stores": stores}


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from bench.queues import fill, measure
    from inventory.models import Location
    from orders.models import Order, Shipment

    rng = random.Random(args.seed)
    started = time.perf_counter()
    if args.keepdb and Order.objects.count() >= args.orders and Shipment.objects.exists():
        print(f"Reusing the kept database with {Order.objects.count():,} orders")
        store = {
            "clerk": get_user_model().objects.get(username="clerk0"),
            "stores": list(Location.objects.filter(is_pickup=True).order_by("name")),
        }
    else:
        print(f"Filling a throwaway database with {args.orders:,} orders ...")
        fill(args.orders, rng)
        store = fill_shipments(rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    pickups = Shipment.objects.filter(method="store_pickup")
    print(
        f"  {Shipment.objects.count():,} shipments, {pickups.count():,} for pickup, "
        f"{pickups.filter(status='ready_for_pickup').count():,} on a shelf; "
        f"ready in {time.perf_counter() - started:.0f} s"
    )

    first = store["stores"][0]
    queue = reverse("orders:pickup_queue", args=[first.pk])
    pages = [
        ("Pickup stores", reverse("orders:pickup_index")),
        ("Pickup queue, first page", queue),
        ("Pickup queue, page 3", f"{queue}?page=3"),
        ("Handover page", reverse("orders:pickup_handover", args=[first.pk])),
        ("(floor: password change page)", reverse("password_change")),
    ]
    client = Client()
    client.force_login(store["clerk"])
    print(f"\n{args.runs} timed requests per page after 5 warm-ups, as a fulfillment clerk")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8} {'target':>8} {'CPU ms':>7} {'queries':>8}")
    for name, url in pages:
        median, p95, cpu, queries = measure(client, url, args.runs)
        floor = name.startswith("(")
        target = "" if floor else f"< {TARGET_MS:.0f}"
        flag = "" if floor or p95 < TARGET_MS else "  (over target)"
        if not floor and queries > QUERY_TARGET:
            flag += "  (too many queries)"
        print(f"{name:32} {median:10.1f} {p95:8.1f} {target:>8} {cpu:7.1f} {queries:8d}{flag}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
