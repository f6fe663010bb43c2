"""Load a demo store: staff for every role, who handles each process, rosters, work items.

Runs on every `make run`, so it fills in only what is missing and leaves alone what people
changed: a demo user that exists is not touched (not even its password), a process that
has a primary and a backup keeps them, a person with shifts keeps them. Running it twice
changes nothing. Everything goes through the processes services, so the history shows it.

The rosters are computed, not typed in: each demo person starts from a usual week, then
every part of a process's watched hours that nobody of that process is rostered for goes
to the least busy of its demo people, so the launch check "watched hours are covered"
passes whatever the catalogue's hours are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import time, timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from opsdesk.core.roles import Role
from opsdesk.processes.models import Process, Shift, ShiftChange, WorkItem
from opsdesk.processes.services import (
    process_assign,
    shift_add,
    shift_change_add,
    work_item_open,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

MON, TUE, WED, THU, FRI, SAT = range(6)
Span = tuple[int, int]  # minutes since midnight, [start, end)


def _hm(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _week(days: range | tuple[int, ...], start: str, end: str) -> list[tuple[int, Span]]:
    return [(day, (_hm(start), _hm(end))) for day in days]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    role: Role
    usual_week: list[tuple[int, Span]]

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@example.com".lower()

    @property
    def password(self) -> str:
        return f"demo-{self.username}-2026"


WEEKDAYS = range(MON, SAT)
# Two people in the busy roles, so the on-duty routing has someone to choose between.
DEMO_STAFF = [
    DemoPerson("owner", "Olivia", "Bennett", Role.OWNER, _week(WEEKDAYS, "09:00", "17:00")),
    DemoPerson("manager", "Marcus", "Reyes", Role.MANAGER, _week(WEEKDAYS, "09:00", "17:00")),
    DemoPerson("reviewer", "Priya", "Shah", Role.ORDER_REVIEWER, _week(WEEKDAYS, "08:00", "16:00")),
    DemoPerson(
        "reviewer2",
        "Daniel",
        "Kim",
        Role.ORDER_REVIEWER,
        _week(WEEKDAYS, "12:00", "18:00") + _week((SAT,), "10:00", "16:00"),
    ),
    DemoPerson("fulfillment", "Sam", "Okafor", Role.FULFILLMENT, _week(WEEKDAYS, "08:30", "17:00")),
    DemoPerson(
        "fulfillment2",
        "Lena",
        "Fischer",
        Role.FULFILLMENT,
        _week((TUE, WED, THU, FRI), "10:00", "18:00") + _week((SAT,), "09:30", "16:30"),
    ),
    DemoPerson("inventory", "Tom", "Walsh", Role.INVENTORY, _week(WEEKDAYS, "09:00", "17:00")),
    DemoPerson("service", "Grace", "Liu", Role.CUSTOMER_SERVICE, _week(WEEKDAYS, "09:00", "17:00")),
    DemoPerson("content", "Noah", "Patel", Role.CONTENT_EDITOR, _week(WEEKDAYS, "09:00", "17:00")),
    # Part-time: on Fridays bookkeeping falls to its backup, the owner.
    DemoPerson(
        "bookkeeper",
        "Hannah",
        "Moore",
        Role.BOOKKEEPER,
        _week((MON, TUE, WED, THU), "09:00", "17:00"),
    ),
    DemoPerson("admin", "Alex", "Morgan", Role.ADMIN, _week(WEEKDAYS, "09:00", "13:00")),
]
DEMO_USERNAMES = [person.username for person in DEMO_STAFF]
# Who backs up a role that has one demo person: someone who can step in for it.
BACKUP_FOR_ROLE: dict[str, str] = {
    Role.INVENTORY: "manager",
    Role.CUSTOMER_SERVICE: "manager",
    Role.CONTENT_EDITOR: "manager",
    Role.BOOKKEEPER: "owner",
}
FALLBACK_PEOPLE = ("manager", "owner")


@dataclass(frozen=True)
class DemoChange:
    username: str
    weekday: int  # of next week
    kind: str
    start: str | None
    end: str | None
    note: str


# Next week: time off, each covered by a colleague of the same processes.
DEMO_CHANGES = [
    DemoChange("reviewer", WED, ShiftChange.Kind.TIME_OFF, None, None, "Demo: day off"),
    DemoChange("reviewer2", WED, ShiftChange.Kind.COVER, "08:00", "12:00", "Demo: covers Priya"),
    DemoChange("fulfillment", MON, ShiftChange.Kind.TIME_OFF, None, None, "Demo: day off"),
    DemoChange("fulfillment2", MON, ShiftChange.Kind.COVER, "08:30", "17:00", "Demo: covers Sam"),
]


@dataclass(frozen=True)
class DemoItem:
    process_key: str
    title: str
    due_in_minutes: int  # negative: already late


# Work for the processes whose areas have no demo data of their own yet (the others' queues
# fill with real orders, shipments, backorders and returns from their areas' seeds). One is
# already late, to show escalation.
DEMO_ITEMS = [
    DemoItem("site_updates", "Post the holiday opening hours on the website", -45),
    DemoItem("site_updates", "Take down the summer sale banner", 3 * 60),
    DemoItem("bookkeeping", "Reconcile last week's card payouts", 2 * 24 * 60),
]


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted spans with overlapping and touching ones joined."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _uncovered(window: Span, spans: list[Span]) -> list[Span]:
    """The parts of `window` that `spans` leave uncovered."""
    gaps, cursor = [], window[0]
    for start, end in _merge(spans):
        if end <= cursor:
            continue
        if start >= window[1]:
            break
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < window[1]:
        gaps.append((cursor, window[1]))
    return gaps


# The areas' own demo data, loaded after the people and processes, in dependency order.
AREA_SEEDS = [
    "catalog.demo.seed_catalog",
    "inventory.demo.seed_inventory",
    "orders.demo.seed_orders",
    "orders.demo_fulfillment.seed_fulfillment",
    "returns.demo.seed_returns",
]


class Command(BaseCommand):
    help = (
        "Load a demo store: a user for every role (with published passwords), who handles "
        "each process, weekly rosters covering the watched hours, and a few work items. "
        "Idempotent; runs only with DEBUG on unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run with DEBUG off too. The demo users' passwords are in this file.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts whose passwords are published, so it runs only "
                "with DEBUG on. Use --force to load the demo store anyway."
            )
        self.added: Counter[str] = Counter()
        with transaction.atomic():
            users = self._users()
            self._assignments(users)
            self._rosters(users)
            self._shift_changes(users)
            self._work_items()
        # After the commit: the test message goes out now, and is recorded by its service.
        self._mail_test(users)
        # Each area loads its own demo data, idempotently, in dependency order.
        for dotted in AREA_SEEDS:
            self.stdout.write(f"Loading demo data: {dotted} ...")
            import_string(dotted)()
        self._report()

    # -- people ---------------------------------------------------------------------------

    def _users(self) -> dict[str, AbstractUser]:
        user_model = get_user_model()
        existing = {u.username: u for u in user_model.objects.filter(username__in=DEMO_USERNAMES)}
        users = {}
        for person in DEMO_STAFF:
            user = existing.get(person.username)
            if user is None:
                # No user service exists: accounts are Django's own auth model.
                is_admin = person.role == Role.ADMIN
                user = user_model.objects.create_user(
                    username=person.username,
                    email=person.email,
                    password=person.password,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                )
                group, _ = Group.objects.get_or_create(name=person.role)
                user.groups.add(group)
                self.added["user"] += 1
            users[person.username] = user
        return users

    def _demo_people_for(self, role_name: str) -> list[DemoPerson]:
        return [person for person in DEMO_STAFF if person.role == role_name]

    def _plan_for(self, process: Process, index: int) -> tuple[str, str, list[str]]:
        """(primary, backup, assignees) by username, from the process's owning role."""
        members = [p.username for p in self._demo_people_for(process.owner_role.name)]
        if not members:
            return FALLBACK_PEOPLE[0], FALLBACK_PEOPLE[1], []
        # Alternate the primary between the members, so both carry some processes.
        primary = members[index % len(members)]
        others = [m for m in members if m != primary]
        if others:
            backup = others[0]
        else:
            backup = BACKUP_FOR_ROLE.get(process.owner_role.name, FALLBACK_PEOPLE[0])
            if backup == primary:
                backup = FALLBACK_PEOPLE[1]
        return primary, backup, members

    def _assignments(self, users: dict[str, AbstractUser]) -> None:
        processes = list(
            Process.objects.select_related("owner_role", "primary", "backup").order_by("id")
        )
        seen_per_role: dict[int, int] = defaultdict(int)
        for process in processes:
            index = seen_per_role[process.owner_role_id]
            seen_per_role[process.owner_role_id] += 1
            if process.primary_id is not None and process.backup_id is not None:
                continue
            primary, backup, assignees = self._plan_for(process, index)
            try:
                process_assign(
                    process_id=process.pk,
                    primary_id=users[primary].pk,
                    backup_id=users[backup].pk,
                    assignee_ids=[users[name].pk for name in assignees],
                    actor=None,
                )
            except ValidationError as exc:  # e.g. a demo user someone deactivated
                self.stderr.write(f"{process.name} left as it is: {'; '.join(exc.messages)}")
                continue
            self.added["process assignment"] += 1

    # -- rosters --------------------------------------------------------------------------

    def _rosters(self, users: dict[str, AbstractUser]) -> None:
        ids = {name: user.pk for name, user in users.items()}
        spans: dict[tuple[int, int], list[Span]] = defaultdict(list)
        minutes: dict[int, int] = defaultdict(int)
        has_shifts: set[int] = set()
        for shift in Shift.objects.select_related("user"):
            has_shifts.add(shift.user_id)
            if shift.user.is_active:
                span = (_minutes(shift.start), _minutes(shift.end))
                spans[(shift.user_id, shift.weekday)].append(span)
                minutes[shift.user_id] += span[1] - span[0]
        # New shifts per (user, weekday). People who have shifts keep them as they are.
        planned: dict[tuple[int, int], list[Span]] = defaultdict(list)
        for person in DEMO_STAFF:
            uid = ids[person.username]
            if uid in has_shifts or not users[person.username].is_active:
                continue
            for weekday, span in person.usual_week:
                planned[(uid, weekday)].append(span)
                spans[(uid, weekday)].append(span)
                minutes[uid] += span[1] - span[0]

        demo_ids = set(ids.values())
        order = {uid: i for i, uid in enumerate(ids.values())}
        processes = Process.objects.select_related("primary", "backup").prefetch_related(
            "assignees", "watched_hours"
        )
        for process in processes.order_by("id"):
            people = [u for u in (process.primary, process.backup) if u is not None]
            people += list(process.assignees.all())
            people_ids = list(dict.fromkeys(u.pk for u in people if u.is_active))
            fillers = [uid for uid in people_ids if uid in demo_ids]
            for window in process.watched_hours.all():
                covered = [s for uid in people_ids for s in spans[(uid, window.weekday)]]
                for gap in _uncovered((_minutes(window.start), _minutes(window.end)), covered):
                    if not fillers:
                        continue  # reported by the readiness check at the end
                    uid = min(fillers, key=lambda u: (minutes[u], order[u]))
                    planned[(uid, window.weekday)].append(gap)
                    spans[(uid, window.weekday)].append(gap)
                    minutes[uid] += gap[1] - gap[0]

        for (uid, weekday), new_spans in sorted(planned.items()):
            for start, end in _merge(new_spans):
                shift_add(
                    user_id=uid, weekday=weekday, start=_time(start), end=_time(end), actor=None
                )
        if planned:
            self.added["weekly shift"] += sum(len(_merge(s)) for s in planned.values())

    def _shift_changes(self, users: dict[str, AbstractUser]) -> None:
        today = timezone.localdate()
        next_monday = today + timedelta(days=7 - today.weekday())
        for change in DEMO_CHANGES:
            user = users[change.username]
            exists = ShiftChange.objects.filter(
                user=user, kind=change.kind, note=change.note, date__gte=today
            ).exists()
            if exists:
                continue
            shift_change_add(
                user_id=user.pk,
                on=next_monday + timedelta(days=change.weekday),
                kind=change.kind,
                start=_time(_hm(change.start)) if change.start else None,
                end=_time(_hm(change.end)) if change.end else None,
                note=change.note,
                actor=None,
            )
            self.added["shift change"] += 1

    # -- work and mail --------------------------------------------------------------------

    def _work_items(self) -> None:
        processes = {p.key: p for p in Process.objects.all()}
        now = timezone.now()
        for item in DEMO_ITEMS:
            process = processes.get(item.process_key)
            if process is None:
                continue
            # Any status: an item someone closed stays closed.
            if WorkItem.objects.filter(process=process, title=item.title).exists():
                continue
            work_item_open(
                process=process,
                title=item.title,
                link="",
                due_at=now + timedelta(minutes=item.due_in_minutes),
                # The late ones reach the on-duty staff through the escalation sweep.
                notify_on_duty=False,
            )
            self.added["work item"] += 1

    def _mail_test(self, users: dict[str, AbstractUser]) -> None:
        from opsdesk.notifications.services import mail_test_send

        mail_test = apps.get_model("notifications", "MailTest")
        if mail_test.objects.filter(ok=True).exists():
            return
        owner = users["owner"]
        result = mail_test_send(to=owner.email, actor=None)
        if result.ok:
            self.added["test message"] += 1
        else:
            self.stderr.write(f"The test message to {owner.email} failed: {result.error}")

    # -- report ---------------------------------------------------------------------------

    def _report(self) -> None:
        from opsdesk.processes.readiness import readiness_run

        if self.added:
            parts = [f"{n} {what}{'s' if n != 1 else ''}" for what, n in self.added.items()]
            self.stdout.write("Added " + ", ".join(parts) + ".")
        else:
            self.stdout.write("The demo store was already loaded; nothing changed.")
        self.stdout.write("")
        rows = [("username", "role", "password", "name")]
        rows += [
            (p.username, str(p.role), p.password, f"{p.first_name} {p.last_name}")
            for p in DEMO_STAFF
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for n, row in enumerate(rows):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  " + "  ".join(cells).rstrip())
            if n == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
        self.stdout.write(
            "  (passwords as first set; a demo user who changed theirs keeps the new one)"
        )
        self.stdout.write("")
        results = readiness_run()
        failing = [r for r in results if not r.ok]
        if failing:
            passed = len(results) - len(failing)
            self.stdout.write(
                self.style.WARNING(f"Launch readiness: {passed} of {len(results)} checks pass.")
            )
            for result in failing:
                self.stdout.write(f"  not passing: {result.name}: {result.detail}")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Launch readiness: all {len(results)} checks pass.")
            )
        self.stdout.write("")
        self.stdout.write(f"open {settings.SITE_URL}")
