"""Add a web store channel and print the webhook address to paste into the store.

    manage.py channel_add --kind shopify --name web [--secret S]

Without --secret a secret is generated and printed (paste it into the store's webhook
settings); with one (the store's own webhook secret), it is not printed again.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.models import Channel
from orders.services.intake import channel_create, channel_webhook_url


class Command(BaseCommand):
    help = "Add a web store channel (Shopify, WooCommerce or generic JSON) and print its URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=Channel.Kind.values)
        parser.add_argument("--name", required=True, help="The store's name, e.g. web.")
        parser.add_argument("--secret", default="", help="The webhook secret (default: new).")
        parser.add_argument("--slug", default="", help="The name in the URL (default: name).")

    def handle(self, *args, **options) -> None:
        try:
            channel = channel_create(
                kind=options["kind"],
                name=options["name"],
                secret=options["secret"],
                slug=options["slug"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Channel {channel.name} ({channel.get_kind_display()}) added.")
        self.stdout.write(f"Webhook URL: {channel_webhook_url(channel)}")
        if not options["secret"]:
            self.stdout.write(f"Secret:      {channel.secret}")
