"""Import orders from a CSV file into a channel (the format is in orders/formats/csvfile.py).

    manage.py import_orders FILE --channel SLUG [--user USERNAME]

The whole file is checked first; a refused file exits with status 1 and names its row and
column. Importing a file again updates orders and never doubles them.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.models import Channel
from orders.services.imports import orders_import_csv


class Command(BaseCommand):
    help = "Import orders from a CSV file (one row per order line) into a channel."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--channel", required=True, help="The channel's slug.")
        parser.add_argument("--user", help="Username recorded as the actor (default: none).")

    def handle(self, *args, **options) -> None:
        channel = Channel.objects.filter(slug=options["channel"]).first()
        if channel is None:
            raise CommandError(f"There is no channel {options['channel']!r}.")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"There is no user {options['user']!r}.")
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            result = orders_import_csv(
                channel=channel, content=content, actor=actor, filename=path.name
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"{result.total} orders: {len(result.created)} new, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged."
        )
