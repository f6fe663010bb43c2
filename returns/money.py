"""Refund arithmetic, in Decimal and whole cents, with no database access.

An order's total is split into shares: one per line (its price after discounts, plus its tax
when prices exclude tax) and one for shipping. Whatever the lines do not explain (an
order-level discount, tax on shipping, rounding) is spread over the lines in proportion, to
the cent, so the shares always add up to exactly the order's total.

A line's share is given back unit by unit through a cumulative rule: the first n units of a
line are worth round(share * n / quantity), and all of them exactly the share. Any split of
a line into partial refunds therefore adds up to exactly its share, never more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def money(value: Decimal | int | str) -> Decimal:
    """A money amount in whole cents. Floats are refused: they cannot hold cents exactly."""
    if isinstance(value, float):
        raise TypeError("Money is Decimal, never float.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineIn:
    """What the arithmetic needs of an order line."""

    id: int
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    tax: Decimal = ZERO


def spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `amount` in proportion to `weights`, to the cent, adding up to exactly `amount`
    (largest remainders get the leftover cents). Equal parts when every weight is zero."""
    if not weights:
        return []
    weights = [max(w, ZERO) for w in weights]
    total_weight = sum(weights, ZERO)
    if total_weight == 0:
        weights = [Decimal(1)] * len(weights)
        total_weight = Decimal(len(weights))
    cents = int((amount / CENT).to_integral_value())
    sign = -1 if cents < 0 else 1
    cents = abs(cents)
    exact = [Decimal(cents) * w / total_weight for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(sign * c) * CENT for c in floors]


@dataclass(frozen=True)
class OrderShares:
    lines: dict[int, Decimal]  # order line id -> its share of the total
    quantities: dict[int, int]
    shipping: Decimal
    total: Decimal

    def units_value(self, line_id: int, *, already: int, quantity: int) -> Decimal:
        """What `quantity` more units of a line are worth, after `already` were refunded."""
        return self._cumulative(line_id, already + quantity) - self._cumulative(line_id, already)

    def _cumulative(self, line_id: int, units: int) -> Decimal:
        share, whole = self.lines[line_id], self.quantities[line_id]
        if units >= whole:
            return share
        return (share * units / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def order_shares(
    *, total: Decimal, shipping_total: Decimal, taxes_included: bool, lines: Iterable[LineIn]
) -> OrderShares:
    """Split an order's total into its lines' shares and the shipping share."""
    lines = list(lines)
    total = money(total)
    shipping = min(max(money(shipping_total), ZERO), total)
    goods = total - shipping
    raw = [
        money(
            line.unit_price * line.quantity - line.discount + (ZERO if taxes_included else line.tax)
        )
        for line in lines
    ]
    if not lines:
        # Nothing to hold the goods' part: it goes with shipping.
        return OrderShares(lines={}, quantities={}, shipping=total, total=total)
    if sum(raw, ZERO) == goods and all(r >= 0 for r in raw):
        shares = raw
    else:
        weights = raw if any(r > 0 for r in raw) else [Decimal(line.quantity) for line in lines]
        shares = spread(goods, weights)
    return OrderShares(
        lines={line.id: share for line, share in zip(lines, shares, strict=True)},
        quantities={line.id: line.quantity for line in lines},
        shipping=shipping,
        total=total,
    )


@dataclass
class QuoteLine:
    line_id: int
    quantity: int
    amount: Decimal


@dataclass
class Quote:
    """A refund worked out before it is issued: lines, shipping, fee and the amount."""

    lines: list[QuoteLine] = field(default_factory=list)
    lines_amount: Decimal = ZERO
    shipping_amount: Decimal = ZERO
    restocking_fee: Decimal = ZERO
    fee_percent: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return self.lines_amount + self.shipping_amount - self.restocking_fee


def refund_quote(
    *,
    shares: OrderShares,
    units: Mapping[int, int],
    already_units: Mapping[int, int],
    include_shipping: bool,
    shipping_already: Decimal = ZERO,
    fee_percent: Decimal = ZERO,
) -> Quote:
    """Work out a refund of `units` (line id -> units) after `already_units` were refunded.

    Raises ValueError naming the line when more units are asked than remain.
    """
    quote = Quote(fee_percent=Decimal(fee_percent))
    for line_id, quantity in units.items():
        if quantity <= 0:
            continue
        whole = shares.quantities.get(line_id)
        if whole is None:
            raise ValueError(f"Line {line_id} is not on this order.")
        done = already_units.get(line_id, 0)
        if done + quantity > whole:
            raise ValueError(
                f"Line {line_id}: {quantity} asked, but only {whole - done} of {whole} "
                "are not refunded yet."
            )
        amount = shares.units_value(line_id, already=done, quantity=quantity)
        quote.lines.append(QuoteLine(line_id=line_id, quantity=quantity, amount=amount))
    quote.lines_amount = sum((q.amount for q in quote.lines), ZERO)
    if include_shipping:
        quote.shipping_amount = max(shares.shipping - money(shipping_already), ZERO)
    if fee_percent:
        fee = (quote.lines_amount * Decimal(fee_percent) / HUNDRED).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        quote.restocking_fee = min(fee, quote.lines_amount)
    return quote
