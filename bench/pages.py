"""Time the staff pages that list work, and count their queries, at a realistic size.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/pages.py \
        [--items 100000] [--runs 50]

Builds a throwaway test database (test_<name>), fills it, requests each page through
Django's test client as bench/queues.py does (its `measure`: warm-ups, the queries counted on
a request of their own, then `--runs` timed requests), and prints the median, 95th
percentile, CPU time and the number of queries per page. Prints figures; asserts nothing.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsdesk.settings_test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="open work items")
    parser.add_argument("--staff", type=int, default=60, help="staff members with shifts")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from bench.queues import as_deployed

    as_deployed(settings)
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        run(args)
    finally:
        teardown_databases(old, verbosity=0)


def run(args) -> None:
    from datetime import time as clock
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from bench.queues import measure
    from opsdesk.core.roles import Role
    from opsdesk.processes.models import Process, Shift, WorkItem

    User = get_user_model()
    roles = {g.name: g for g in Group.objects.all()}
    processes = list(Process.objects.all())
    staff = []
    for i in range(args.staff):
        user = User.objects.create_user(f"bench{i}", f"bench{i}@example.com", "x")
        user.groups.add(roles[processes[i % len(processes)].owner_role.name])
        staff.append(user)
    Shift.objects.bulk_create(
        Shift(user=u, weekday=d, start=clock(0), end=clock(23, 59)) for u in staff for d in range(7)
    )
    for i, process in enumerate(processes):
        process.primary, process.backup = staff[i], staff[i + len(processes)]
        process.save()
        process.assignees.set(staff[i :: len(processes)])
    now = timezone.now()
    batch = []
    for n in range(args.items):
        batch.append(
            WorkItem(
                process=processes[n % len(processes)],
                title=f"Bench item {n}",
                due_at=now + timedelta(minutes=n % 5000 - 2500),
            )
        )
        if len(batch) == 5000:
            WorkItem.objects.bulk_create(batch)
            batch.clear()
    WorkItem.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    owner = User.objects.create_user("bench-owner", "owner@example.com", "x")
    owner.groups.add(roles[Role.OWNER])
    pages = {
        "My work (owner of nothing)": (owner, reverse("processes:my_work")),
        "My work (order reviewer)": (processes[0].primary, reverse("processes:my_work")),
        "Processes": (owner, reverse("processes:list")),
        "Shifts": (owner, reverse("processes:shifts")),
        "Launch readiness": (owner, reverse("processes:readiness")),
    }
    print(f"{args.items:,} open work items, {args.staff} staff, {args.runs} runs per page")
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>7} {'queries':>8}")
    for name, (user, url) in pages.items():
        client = Client()
        client.force_login(user)
        median, p95, cpu, queries = measure(client, url, args.runs)
        print(f"{name:32} {median:10.1f} {p95:8.1f} {cpu:7.1f} {queries:8d}")


if __name__ == "__main__":
    main()
