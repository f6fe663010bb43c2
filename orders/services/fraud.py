"""The fraud check: a rules engine whose weights, parameters and thresholds the admin edits.

Each rule is a small function registered with a code, a default weight and default
parameters. It looks at one order and, when it fires, explains itself in one sentence. A
FraudRule row with the same code overrides the weight, switches the rule off, or overrides
some of its parameters; without a row (a fresh database, a test that emptied the tables) the
defaults apply. Positive weights raise the risk, negative ones lower it. FraudSettings holds
the thresholds between low, medium and high.

Nothing here goes to the network: the IP-to-country table is a parameter of its rule (a few
network prefixes the admin extends), and unknown addresses simply don't fire.

Addresses are read as the intake stores them (JSON): the country from `country_code`, or
`country` when it is a two-letter code; the postcode from `postcode` or `zip`; the street
from `address1`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property, partial
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Avg, CharField, Count, Expression, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Upper
from django.utils import timezone

from opsdesk.core.bulk import objects_insert, update_many
from orders.models import (
    FraudRule,
    FraudSettings,
    Order,
    OrderEvent,
    OrderLine,
    RiskAssessment,
)
from orders.services.fulfillment import shipments_create_for_order
from orders.services.review import review_work_items_open_many
from orders.services.transitions import order_transition
from orders.signals import order_approved

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

HIGH_RISK_REASON = "high fraud risk"
LOW, MEDIUM, HIGH = "low", "medium", "high"
LEVELS = (LOW, MEDIUM, HIGH)
DEFAULT_MEDIUM_THRESHOLD = 30
DEFAULT_HIGH_THRESHOLD = 60


@dataclass(frozen=True)
class Indicator:
    """One rule that fired on an order: its points (negative lowers the risk) and why."""

    code: str
    points: int
    sentence: str

    @property
    def raises(self) -> bool:
        return self.points > 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "raises": self.raises}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    weight: int
    params: dict[str, Any]
    check: Callable[[FraudContext, dict[str, Any]], str | None] = field(compare=False)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, weight: int, **params: Any) -> Callable:
    """Register a rule function `check(ctx, params) -> sentence | None`."""

    def register(check: Callable) -> Callable:
        RULES[code] = Rule(code=code, name=name, weight=weight, params=params, check=check)
        return check

    return register


# Reading what the order says ------------------------------------------------------------


def address_country(address: dict | None) -> str:
    address = address or {}
    code = str(address.get("country_code") or "").strip()
    if not code:
        country = str(address.get("country") or "").strip()
        code = country if len(country) == 2 else ""
    return code.upper()


def address_postcode(address: dict | None) -> str:
    address = address or {}
    value = address.get("postcode") or address.get("zip") or address.get("postal_code") or ""
    return "".join(str(value).split()).upper()


def _postcode_key(address: dict) -> str | None:
    return next((k for k in ("postcode", "zip", "postal_code") if address.get(k)), None)


def _shipping_texts(shipping_line: Any) -> list[str]:
    lines = shipping_line if isinstance(shipping_line, list) else [shipping_line or {}]
    texts = []
    for line in lines:
        if isinstance(line, dict):
            texts.extend(str(v) for v in line.values() if isinstance(v, str) and v)
    return texts


def _shipping_label(shipping_line: Any) -> str:
    lines = shipping_line if isinstance(shipping_line, list) else [shipping_line or {}]
    for line in lines:
        if isinstance(line, dict):
            for key in ("title", "method_title", "name", "code", "method_id"):
                if line.get(key):
                    return str(line[key])
    return ""


def ip_country(ip: str | None, networks: dict[str, str]) -> str:
    """The country of `ip` by the longest matching prefix of `networks`, or ""."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    best, best_len = "", -1
    for prefix, country in networks.items():
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            logger.warning("fraud: ip_country_mismatch has a bad network %r", prefix)
            continue
        matches = address.version == network.version and address in network
        if matches and network.prefixlen > best_len:
            best, best_len = str(country).upper(), network.prefixlen
    return best


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}".strip()


PAID = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)
VELOCITY_DIMENSIONS = ("email", "address", "ip", "card")


