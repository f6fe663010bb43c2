"""Errors the orders services raise. Each is a ValidationError, so a view can attach it to its
form; callers that need the details read the attributes."""

from django.core.exceptions import ValidationError


class InvalidTransition(ValidationError):
    """A status change that Order.ALLOWED_TRANSITIONS does not allow."""

    def __init__(self, *, order, to_status: str) -> None:
        self.order = order
        self.to_status = to_status
        labels = dict(order.Status.choices)
        super().__init__(
            f"Order {order.number} is {order.get_status_display().lower()}; it cannot become "
            f"{str(labels.get(to_status, to_status)).lower()}.",
            code="invalid_transition",
        )


class OrderClaimed(ValidationError):
    """Someone else has claimed the order; acting on it needs an explicit take-over."""

    def __init__(self, *, order, claimed_by_label: str) -> None:
        self.order = order
        self.claimed_by_label = claimed_by_label
        super().__init__(
            f"{claimed_by_label} is working on order {order.number}. "
            "Take it over before acting on it.",
            code="order_claimed",
        )
