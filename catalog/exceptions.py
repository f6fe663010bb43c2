"""Errors the catalog services raise. Both are ValidationErrors, so views attach them to forms."""

from django.core.exceptions import ValidationError


class InvalidTransition(ValidationError):
    """A status change that Product.ALLOWED_TRANSITIONS does not allow."""

    def __init__(self, *, product, to_status: str):
        self.product = product
        self.to_status = to_status
        labels = dict(product.Status.choices)
        allowed = [
            str(labels[s]).lower() for s in product.ALLOWED_TRANSITIONS.get(product.status, ())
        ]
        super().__init__(
            f"“{product.title}” is {product.get_status_display().lower()} and cannot become "
            f"{str(labels.get(to_status, to_status)).lower()}"
            + (f"; it can become {', '.join(allowed)}." if allowed else "."),
            code="invalid_transition",
        )


class PublishRefused(ValidationError):
    """Publishing refused: the product is not active, or not web-ready. Carries the reasons."""

    def __init__(self, *, product, reasons: list[str]):
        self.product = product
        self.reasons = reasons
        super().__init__(list(reasons), code="publish_refused")