class FraudContext:
    """The order under assessment, and the few reads the rules share (each made at most
    once, and only if a rule that needs it is enabled). In a batch (risk_assess_many) the
    reads come from BatchReads instead, made once for all the batch's orders."""

    def __init__(self, order: Order, batch: BatchReads | None = None) -> None:
        self.order = order
        self.customer = order.customer
        self.batch = batch
        self._velocity: dict[int, dict[str, int]] = {}

    @cached_property
    def lines(self) -> list[OrderLine]:
        return list(self.order.lines.all())

    def _earlier(self):
        return Order.objects.filter(created_at__lte=self.order.created_at).exclude(pk=self.order.pk)

    @cached_property
    def history(self) -> dict[str, int]:
        """The buyer's earlier orders, and how many of them were approved and paid."""
        if self.batch is not None:
            return self.batch.history(self.order)
        buyer = _same_buyer(self.order)
        if buyer is None:
            return {"earlier": 0, "paid": 0}
        paid = Q(status=Order.Status.APPROVED, payment_status__in=PAID)
        return (
            self._earlier()
            .filter(buyer)
            .aggregate(earlier=Count("pk"), paid=Count("pk", filter=paid))
        )

    def store_average(self, sample: int) -> tuple[Decimal | None, int]:
        """The mean total of the store's last `sample` orders before this one."""
        if self.batch is not None and (known := self.batch.store_average(self.order, sample)):
            return known
        stats = (
            self._earlier()
            .order_by("-created_at", "-id")[:sample]
            .aggregate(mean=Avg("total"), n=Count("pk"))
        )
        return stats["mean"], stats["n"]

    def velocity(self, hours: int) -> dict[str, int]:
        """Orders in the `hours` before this one from the same buyer, shipping address,
        IP address and card: one query for the four, bounded by the time window."""
        if hours in self._velocity:
            return self._velocity[hours]
        if self.batch is not None:
            counts = self.batch.velocity(self.order, hours)
        else:
            counts = dict.fromkeys(VELOCITY_DIMENSIONS, 0)
            if conditions := _velocity_conditions(self.order):
                since = self.order.created_at - timedelta(hours=hours)
                counts.update(
                    self._earlier()
                    .filter(_any_of(conditions.values()), created_at__gte=since)
                    .aggregate(
                        **{name: Count("pk", filter=cond) for name, cond in conditions.items()}
                    )
                )
        self._velocity[hours] = counts
        return counts


def _same_buyer(order: Order) -> Q | None:
    if order.customer_id:
        return Q(customer_id=order.customer_id)
    if order.email:
        return Q(email=order.email)
    return None


def _velocity_conditions(order: Order) -> dict[str, Q]:
    """What makes another order "the same" buyer, address, IP or card as `order`.
    _keys says the same as index keys, for BatchReads: change both together."""
    conditions: dict[str, Q] = {}
    if (buyer := _same_buyer(order)) is not None:
        conditions["email"] = buyer
    ship = order.shipping_address or {}
    pc_key = _postcode_key(ship)
    if pc_key and ship.get("address1"):
        conditions["address"] = Q(
            **{
                f"shipping_address__{pc_key}": ship[pc_key],
                "shipping_address__address1__iexact": ship["address1"],
            }
        )
    if order.client_ip:
        conditions["ip"] = Q(client_ip=order.client_ip)
    if order.card_fingerprint:
        conditions["card"] = Q(card_fingerprint=order.card_fingerprint)
    return conditions


def _any_of(conditions) -> Q:
    any_of = Q()
    for condition in conditions:
        any_of |= condition
    return any_of


@dataclass(frozen=True)
class _Recent:
    """The store's latest orders for the batch's store averages, oldest first: their times,
    the running sums of their totals (sums[i] is the total of the first i), and where each
    order is."""

    times: list
    sums: list[Decimal]
    at: dict[int, int]
    complete: bool  # every order there is, as far back as they go


