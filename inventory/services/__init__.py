"""Writes of inventory. Other apps call these; see each module for the details.

stock       reserve, release, ship, adjust, transfer, receive, return, POS counts, the
            expiry of holds, the low-stock check
backorders  the out-of-stock queue and the decisions staff take on it
levels      building blocks (locking, movements, allocation, retries); internal
receiving   purchase orders and receiving
pos_sync    POS files and the push endpoint
"""

from inventory.services.backorders import (
    backorder_cancel,
    backorder_contact_customer,
    backorder_reserve,
    backorder_substitute,
    backorder_wait_for_po,
)
from inventory.services.stock import (
    ReserveRequest,
    ReserveResult,
    low_stock_check,
    reservation_expire_due,
    stock_adjust,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
    stock_return_restock,
    stock_set_from_pos,
    stock_ship,
    stock_transfer,
)

__all__ = [
    "ReserveRequest",
    "ReserveResult",
    "backorder_cancel",
    "backorder_contact_customer",
    "backorder_reserve",
    "backorder_substitute",
    "backorder_wait_for_po",
    "low_stock_check",
    "reservation_expire_due",
    "stock_adjust",
    "stock_receive",
    "stock_release",
    "stock_reserve",
    "stock_reserve_many",
    "stock_return_restock",
    "stock_set_from_pos",
    "stock_ship",
    "stock_transfer",
]
