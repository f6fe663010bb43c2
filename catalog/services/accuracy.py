"""Accuracy snapshots: the POS-vs-web score at a moment, and the process owner's sign-off."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import AccuracySnapshot
from catalog.selectors import accuracy_can_sign_off, accuracy_report
from opsdesk.core.sweeps import sweep_claim

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SUMMARY_SKUS = 200
DAILY_SNAPSHOT = "catalog.accuracy_snapshot_daily"


@transaction.atomic
def accuracy_snapshot_take(*, actor: User | None) -> AccuracySnapshot:
    """Store the catalog's accuracy now: score, counts and a summary of the differences."""
    report = accuracy_report()
    if not report.checked:
        raise ValidationError(
            "No SKU has been synced from the POS yet, so there is nothing to compare."
        )
    differing = report.differing_rows
    return AccuracySnapshot.objects.create(
        taken_by=actor,
        variants_checked=report.checked,
        variants_accurate=report.accurate,
        score=report.score,
        differences={
            "by_kind": report.by_kind,
            "skus": [
                {
                    "sku": row.variant.sku,
                    "product_id": row.variant.product_id,
                    "differences": [
                        {"kind": d.kind, "pos": d.pos, "web": d.web} for d in row.differences
                    ],
                }
                for row in differing[:SUMMARY_SKUS]
            ],
            "skus_left_out": max(len(differing) - SUMMARY_SKUS, 0),
        },
    )


def accuracy_snapshot_take_daily(*, now: datetime | None = None) -> AccuracySnapshot | None:
    """The scheduled snapshot: once per day (the store's date), however often it is called."""
    day = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        if not sweep_claim(name=DAILY_SNAPSHOT, period=day.isoformat()):
            return None
        try:
            with transaction.atomic():
                return accuracy_snapshot_take(actor=None)
        except ValidationError:
            return None  # nothing synced yet; the claim stands for today


@transaction.atomic
def accuracy_snapshot_sign_off(*, snapshot_id: int, actor: User) -> AccuracySnapshot:
    """Record the process owner's sign-off of the latest snapshot."""
    if not accuracy_can_sign_off(user=actor):
        raise PermissionDenied(
            "Only the primary of Web-ready data entry, an Owner or an Admin signs off."
        )
    snapshot = AccuracySnapshot.objects.select_for_update().get(pk=snapshot_id)
    latest_id = AccuracySnapshot.objects.values_list("pk", flat=True).first()
    if snapshot.pk != latest_id:
        raise ValidationError("Only the latest snapshot can be signed off; a newer one exists.")
    if snapshot.signed_off_at is not None:
        when = timezone.localtime(snapshot.signed_off_at)
        raise ValidationError(f"This snapshot was already signed off on {when:%Y-%m-%d %H:%M}.")
    snapshot.signed_off_by = actor
    snapshot.signed_off_at = timezone.now()
    snapshot.save(update_fields=["signed_off_by", "signed_off_at"])
    return snapshot