class BatchReads:
    """FraudContext's reads for a batch of orders, each made with one query for the whole
    batch and then answered per order in Python, with the same answers.

    The rows read are the other orders that can count for some order of the batch (its
    buyer's, or in the velocity window and matching one of its conditions), indexed by what
    they match on, each index sorted by time. "Earlier" is, as in FraudContext, created at
    or before the order, the order itself excluded.
    """

    FIELDS = (
        "pk",
        "created_at",
        "customer_id",
        "email",
        "shipping_address",
        "client_ip",
        "card_fingerprint",
        "status",
        "payment_status",
    )

    def __init__(self, orders: list[Order]) -> None:
        self.orders = orders
        self.first = min(order.created_at for order in orders)
        self.last = max(order.created_at for order in orders)
        self._buyers: dict[tuple, list[dict]] | None = None
        self._windows: dict[int, dict[tuple, list[dict]]] = {}
        self._recent: dict[int, _Recent] = {}

    def history(self, order: Order) -> dict[str, int]:
        if self._buyers is None:
            buyers = self._could_match(streets=False)
            rows = (
                Order.objects.filter(buyers, created_at__lte=self.last).values(
                    "pk", "created_at", "customer_id", "email", "status", "payment_status"
                )
                if buyers
                else []
            )
            self._buyers = _index(rows, everything=False)
        key = _keys(order)["email"]
        if key is None:
            return {"earlier": 0, "paid": 0}
        earlier = [
            r
            for r in self._buyers.get(key, [])
            if r["created_at"] <= order.created_at and r["pk"] != order.pk
        ]
        paid = [
            r
            for r in earlier
            if r["status"] == Order.Status.APPROVED and r["payment_status"] in PAID
        ]
        return {"earlier": len(earlier), "paid": len(paid)}

    def store_average(self, order: Order, sample: int) -> tuple[Decimal | None, int] | None:
        """None when the rows read for the batch don't reach back far enough for this order
        (other builders' orders came in between): FraudContext then asks the database."""
        if sample not in self._recent:
            rows = list(
                Order.objects.filter(created_at__lte=self.last)
                .order_by("-created_at", "-id")
                .values_list("pk", "created_at", "total")[: sample + len(self.orders)]
            )
            rows.reverse()  # oldest first
            sums = [Decimal(0)]
            for _, _, total in rows:
                sums.append(sums[-1] + total)
            self._recent[sample] = _Recent(
                times=[created_at for _, created_at, _ in rows],
                sums=sums,
                at={pk: i for i, (pk, _, _) in enumerate(rows)},
                complete=len(rows) < sample + len(self.orders),
            )
        recent = self._recent[sample]
        # The rows created at or before the order are recent.times[:end]; the order's own
        # row, if among them, does not count. Its `sample` latest others are the mean's.
        end = bisect_right(recent.times, order.created_at)
        own = recent.at.get(order.pk, end)
        mine = own < end
        counted = min(sample, end - int(mine))
        if counted < sample and not recent.complete:
            return None
        if not counted:
            return None, 0
        start = end - counted - int(mine and own >= end - counted)
        total = recent.sums[end] - recent.sums[start]
        if mine and own >= start:
            total -= recent.sums[own + 1] - recent.sums[own]
        return total / counted, counted

    def velocity(self, order: Order, hours: int) -> dict[str, int]:
        window = timedelta(hours=hours)
        if hours not in self._windows:
            conditions = self._could_match(streets=True)
            rows = (
                Order.objects.alias(street=Upper(KT("shipping_address__address1")))
                .filter(
                    conditions,
                    created_at__gte=self.first - window,
                    created_at__lte=self.last,
                )
                .values(*self.FIELDS)
                if conditions
                else []
            )
            self._windows[hours] = _index(rows)
        index = self._windows[hours]
        since = order.created_at - window
        counts = dict.fromkeys(VELOCITY_DIMENSIONS, 0)
        for name, key in _keys(order).items():
            rows = index.get(key, []) if key is not None else []
            times = [r["created_at"] for r in rows]
            inside = bisect_right(times, order.created_at) - bisect_left(times, since)
            counts[name] = inside - any(r["pk"] == order.pk for r in rows)
        return counts

    def _could_match(self, *, streets: bool) -> Q:
        """Rows that may share a key with some order of the batch: its buyers (customers, or
        e-mails of orders without one), IPs, cards and, with `streets`, shipping streets.
        More rows than match, never fewer: _index then matches them exactly, key by key. A
        few IN lists, where one condition per order made the query slower to build than to
        run. (Empty when no order has anything to compare.)"""
        customers, emails, ips, cards, street_names = set(), set(), set(), set(), set()
        for order in self.orders:
            if order.customer_id:
                customers.add(order.customer_id)
            elif order.email:
                emails.add(order.email)
            if streets:
                ship = order.shipping_address if isinstance(order.shipping_address, dict) else {}
                if _postcode_key(ship) and isinstance(ship.get("address1"), str):
                    street_names.add(ship["address1"])
                if order.client_ip:
                    ips.add(str(order.client_ip))
                if order.card_fingerprint:
                    cards.add(order.card_fingerprint)
        lists = [
            ("customer_id__in", customers),
            ("email__in", emails),
            ("client_ip__in", ips),
            ("card_fingerprint__in", cards),
            # Upper-cased by the database on both sides, as the per-order iexact compares.
            ("street__in", _UpperEach(sorted(street_names)) if street_names else []),
        ]
        return _any_of(Q(**{lookup: values}) for lookup, values in lists if values)


