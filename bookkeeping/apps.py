from django.apps import AppConfig


class BookkeepingConfig(AppConfig):
    name = "bookkeeping"
    verbose_name = "Bookkeeping"
