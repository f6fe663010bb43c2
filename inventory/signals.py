"""Domain events of inventory. Services send them inside their transaction, after the change,
so a receiver that writes (bookkeeping's journal) commits or rolls back with the change; a
receiver that sends something must enqueue it with transaction.on_commit.

Every signal is sent with `sender` the model class named below and the keyword arguments
listed; `actor` is the user who caused it, or None for the system.
"""

from django.dispatch import Signal

# sender=Reservation; reservations: list[Reservation], source_ref, reference, actor.
# source_ref is (content type id, object id) of the demand, or (None, None).
stock_reserved = Signal()
# sender=Reservation; reservation, quantity (units released), reason, actor
stock_released = Signal()
# sender=Reservation; reservation, quantity (units shipped now), movement, actor
stock_shipped = Signal()
# sender=StockMovement; movement (kind receive), source, actor
stock_received = Signal()
# sender=StockMovement; movement (kind return_restock), source, actor
stock_returned = Signal()
# sender=StockMovement; movement (kind adjust), source, actor
stock_adjusted = Signal()
# sender=StockMovement; movement_out, movement_in, actor
stock_transferred = Signal()
# sender=StockMovement; movement (kind pos_sync), source, actor
stock_synced_from_pos = Signal()
# sender=Reservation; reservation (now expired), quantity, actor (None)
reservation_expired = Signal()
# sender=Reservation; reservation (now backordered), backorder, actor. The POS counted fewer
# units than were reserved; the order keeps its source and reference on the backorder.
reservation_backordered = Signal()
# sender=Backorder; backorders: list[Backorder] (one order's lines), source_ref, reference,
# actor
backorder_opened = Signal()
# sender=Backorder; backorder, reservations: list[Reservation], actor
backorder_reserved = Signal()
# sender=Backorder; backorders: list[Backorder] (one order's lines, all reserved now), actor.
# Sent once per order after its backorder_reserved signals.
backorders_filled = Signal()
# sender=Backorder; backorder, substitute (Variant), reservations, actor
backorder_substituted = Signal()
# sender=Backorder; backorder, reason, actor
backorder_cancelled = Signal()
# sender=Variant; variants: list[Variant] (each with `sellable`, the units available for the
# web, and `product`), day: the local date. Sent once per variant per day, inside the
# transaction that records it.
low_stock_found = Signal()