class _UpperEach(Expression):
    """The list (UPPER(%s), UPPER(%s), ...) for an IN lookup: each text upper-cased by the
    database. A list of Upper(Value()) says the same, but compiling one expression per item
    took longer than running the query."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(output_field=CharField())
        self.texts = texts

    def as_sql(self, compiler, connection):
        return f"({', '.join(['UPPER(%s)'] * len(self.texts))})", list(self.texts)


def _keys(order: Order) -> dict[str, tuple | None]:
    """What _velocity_conditions compares, as index keys (None where it compares nothing):
    the order's keys and a row's keys (_index) are equal when the conditions match them."""
    customer_id, email = order.customer_id, order.email
    ship = order.shipping_address if isinstance(order.shipping_address, dict) else {}
    pc_key = _postcode_key(ship)
    street = ship.get("address1")
    address = None
    if pc_key and street and isinstance(street, str):
        address = ("address", pc_key, json.dumps(ship[pc_key], sort_keys=True), street.upper())
    return {
        "email": ("customer", customer_id)
        if customer_id
        else (("email", email) if email else None),
        "address": address,
        "ip": ("ip", str(order.client_ip)) if order.client_ip else None,
        "card": ("card", order.card_fingerprint) if order.card_fingerprint else None,
    }


def _index(rows, *, everything: bool = True) -> dict[tuple, list[dict]]:
    """Rows by every key they can be matched on, each list oldest first: under their
    customer and under their e-mail (for an order without a customer record) and, with
    `everything`, their IP, card, and shipping street with each postcode field they have.
    _keys gives an order's keys the same way."""
    index: dict[tuple, list[dict]] = {}
    for row in sorted(rows, key=itemgetter("created_at", "pk")):
        keys = []
        if row["customer_id"]:
            keys.append(("customer", row["customer_id"]))
        if row["email"]:
            keys.append(("email", row["email"]))
        if everything:
            if row["client_ip"]:
                keys.append(("ip", str(row["client_ip"])))
            if row["card_fingerprint"]:
                keys.append(("card", row["card_fingerprint"]))
            ship = row["shipping_address"]
            street = ship.get("address1") if isinstance(ship, dict) else None
            if isinstance(street, str) and street:
                street = street.upper()
                for pc_key in ("postcode", "zip", "postal_code"):
                    if pc_key in ship:
                        value = json.dumps(ship[pc_key], sort_keys=True)
                        keys.append(("address", pc_key, value, street))
        for key in keys:
            index.setdefault(key, []).append(row)
    return index


# The rules -------------------------------------------------------------------------------


@rule("address_mismatch", "Billing and shipping addresses differ", 15)
def _address_mismatch(ctx: FraudContext, params: dict) -> str | None:
    billing, shipping = ctx.order.billing_address, ctx.order.shipping_address
    if not billing or not shipping:
        return None
    b_country, s_country = address_country(billing), address_country(shipping)
    if b_country and s_country and b_country != s_country:
        return f"The billing address is in {b_country} but the order ships to {s_country}."
    b_code, s_code = address_postcode(billing), address_postcode(shipping)
    if b_code and s_code and b_code != s_code:
        return f"The billing postcode ({b_code}) differs from the shipping postcode ({s_code})."
    return None


@rule(
    "high_value",
    "Order value far above the store's average",
    20,
    multiplier=3,
    sample=200,
    min_orders=20,
)
def _high_value(ctx: FraudContext, params: dict) -> str | None:
    mean, n = ctx.store_average(int(params["sample"]))
    if mean is None or n < int(params["min_orders"]) or mean <= 0:
        return None
    multiplier = Decimal(str(params["multiplier"]))
    total = ctx.order.total
    if total <= mean * multiplier:
        return None
    currency = ctx.order.currency
    return (
        f"The total, {_money(total, currency)}, is {total / mean:.1f}× the store's average of "
        f"{_money(Decimal(mean).quantize(Decimal('0.01')), currency)} over the last {n} orders."
    )


EXPRESS_WORDS = [
    "express",
    "overnight",
    "next day",
    "next-day",
    "nextday",
    "priority",
    "expedited",
    "same day",
    "same-day",
    "1-day",
    "2-day",
]


