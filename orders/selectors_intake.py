"""Reads of the intake pages: the delivery log, channels and their mappings."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from orders.models import Channel, OrderLine, ShippingMethodMapping, WebhookDelivery


def delivery_list(*, outcome: str = "", channel_id: int | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries newest first, without their bodies; a page renders in a fixed number of
    queries however many rows there are."""
    deliveries = (
        WebhookDelivery.objects.select_related("channel", "order")
        .defer("body", "headers")
        .order_by("-received_at", "-id")
    )
    if outcome:
        deliveries = deliveries.filter(outcome=outcome)
    if channel_id is not None:
        deliveries = deliveries.filter(channel_id=channel_id)
    return deliveries


def delivery_outcome_counts(*, channel_id: int | None = None) -> dict[str, int]:
    deliveries = WebhookDelivery.objects.all()
    if channel_id is not None:
        deliveries = deliveries.filter(channel_id=channel_id)
    rows = deliveries.values("outcome").annotate(n=Count("id")).order_by()
    return {row["outcome"]: row["n"] for row in rows}


def delivery_get_for_detail(*, delivery_id: int) -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("channel", "order").get(pk=delivery_id)


def channel_list() -> list[Channel]:
    return list(Channel.objects.annotate(mapping_count=Count("method_mappings")).order_by("name"))


def channel_mappings(*, channel_id: int) -> list[ShippingMethodMapping]:
    return list(
        ShippingMethodMapping.objects.filter(channel_id=channel_id)
        .select_related("pickup_location")
        .order_by("match_value")
    )


def order_line_get_for_match(*, line_id: int) -> OrderLine:
    return OrderLine.objects.select_related("order", "order__channel").get(pk=line_id)
