"""Preview a POS file from the command line, and apply it with --apply.

    manage.py pos_sync FILE [--format square|plain] [--apply] [--user USERNAME]

The same checks and preview as the upload page; with --apply the file is applied at once
(in this process, not through Celery), atomically. A refused file exits with status 1 and
names its row and column.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.models import PosSyncRun
from inventory.pos_formats import PLAIN, SQUARE, first_upper, pos_format_detect
from inventory.services.pos_sync import (
    pos_sync_apply,
    pos_sync_apply_start,
    pos_sync_preview,
    pos_sync_run_create,
)

SHOW = 20


class Command(BaseCommand):
    help = "Preview a POS stock file (Square item library export or plain CSV); --apply applies it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", choices=[SQUARE, PLAIN], help="Default: recognised from the header."
        )
        parser.add_argument("--apply", action="store_true", help="Apply after the preview.")
        parser.add_argument("--user", help="Username recorded as the actor (default: none).")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']}.")
        file_format = options["format"] or self._detect(path)
        with path.open("rb") as handle:
            try:
                run = pos_sync_run_create(
                    upload=File(handle, name=path.name),
                    format=file_format,
                    actor=actor,
                    enqueue=False,
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        run = pos_sync_preview(run_id=run.pk)
        self._refused(run)
        self._print_preview(run)
        if not options["apply"]:
            self.stdout.write("Nothing changed. Run again with --apply to apply it.")
            return
        pos_sync_apply_start(run_id=run.pk, actor=actor, enqueue=False)
        run = pos_sync_apply(run_id=run.pk, actor_id=actor.pk if actor else None)
        self._refused(run)
        applied = run.preview.get("applied", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"Applied (sync #{run.pk}): {applied.get('quantity_changes', 0)} stock levels "
                f"set, {applied.get('price_changes', 0)} prices changed, "
                f"{applied.get('drafts_count', 0)} new items drafted, "
                f"{applied.get('backorders_created', 0)} backorders."
            )
        )

    def _detect(self, path: Path) -> str:
        with path.open("rb") as handle:
            head = handle.read(65536).decode("utf-8-sig", errors="replace")
        return pos_format_detect(head)

    def _refused(self, run: PosSyncRun) -> None:
        if run.status != PosSyncRun.Status.REJECTED:
            return
        where = []
        if run.error_row:
            where.append(f"row {run.error_row}")
        if run.error_column:
            where.append(f"column “{run.error_column}”")
        prefix = f"{first_upper(', '.join(where))}: " if where else ""
        raise CommandError(f"Refused, nothing changed. {prefix}{run.error_message}")

    def _print_preview(self, run: PosSyncRun) -> None:
        preview = run.preview
        counts = preview.get("counts", {})
        out = self.stdout.write
        out(
            f"POS sync #{run.pk}: {run.get_format_display()}, {counts.get('rows', 0)} rows, "
            f"locations: {', '.join(preview.get('locations', []))}"
        )
        out(
            f"  quantity changes: {counts.get('quantity_changes', 0)}   "
            f"price changes: {counts.get('price_changes', 0)}   "
            f"new SKUs: {counts.get('new_skus', 0)}   "
            f"missing from the POS: {counts.get('missing_from_pos', 0)}   "
            f"would backorder: {counts.get('backorders', 0)}"
        )
        sections = [
            (
                "Quantity changes",
                "quantity_changes",
                lambda c: (
                    f"row {c['row']}: {c['sku']} @ {c['location']}: {c['from']} -> {c['to']}"
                    + (f" (reserved {c['reserved']})" if c["reserved"] else "")
                ),
            ),
            (
                "Price changes",
                "price_changes",
                lambda c: f"row {c['row']}: {c['sku']} {c['name']}: {c['from']} -> {c['to']}",
            ),
            (
                "New SKUs (drafts for data entry)",
                "new_skus",
                lambda c: f"row {c['row']}: {c['sku']} {c['name']} {c['price']}",
            ),
            ("Missing from the POS", "missing_from_pos", lambda c: f"{c['sku']} {c['title']}"),
        ]
        for title, key, line in sections:
            entries = preview.get(key, [])
            if not entries:
                continue
            out(f"{title}:")
            for entry in entries[:SHOW]:
                out(f"  {line(entry)}")
            more = counts.get(key, len(entries)) - min(len(entries), SHOW)
            if more > 0:
                out(f"  ... and {more} more")