@rule("first_order_express", "First order with express shipping", 15, keywords=EXPRESS_WORDS)
def _first_order_express(ctx: FraudContext, params: dict) -> str | None:
    texts = [t.lower() for t in _shipping_texts(ctx.order.shipping_line)]
    words = [str(w).lower() for w in params["keywords"]]
    if not any(word in text for text in texts for word in words):
        return None
    if ctx.history["earlier"]:
        return None
    label = _shipping_label(ctx.order.shipping_line)
    return f"The customer's first order, with express shipping (“{label}”)."


VELOCITY_WHAT = {
    "email": "from the same customer e-mail",
    "address": "to the same shipping address",
    "ip": "from the same IP address",
    "card": "with the same card",
}


def _velocity(ctx: FraudContext, params: dict, *, dimension: str) -> str | None:
    hours = int(params["hours"])
    others = ctx.velocity(hours)[dimension]
    orders = others + 1
    if orders < int(params["orders"]):
        return None
    detail = {
        "email": ctx.order.email,
        "ip": ctx.order.client_ip or "",
        "card": ctx.order.card_fingerprint,
        "address": address_postcode(ctx.order.shipping_address),
    }[dimension]
    suffix = f" ({detail})" if detail else ""
    return f"{orders} orders {VELOCITY_WHAT[dimension]}{suffix} within {hours} hours."


for _dimension, _name, _weight in (
    ("email", "Several orders from one e-mail in a short time", 20),
    ("address", "Several orders to one address in a short time", 15),
    ("ip", "Several orders from one IP address in a short time", 15),
    ("card", "Several orders with one card in a short time", 25),
):
    rule(f"velocity_{_dimension}", _name, _weight, orders=3, hours=24)(
        partial(_velocity, dimension=_dimension)
    )

AVS_MEANING = {
    "N": "neither the street nor the postcode matched",
    "C": "neither the street nor the postcode matched",
    "A": "the street matched but the postcode did not",
    "B": "the street matched but the postcode was not checked",
    "P": "the postcode matched but the street was not checked",
    "W": "the postcode matched but the street did not",
    "Z": "the postcode matched but the street did not",
}


@rule("avs_no_match", "The card's address check (AVS) failed", 20, codes=["N", "C"])
def _avs_no_match(ctx: FraudContext, params: dict) -> str | None:
    code = ctx.order.avs_result.strip().upper()
    if code and code in params["codes"]:
        meaning = AVS_MEANING.get(code, "the address did not match")
        return f"The card's address check failed (AVS {code}: {meaning})."
    return None


@rule(
    "avs_partial",
    "The card's address check (AVS) matched only in part",
    8,
    codes=["A", "B", "P", "W", "Z"],
)
def _avs_partial(ctx: FraudContext, params: dict) -> str | None:
    code = ctx.order.avs_result.strip().upper()
    if code and code in params["codes"]:
        meaning = AVS_MEANING.get(code, "the address matched in part")
        return f"The card's address check matched only in part (AVS {code}: {meaning})."
    return None


@rule("cvv_no_match", "The card's security code (CVV) did not match", 25, codes=["N"])
def _cvv_no_match(ctx: FraudContext, params: dict) -> str | None:
    code = ctx.order.cvv_result.strip().upper()
    if code and code in params["codes"]:
        return f"The card's security code did not match (CVV {code})."
    return None


@rule(
    "card_checks_passed",
    "The card's address and security code both matched",
    -10,
    avs_codes=["Y", "X", "D", "F", "M"],
    cvv_codes=["M"],
)
def _card_checks_passed(ctx: FraudContext, params: dict) -> str | None:
    avs = ctx.order.avs_result.strip().upper()
    cvv = ctx.order.cvv_result.strip().upper()
    if avs in params["avs_codes"] and cvv in params["cvv_codes"]:
        return f"The card's address (AVS {avs}) and security code (CVV {cvv}) both matched."
    return None


# Documentation ranges (RFC 5737) so tests and the demo store have known answers; the admin
# adds the store's own prefixes. No lookups over the network.
IP_NETWORKS = {
    "192.0.2.0/24": "US",
    "198.51.100.0/24": "GB",
    "203.0.113.0/24": "NG",
    "2001:db8::/32": "DE",
}


