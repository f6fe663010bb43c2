"""Errors the inventory services raise. Each is a ValidationError, so a view can attach it to
its form; callers that need the details read the attributes."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Shortage:
    """One variant of an order that cannot be reserved in full."""

    variant_id: int
    sku: str
    requested: int
    available: int

    def __str__(self) -> str:
        return f"{self.sku}: {self.requested} wanted, {self.available} available"


class InsufficientStock(ValidationError):
    """The whole order was refused: at least one of its variants is short."""

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = list(shortages)
        super().__init__(
            [f"Not enough stock for {s}." for s in self.shortages], code="insufficient_stock"
        )


class NotReservable(ValidationError):
    """A variant of the order may not be reserved (discontinued, archived ...)."""

    def __init__(self, skus: list[str]) -> None:
        self.skus = list(skus)
        super().__init__(
            f"Not for sale, so not reserved: {', '.join(self.skus)}.", code="not_reservable"
        )


class ReservationUnavailable(ValidationError):
    """The reservation cannot be used: shipped, released, expired or moved to backorder."""

    def __init__(self, message: str, *, reservation_id: int, status: str) -> None:
        self.reservation_id = reservation_id
        self.status = status
        super().__init__(message, code="reservation_unavailable")


class InvalidTransition(ValidationError):
    """A backorder cannot move from its status to the one asked for."""

    def __init__(self, *, backorder, to_status: str) -> None:
        self.backorder = backorder
        self.to_status = to_status
        super().__init__(
            f"This backorder is {backorder.get_status_display().lower()}; "
            f"it cannot become {to_status.replace('_', ' ')}.",
            code="invalid_transition",
        )
