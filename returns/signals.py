"""The domain events of returns. Services send them after the change, inside the transaction;
observers (bookkeeping) connect receivers in their own modules.

Every signal is sent with `sender=Refund` (or `ReturnRequest`) and the keyword arguments listed.
"""

from django.dispatch import Signal

# A refund was issued (to the original payment, as store credit or as an exchange): refund, actor.
refund_issued = Signal()
# Returned units were inspected: return_line, outcome, actor.
return_line_inspected = Signal()