@rule(
    "ip_country_mismatch",
    "The IP address is in another country than the billing address",
    20,
    networks=IP_NETWORKS,
)
def _ip_country_mismatch(ctx: FraudContext, params: dict) -> str | None:
    billing = address_country(ctx.order.billing_address)
    placed_from = ip_country(ctx.order.client_ip, params["networks"])
    if billing and placed_from and billing != placed_from:
        return (
            f"The order was placed from an IP address in {placed_from} ({ctx.order.client_ip}), "
            f"but the billing address is in {billing}."
        )
    return None


DISPOSABLE_DOMAINS = [
    "10minutemail.com",
    "dispostable.com",
    "getnada.com",
    "guerrillamail.com",
    "mailinator.com",
    "maildrop.cc",
    "sharklasers.com",
    "temp-mail.org",
    "tempmail.com",
    "throwawaymail.com",
    "trashmail.com",
    "yopmail.com",
]


@rule("disposable_email", "Disposable e-mail domain", 25, domains=DISPOSABLE_DOMAINS)
def _disposable_email(ctx: FraudContext, params: dict) -> str | None:
    email = (ctx.order.email or (ctx.customer.email if ctx.customer else "")).lower()
    domain = email.rpartition("@")[2]
    if not domain:
        return None
    for listed in params["domains"]:
        listed = str(listed).lower()
        if domain == listed or domain.endswith("." + listed):
            return f"The e-mail address uses a disposable domain ({domain})."
    return None


@rule("many_units", "Many units of one item", 10, units=10)
def _many_units(ctx: FraudContext, params: dict) -> str | None:
    if not ctx.lines:
        return None
    biggest = max(ctx.lines, key=lambda line: line.quantity)
    if biggest.quantity < int(params["units"]):
        return None
    return f"{biggest.quantity} units of one item ({biggest.sku or biggest.title}) on one order."


@rule("customer_fraud_flag", "Customer flagged for fraud before", 60)
def _customer_fraud_flag(ctx: FraudContext, params: dict) -> str | None:
    if ctx.customer is not None and ctx.customer.fraud_flag:
        return "The customer was flagged for fraud before."
    return None


@rule("customer_chargeback", "Customer with an earlier chargeback", 30)
def _customer_chargeback(ctx: FraudContext, params: dict) -> str | None:
    if ctx.customer is not None and ctx.customer.chargebacks > 0:
        n = ctx.customer.chargebacks
        return f"The customer has {n} chargeback{'s' if n != 1 else ''} on record."
    return None


@rule("returning_customer", "Returning customer with paid orders", -15, paid_orders=2)
def _returning_customer(ctx: FraudContext, params: dict) -> str | None:
    paid = ctx.history["paid"]
    if paid < int(params["paid_orders"]):
        return None
    return f"A returning customer with {paid} earlier paid order{'s' if paid != 1 else ''}."


# Running the rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class Configured:
    rule: Rule
    weight: int
    params: dict[str, Any]


def rules_configured() -> list[Configured]:
    """The enabled rules with the admin's weights and parameters (defaults where no row)."""
    rows = {row.code: row for row in FraudRule.objects.all()}
    configured = []
    for code, registered in RULES.items():
        row = rows.get(code)
        if row is not None and not row.enabled:
            continue
        params = dict(registered.params)
        if row is not None and isinstance(row.params, dict):
            params.update(row.params)
        weight = row.weight if row is not None else registered.weight
        configured.append(Configured(rule=registered, weight=weight, params=params))
    return configured


def fraud_thresholds() -> tuple[int, int]:
    """(medium, high) from FraudSettings, or the defaults when the row is missing."""
    row = FraudSettings.objects.filter(pk=FraudSettings.SINGLETON_ID).first()
    if row is None:
        return DEFAULT_MEDIUM_THRESHOLD, DEFAULT_HIGH_THRESHOLD
    return row.medium_threshold, row.high_threshold


def risk_level_for(score: int, *, medium: int, high: int) -> str:
    if score >= high:
        return HIGH
    if score >= medium:
        return MEDIUM
    return LOW


@dataclass(frozen=True)
class FraudConfig:
    """The admin's rules and thresholds, read once for a run over many orders."""

    rules: list[Configured]
    medium: int
    high: int

    @classmethod
    def read(cls) -> FraudConfig:
        medium, high = fraud_thresholds()
        return cls(rules=rules_configured(), medium=medium, high=high)


