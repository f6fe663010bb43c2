"""Time the pick and pack queues (the fulfillment pages) at a realistic size, and count queries.

    DATABASE_URL=postgres://... .venv/bin/python bench/fulfillment_queues.py [--orders 100000]

Fills the store as bench/queues.py does (its `fill`), then gives every approved order a
shipment from one of three warehouses (bulk-created, lines from the order's lines, bins on
the stock levels): the older ones shipped, the recent ones waiting to be picked, being
picked, picked or packed. Then requests the fulfillment pages as a fulfillment clerk: 5
warm-up requests, then `--runs` timed ones, and prints the median, the 95th percentile and
the queries beside the targets (95th percentile under 25 ms, a fixed number of queries).
Prints figures; asserts nothing.

bench/queues.py runs this after the review queue, on a database of its own.
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
FULFILLMENT_TARGET_MS = 25.0
# Of the approved orders, newest last: the share still at each step (the rest has left).
WAITING = [("pending", 0.08), ("picking", 0.02), ("picked", 0.05), ("packed", 0.05)]
DONE_STATUS = {"ship": "shipped", "store_pickup": "picked_up", "local_delivery": "delivered"}
PICK_LIST_SIZE = 20


def fill_shipments(rng: random.Random) -> dict:
    """Shipments for the approved orders, a pick list being picked, and a fulfillment clerk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from inventory.models import Location, StockLevel
    from opsdesk.core.roles import Role
    from orders.models import Order, OrderLine, PickList, Shipment, ShipmentLine

    User = get_user_model()
    clerk = User.objects.create_user("clerk0", "clerk0@example.com", "x")
    clerk.groups.add(Group.objects.get_or_create(name=Role.FULFILLMENT)[0])
    locations = [
        Location.objects.create(
            name=f"Bench warehouse {i}", kind=Location.Kind.WAREHOUSE, web_priority=i
        )
        for i in range(3)
    ]
    variant_ids = list(OrderLine.objects.order_by().values_list("variant_id", flat=True).distinct())
    StockLevel.objects.bulk_create(
        StockLevel(
            variant_id=v,
            location=loc,
            on_hand=1_000,
            bin=f"{'ABCDEFGH'[v % 8]}-{v % 40:02d}-{v % 5}",
        )
        for v in variant_ids
        for loc in locations
    )
    approved = list(
        Order.objects.filter(status=Order.Status.APPROVED)
        .order_by("created_at", "id")
        .values_list("pk", "number", "fulfillment_method", "shipping_address", "created_at")
    )
    total = len(approved)
    # The newest orders are the ones still waiting, in the order of the steps.
    cut = total - sum(int(total * share) for _, share in WAITING)
    steps: list[str] = []
    for status, share in WAITING:
        steps += [status] * int(total * share)
    now = timezone.now()
    made = 0
    for start in range(0, total, BATCH):
        chunk = approved[start : start + BATCH]
        shipments = []
        for offset, (pk, number, method, address, created) in enumerate(chunk):
            index = start + offset
            method = method if method in DONE_STATUS else "ship"
            status = DONE_STATUS[method] if index < cut else steps[index - cut]
            shipments.append(
                Shipment(
                    order_id=pk,
                    number=f"{number}-1",
                    method=method,
                    status=status,
                    location=locations[rng.randrange(3)],
                    pickup_location=locations[0] if method == "store_pickup" else None,
                    ship_to=address,
                    tracking_number=f"1Z{pk:012d}" if status == "shipped" else "",
                    shipped_at=now if status == "shipped" else None,
                    created_at=created,
                )
            )
        shipments = Shipment.objects.bulk_create(shipments)
        by_order = {s.order_id: s for s in shipments}
        lines = [
            ShipmentLine(
                shipment=by_order[line.order_id],
                order_line_id=line.pk,
                variant_id=line.variant_id,
                quantity=line.quantity,
                quantity_picked=line.quantity
                if by_order[line.order_id].status not in ("pending", "picking")
                else 0,
            )
            for line in OrderLine.objects.filter(order_id__in=list(by_order)).only(
                "pk", "order_id", "variant_id", "quantity"
            )
        ]
        ShipmentLine.objects.bulk_create(lines, batch_size=BATCH)
        made += len(shipments)
        print(f"\r  {made:,} shipments", end="", flush=True)
    print()
    # A pick list being walked at the first warehouse, as a picker has it open.
    pick_list = PickList.objects.create(location=locations[0], created_by=clerk)
    picking = list(
        Shipment.objects.filter(status="picking", location=locations[0]).values_list(
            "pk", flat=True
        )[:PICK_LIST_SIZE]
    )
    Shipment.objects.filter(pk__in=picking).update(pick_list=pick_list)
    to_pack = (
        Shipment.objects.filter(status="picked", method="ship", location=locations[0])
        .order_by("created_at")
        .first()
    )
    return {
        "clerk": clerk,
        "locations": locations,
        "pick_list": pick_list,
        "to_pack": to_pack,
    }


