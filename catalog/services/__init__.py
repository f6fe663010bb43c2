"""Writes of the catalog. Other apps call these; see each module for the details.

products  create, edit, status transitions, publishing, drafts for new items, sold out
variants  SKUs: add, edit, the POS's last report
images    uploads checked by Pillow, thumbnails
queue     the data-entry queue: claim, verify, keeping queue items in step
accuracy  POS-vs-web accuracy snapshots and their sign-off
"""

from catalog.services.accuracy import (
    accuracy_snapshot_sign_off,
    accuracy_snapshot_take,
    accuracy_snapshot_take_daily,
)
from catalog.services.images import product_image_add, product_image_remove
from catalog.services.products import (
    product_create,
    product_create_draft,
    product_publish,
    product_sold_out_unpublish,
    product_transition,
    product_unpublish,
    product_update,
    variant_is_reservable,
)
from catalog.services.queue import (
    product_claim,
    product_verify,
    queue_sync,
    web_ready_queue_reconcile,
)
from catalog.services.variants import (
    VariantPosData,
    VariantPosRow,
    variant_create,
    variant_pos_update_many,
    variant_update,
    variant_validate,
)

__all__ = [
    "VariantPosData",
    "VariantPosRow",
    "accuracy_snapshot_sign_off",
    "accuracy_snapshot_take",
    "accuracy_snapshot_take_daily",
    "product_claim",
    "product_create",
    "product_create_draft",
    "product_image_add",
    "product_image_remove",
    "product_publish",
    "product_sold_out_unpublish",
    "product_transition",
    "product_unpublish",
    "product_update",
    "product_verify",
    "queue_sync",
    "variant_create",
    "variant_is_reservable",
    "variant_pos_update_many",
    "variant_update",
    "variant_validate",
    "web_ready_queue_reconcile",
]