def risk_evaluate(
    order: Order,
    *,
    config: FraudConfig | None = None,
    lines: list[OrderLine] | None = None,
    batch: BatchReads | None = None,
) -> tuple[int, str, list[Indicator]]:
    """Run every enabled rule on `order`: (score, level, indicators). Writes nothing.

    `config`, `lines` and `batch` save reads when the caller has made them already."""
    config = config or FraudConfig.read()
    ctx = FraudContext(order, batch)
    if lines is not None:
        ctx.lines = lines  # what the cached property would read
    indicators = []
    for configured in config.rules:
        if configured.weight == 0:
            continue
        sentence = configured.rule.check(ctx, configured.params)
        if sentence:
            indicators.append(
                Indicator(code=configured.rule.code, points=configured.weight, sentence=sentence)
            )
    # Raising indicators first, the heaviest on top: the panel reads as "why".
    indicators.sort(key=lambda i: (-i.points, i.code))
    score = max(0, sum(i.points for i in indicators))
    return score, risk_level_for(score, medium=config.medium, high=config.high), indicators


def risk_assess(*, order_id: int, actor: User | None = None, force: bool = False) -> RiskAssessment:
    """Run the fraud check on an order, record the result, and route a new order by it.

    A received order goes on hold when the risk is high (and fraud review is told), is
    approved automatically when it is low, its channel allows that and nothing else needs
    a person, and otherwise waits in the review queue. An order past that point keeps the
    assessment it has: running again changes nothing unless `force` (then the result is
    recorded anew, without routing). Safe to run twice.
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("customer", "channel")
            .get(pk=order_id)
        )
        routable = order.status == Order.Status.RECEIVED
        if not routable and not force:
            existing = RiskAssessment.objects.filter(order=order).first()
            if existing is not None:
                return existing
        score, level, indicators = risk_evaluate(order)
        assessment, _ = RiskAssessment.objects.update_or_create(
            order=order,
            defaults={
                "score": score,
                "level": level,
                "indicators": [i.as_dict() for i in indicators],
                "assessed_at": timezone.now(),
            },
        )
        order.risk_score, order.risk_level = score, level
        order.save(update_fields=["risk_score", "risk_level", "updated_at"])
        _assessed_event(order, indicators, actor=actor).save()
        if routable:
            _route(order, level=level)
    return assessment


def risk_assess_many(
    *, order_ids: list[int], built: dict[int, tuple[Order, list[OrderLine]]] | None = None
) -> int:
    """risk_assess for many new orders at once (an intake batch), in one transaction.

    Each order gets the same assessment and route as from risk_assess; the rules are read
    once, the orders bound for the review queue move there together, and whoever is on duty
    gets one notice for all of them. Orders no longer RECEIVED are left as they are.
    Returns how many orders were routed.

    `built` holds orders (with their customer, channel and lines) as the caller built them
    just before: each is used as it is while its row's updated_at still says that nothing
    changed it since (every change of an order sets updated_at); the others are read again.
    """
    config = FraudConfig.read()
    built = built or {}
    with transaction.atomic():
        locked = dict(
            Order.objects.select_for_update()
            .filter(pk__in=order_ids, status=Order.Status.RECEIVED)
            .order_by("pk")  # the order every service locks orders in
            .values_list("pk", "updated_at")
        )
        unchanged = {}
        for pk, updated_at in locked.items():
            if pk in built and built[pk][0].updated_at == updated_at:
                unchanged[pk] = built[pk]
        read = list(
            Order.objects.select_related("customer", "channel")
            .prefetch_related("lines")
            .filter(pk__in=[pk for pk in locked if pk not in unchanged])
        )
        lines_of = {order.pk: list(order.lines.all()) for order in read}
        lines_of.update({pk: lines for pk, (_, lines) in unchanged.items()})
        orders = sorted([*read, *(order for order, _ in unchanged.values())], key=attrgetter("pk"))
        if not orders:
            return 0
        batch = BatchReads(orders)
        now = timezone.now()
        assessments, assessed, to_hold, to_review, one_by_one = [], [], [], [], []
        for order in orders:
            lines = lines_of[order.pk]
            score, level, indicators = risk_evaluate(order, config=config, lines=lines, batch=batch)
            order.risk_score, order.risk_level, order.updated_at = score, level, now
            assessments.append(
                RiskAssessment(
                    order=order,
                    score=score,
                    level=level,
                    indicators=[i.as_dict() for i in indicators],
                    assessed_at=now,
                )
            )
            assessed.append(_assessed_event(order, indicators, actor=None))
            if level == HIGH:
                to_hold.append(order)
            elif _auto_approves(order, level, lines):
                one_by_one.append(order)  # approved and sent on to fulfillment
            else:
                to_review.append(order)
        RiskAssessment.objects.bulk_create(
            assessments,
            update_conflicts=True,
            unique_fields=["order"],
            update_fields=["score", "level", "indicators", "assessed_at"],
        )
        for order in to_hold:
            order.status, order.hold_reason = Order.Status.ON_HOLD, HIGH_RISK_REASON
        for order in to_review:
            order.status = Order.Status.AWAITING_REVIEW
        # The risk and the move to hold or review in one UPDATE: each is a new row version.
        update_many(
            Order,
            ["risk_score", "risk_level", "status", "hold_reason"],
            [(o.pk, o.risk_score, o.risk_level, o.status, o.hold_reason) for o in orders],
            same={"updated_at": now},
        )
        objects_insert(assessed)
        for order in one_by_one:
            _route(order, level=order.risk_level)
        _moved_received(to_hold, to_status=Order.Status.ON_HOLD)
        _moved_received(to_review, to_status=Order.Status.AWAITING_REVIEW)
    return len(orders)


def _assessed_event(order: Order, indicators: list[Indicator], *, actor: User | None):
    return OrderEvent(
        order=order,
        type=OrderEvent.Type.RISK_ASSESSED,
        actor=actor,
        data={
            "score": order.risk_score,
            "level": order.risk_level,
            "indicators": [f"{'+' if i.points > 0 else ''}{i.points} {i.code}" for i in indicators],
        },
    )


def _auto_approves(order: Order, level: str, lines: list[OrderLine] | None = None) -> bool:
    """Low risk on a channel that approves it, and nothing else for a person to look at."""
    if not (
        level == LOW
        and order.channel is not None
        and order.channel.auto_approve_low_risk
        and not order.review_reasons
    ):
        return False
    if lines is None:
        return not order.lines.filter(variant__isnull=True).exists()
    return all(line.variant_id is not None for line in lines)


def _move_received(orders: list[Order], *, to_status: str, now) -> None:
    """Move locked RECEIVED orders on hold for fraud review, or to the review queue."""
    if not orders:
        return
    held = to_status == Order.Status.ON_HOLD
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=to_status, updated_at=now, **({"hold_reason": HIGH_RISK_REASON} if held else {})
    )
    for order in orders:  # as the rows now say
        order.status, order.updated_at = to_status, now
        if held:
            order.hold_reason = HIGH_RISK_REASON
    _moved_received(orders, to_status=to_status)


def _moved_received(orders: list[Order], *, to_status: str) -> None:
    """What follows RECEIVED orders' move on hold or to review (their rows say so already):
    the events order_transition would record, each order in its process's queue (the fraud
    review's sweep escalates it like any other), and one notice for all of them."""
    if not orders:
        return
    held = to_status == Order.Status.ON_HOLD
    objects_insert(
        [
            OrderEvent(
                order=order,
                type=OrderEvent.Type.HELD if held else OrderEvent.Type.SENT_TO_REVIEW,
                from_status=Order.Status.RECEIVED,
                to_status=to_status,
                data={"reason": HIGH_RISK_REASON, "score": order.risk_score}
                if held
                else {"level": order.risk_level, "reasons": list(order.review_reasons or [])},
            )
            for order in orders
        ]
    )
    if held:
        review_work_items_open_many(
            orders,
            process="fraud_review",
            titles=[f"Order {o.number}: high fraud risk ({o.risk_score})" for o in orders],
        )
    else:
        review_work_items_open_many(orders)


def _route(order: Order, *, level: str) -> None:
    """Route one locked RECEIVED order: approved when it may be, else on hold for fraud
    review (high risk) or to the review queue, with what a batch records (_moved_received)."""
    if level != HIGH and _auto_approves(order, level):
        approved = order_transition(
            order_id=order.pk,
            to_status=Order.Status.APPROVED,
            actor=None,
            event_type=OrderEvent.Type.AUTO_APPROVED,
            data={"level": level, "score": order.risk_score},
        )
        order_approved.send(sender=Order, order=approved, actor=None)
        shipments_create_for_order(order=approved, actor=None)
        return
    to_status = Order.Status.ON_HOLD if level == HIGH else Order.Status.AWAITING_REVIEW
    _move_received([order], to_status=to_status, now=timezone.now())