def fulfillment_pages(store: dict) -> list[tuple[str, str, str]]:
    """(name, url, kind) of the pick and pack queues and their pages."""
    from django.urls import reverse

    home = reverse("orders:fulfillment")
    first, second = store["locations"][0], store["locations"][1]
    pages = [
        ("Pick/pack/ship queues, warehouse 1", f"{home}?location={first.pk}", "fulfillment"),
        ("Pick/pack/ship queues, warehouse 2", f"{home}?location={second.pk}", "fulfillment"),
        (
            f"Pick list ({PICK_LIST_SIZE} shipments)",
            reverse("orders:pick_list_detail", args=[store["pick_list"].pk]),
            "fulfillment",
        ),
    ]
    if store["to_pack"] is not None:
        pages.append(
            ("Pack screen", reverse("orders:pack", args=[store["to_pack"].pk]), "fulfillment")
        )
    return pages


def floor_page() -> tuple[str, str, str]:
    """A nearly empty staff page (layout, session, roles): the machine's floor right now."""
    from django.urls import reverse

    return ("(floor: password change page)", reverse("password_change"), "")


def _stored(args) -> dict | None:
    from django.contrib.auth import get_user_model

    from inventory.models import Location
    from orders.models import PickList, Shipment

    if not (args.keepdb and Shipment.objects.exists()):
        return None
    locations = list(Location.objects.filter(name__startswith="Bench warehouse").order_by("name"))
    return {
        "clerk": get_user_model().objects.get(username="clerk0"),
        "locations": locations,
        "pick_list": PickList.objects.order_by("pk").first(),
        "to_pack": Shipment.objects.filter(status="picked", method="ship", location=locations[0])
        .order_by("created_at")
        .first(),
    }


def run(args) -> None:
    from django.db import connection
    from django.test import Client

    from bench.queues import WARM_UPS, fill, measure
    from orders.models import Shipment

    rng = random.Random(args.seed)
    started = time.perf_counter()
    store = _stored(args)
    if store is None:
        print(f"Filling a throwaway database with {args.orders:,} orders ...")
        fill(args.orders, rng)
        store = fill_shipments(rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    counts = {
        status: Shipment.objects.filter(status=status).count()
        for status in ("pending", "picking", "picked", "packed", "shipped")
    }
    print(f"  shipments by status: {counts}; ready in {time.perf_counter() - started:.0f} s")

    client = Client()
    client.force_login(store["clerk"])
    print(f"\n{args.runs} timed requests per page after {WARM_UPS} warm-ups, as a clerk")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'target':>8} {'CPU ms':>7} {'queries':>8}")
    for name, url, kind in [*fulfillment_pages(store), floor_page()]:
        median, p95, cpu, queries = measure(client, url, args.runs)
        target = f"< {FULFILLMENT_TARGET_MS:.0f}" if kind else ""
        flag = "" if not kind or p95 < FULFILLMENT_TARGET_MS else "  (over target)"
        print(f"{name:38} {median:10.1f} {p95:8.1f} {target:>8} {cpu:7.1f} {queries:8d}{flag}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keepdb", action="store_true", help="keep and reuse the database")
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


if __name__ == "__main__":
    main()
