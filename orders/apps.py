from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders import receivers, receivers_fulfillment  # noqa: F401  (connect receivers)
