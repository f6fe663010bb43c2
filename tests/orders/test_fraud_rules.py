"""Each fraud rule, firing and not firing, with the sentence it explains itself in; and the
admin's weights, parameters and thresholds (with defaults when the rows are missing)."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import FraudRule, FraudSettings, Order
from orders.services.fraud import RULES, ip_country, risk_evaluate, risk_level_for
from tests.orders.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    address,
)

pytestmark = pytest.mark.django_db


def fired(order: Order) -> dict:
    _, _, indicators = risk_evaluate(order)
    return {indicator.code: indicator for indicator in indicators}


def sentence(order: Order, code: str) -> str | None:
    indicator = fired(order).get(code)
    return indicator.sentence if indicator else None


def earlier(hours: float = 1, **fields) -> Order:
    return OrderFactory(created_at=timezone.now() - timedelta(hours=hours), **fields)


# Addresses ---------------------------------------------------------------------------------


def test_address_mismatch_fires_when_countries_differ():
    order = OrderFactory(shipping_address=address(country="CA", postcode="K1A 0B1"))
    assert sentence(order, "address_mismatch") == (
        "The billing address is in US but the order ships to CA."
    )


def test_address_mismatch_fires_when_postcodes_differ():
    order = OrderFactory(shipping_address=address(postcode="62702"))
    assert sentence(order, "address_mismatch") == (
        "The billing postcode (62701) differs from the shipping postcode (62702)."
    )


def test_address_mismatch_ignores_spacing_and_case_of_postcodes():
    order = OrderFactory(
        billing_address=address(country="GB", postcode="sw1a 1aa"),
        shipping_address=address(country="GB", postcode="SW1A1AA"),
    )
    assert sentence(order, "address_mismatch") is None


def test_address_mismatch_does_not_fire_without_a_shipping_address():
    order = OrderFactory(shipping_address={}, fulfillment_method=Order.Method.STORE_PICKUP)
    assert sentence(order, "address_mismatch") is None


# Value -------------------------------------------------------------------------------------


def test_high_value_fires_far_above_the_store_average():
    for _ in range(20):
        earlier(total=Decimal("40.00"))
    order = OrderFactory(total=Decimal("200.00"))
    assert sentence(order, "high_value") == (
        "The total, 200.00 USD, is 5.0× the store's average of 40.00 USD over the last 20 orders."
    )


def test_high_value_does_not_fire_within_the_multiplier():
    for _ in range(20):
        earlier(total=Decimal("40.00"))
    assert sentence(OrderFactory(total=Decimal("119.00")), "high_value") is None


def test_high_value_needs_enough_orders_to_compare_with():
    for _ in range(5):
        earlier(total=Decimal("10.00"))
    assert sentence(OrderFactory(total=Decimal("900.00")), "high_value") is None


# Express on a first order ------------------------------------------------------------------

EXPRESS = {"code": "EXP-1", "title": "Express Overnight", "source": "shopify"}


def test_first_order_with_express_shipping_fires():
    order = OrderFactory(shipping_line=EXPRESS)
    assert sentence(order, "first_order_express") == (
        "The customer's first order, with express shipping (“Express Overnight”)."
    )


def test_express_shipping_from_a_customer_with_earlier_orders_does_not_fire():
    customer = CustomerFactory()
    earlier(hours=24 * 30, customer=customer)
    assert (
        sentence(OrderFactory(customer=customer, shipping_line=EXPRESS), "first_order_express")
        is None
    )


def test_first_order_with_standard_shipping_does_not_fire():
    order = OrderFactory(shipping_line={"method_id": "flat_rate", "method_title": "Flat rate"})
    assert sentence(order, "first_order_express") is None


# Velocity ----------------------------------------------------------------------------------


def test_several_orders_from_one_ip_fire():
    for _ in range(2):
        earlier(client_ip="192.0.2.10")
    order = OrderFactory(client_ip="192.0.2.10")
    assert sentence(order, "velocity_ip") == (
        "3 orders from the same IP address (192.0.2.10) within 24 hours."
    )


def test_orders_from_one_ip_outside_the_window_do_not_fire():
    for _ in range(2):
        earlier(hours=25, client_ip="192.0.2.10")
    earlier(client_ip="192.0.2.11")
    assert sentence(OrderFactory(client_ip="192.0.2.10"), "velocity_ip") is None


def test_several_orders_from_one_customer_fire():
    customer = CustomerFactory(email="fast@example.com")
    for _ in range(2):
        earlier(customer=customer)
    assert sentence(OrderFactory(customer=customer), "velocity_email") == (
        "3 orders from the same customer e-mail (fast@example.com) within 24 hours."
    )


def test_several_orders_with_one_card_fire():
    for _ in range(3):
        earlier(card_fingerprint="visa-4242")
    assert sentence(OrderFactory(card_fingerprint="visa-4242"), "velocity_card") == (
        "4 orders with the same card (visa-4242) within 24 hours."
    )


def test_several_orders_to_one_address_fire_whatever_the_case_of_the_street():
    for street in ("12 Analytical Row", "12 ANALYTICAL ROW"):
        earlier(shipping_address=address(address1=street))
    assert sentence(OrderFactory(), "velocity_address") == (
        "3 orders to the same shipping address (62701) within 24 hours."
    )


def test_one_earlier_order_to_the_address_does_not_fire():
    earlier()
    assert sentence(OrderFactory(), "velocity_address") is None


# Card checks -------------------------------------------------------------------------------


def test_avs_no_match_fires():
    assert sentence(OrderFactory(avs_result="N"), "avs_no_match") == (
        "The card's address check failed (AVS N: neither the street nor the postcode matched)."
    )


def test_avs_partial_match_fires():
    assert sentence(OrderFactory(avs_result="A"), "avs_partial") == (
        "The card's address check matched only in part "
        "(AVS A: the street matched but the postcode did not)."
    )


def test_cvv_no_match_fires():
    assert sentence(OrderFactory(cvv_result="N"), "cvv_no_match") == (
        "The card's security code did not match (CVV N)."
    )


@pytest.mark.parametrize("avs", ["", "Y", "U"])
def test_avs_match_or_missing_does_not_fire(avs):
    codes = fired(OrderFactory(avs_result=avs, cvv_result="M"))
    assert "avs_no_match" not in codes
    assert "avs_partial" not in codes
    assert "cvv_no_match" not in codes


def test_card_checks_both_matching_lower_the_risk():
    indicator = fired(OrderFactory(avs_result="Y", cvv_result="M"))["card_checks_passed"]
    assert indicator.points < 0
    assert not indicator.raises
    assert indicator.sentence == (
        "The card's address (AVS Y) and security code (CVV M) both matched."
    )


def test_card_checks_half_matching_do_not_lower_the_risk():
    assert "card_checks_passed" not in fired(OrderFactory(avs_result="Y", cvv_result="N"))


# IP country --------------------------------------------------------------------------------


def test_ip_country_differing_from_billing_country_fires():
    order = OrderFactory(client_ip="198.51.100.7")
    assert sentence(order, "ip_country_mismatch") == (
        "The order was placed from an IP address in GB (198.51.100.7), "
        "but the billing address is in US."
    )


@pytest.mark.parametrize("ip", ["192.0.2.5", "10.1.2.3", None])
def test_ip_in_the_billing_country_or_unknown_does_not_fire(ip):
    assert sentence(OrderFactory(client_ip=ip), "ip_country_mismatch") is None


def test_ip_country_takes_the_longest_prefix():
    networks = {"10.0.0.0/8": "US", "10.9.0.0/16": "FR", "2001:db8::/32": "DE"}
    assert ip_country("10.9.1.1", networks) == "FR"
    assert ip_country("10.8.1.1", networks) == "US"
    assert ip_country("2001:db8::1", networks) == "DE"
    assert ip_country("not an ip", networks) == ""


# E-mail, units, customer -------------------------------------------------------------------


def test_disposable_email_domain_fires():
    customer = CustomerFactory(email="quick@mailinator.com")
    assert sentence(OrderFactory(customer=customer), "disposable_email") == (
        "The e-mail address uses a disposable domain (mailinator.com)."
    )


def test_ordinary_email_domain_does_not_fire():
    assert sentence(OrderFactory(), "disposable_email") is None


def test_many_units_of_one_item_fire():
    order = OrderFactory()
    line = OrderLineFactory(order=order, quantity=12)
    assert sentence(order, "many_units") == f"12 units of one item ({line.sku}) on one order."


def test_a_few_units_do_not_fire():
    order = OrderFactory()
    OrderLineFactory(order=order, quantity=9)
    assert sentence(order, "many_units") is None


def test_customer_flagged_for_fraud_fires():
    customer = CustomerFactory(fraud_flag=True)
    assert sentence(OrderFactory(customer=customer), "customer_fraud_flag") == (
        "The customer was flagged for fraud before."
    )


def test_customer_with_chargebacks_fires():
    customer = CustomerFactory(chargebacks=2)
    assert sentence(OrderFactory(customer=customer), "customer_chargeback") == (
        "The customer has 2 chargebacks on record."
    )


def test_customer_with_a_clean_record_does_not_fire():
    codes = fired(OrderFactory())
    assert "customer_fraud_flag" not in codes
    assert "customer_chargeback" not in codes


def test_returning_customer_with_paid_orders_lowers_the_risk():
    customer = CustomerFactory()
    for days in (40, 20):
        earlier(hours=24 * days, customer=customer, status=Order.Status.APPROVED)
    indicator = fired(OrderFactory(customer=customer))["returning_customer"]
    assert indicator.points < 0
    assert indicator.sentence == "A returning customer with 2 earlier paid orders."


def test_earlier_cancelled_or_unpaid_orders_do_not_count_as_paid():
    customer = CustomerFactory()
    earlier(hours=500, customer=customer, status=Order.Status.CANCELLED)
    earlier(
        hours=400,
        customer=customer,
        status=Order.Status.APPROVED,
        payment_status=Order.PaymentStatus.PENDING,
    )
    assert sentence(OrderFactory(customer=customer), "returning_customer") is None


# Score, level and the admin's settings -----------------------------------------------------


def test_a_clean_order_scores_zero_and_is_low():
    score, level, indicators = risk_evaluate(OrderFactory())
    assert (score, level, indicators) == (0, "low", [])


def test_lowering_rules_never_take_the_score_below_zero():
    score, _, indicators = risk_evaluate(OrderFactory(avs_result="Y", cvv_result="M"))
    assert [i.code for i in indicators] == ["card_checks_passed"]
    assert score == 0


def test_score_adds_the_weights_and_raising_indicators_come_first():
    order = OrderFactory(avs_result="N", cvv_result="N", client_ip="198.51.100.7")
    score, level, indicators = risk_evaluate(order)
    assert [i.code for i in indicators] == ["cvv_no_match", "avs_no_match", "ip_country_mismatch"]
    assert score == 25 + 20 + 20
    assert level == "high"


@pytest.mark.parametrize(
    ("score", "level"), [(0, "low"), (29, "low"), (30, "medium"), (59, "medium"), (60, "high")]
)
def test_levels_follow_the_thresholds(score, level):
    assert risk_level_for(score, medium=30, high=60) == level


def test_the_admins_thresholds_apply():
    FraudSettings.objects.update_or_create(
        pk=1, defaults={"medium_threshold": 10, "high_threshold": 20}
    )
    assert risk_evaluate(OrderFactory(avs_result="N"))[1] == "high"


def test_a_disabled_rule_does_not_fire():
    FraudRule.objects.filter(code="avs_no_match").update(enabled=False)
    assert "avs_no_match" not in fired(OrderFactory(avs_result="N"))


def test_the_admins_weight_replaces_the_default():
    FraudRule.objects.filter(code="avs_no_match").update(weight=45)
    score, level, _ = risk_evaluate(OrderFactory(avs_result="N"))
    assert (score, level) == (45, "medium")


def test_the_admins_parameters_override_the_defaults_they_name():
    FraudRule.objects.filter(code="many_units").update(params={"units": 50})
    order = OrderFactory()
    OrderLineFactory(order=order, quantity=12)
    assert "many_units" not in fired(order)
    FraudRule.objects.filter(code="disposable_email").update(params={"domains": ["example.com"]})
    assert sentence(OrderFactory(), "disposable_email") is not None


def test_without_rule_rows_or_settings_the_defaults_apply():
    FraudRule.objects.all().delete()
    FraudSettings.objects.all().delete()
    score, level, indicators = risk_evaluate(OrderFactory(cvv_result="N", avs_result="N"))
    assert [i.code for i in indicators] == ["cvv_no_match", "avs_no_match"]
    assert (score, level) == (45, "medium")


def test_the_migration_seeds_every_rule_as_the_code_defines_it():
    rows = {r.code: r for r in FraudRule.objects.all()}
    assert set(rows) == set(RULES)
    for code, rule in RULES.items():
        assert (rows[code].name, rows[code].weight, rows[code].params) == (
            rule.name,
            rule.weight,
            rule.params,
        ), code
        assert rows[code].enabled
    settings_row = FraudSettings.objects.get()
    assert (settings_row.medium_threshold, settings_row.high_threshold) == (30, 60)


def test_every_rule_has_a_sentence_in_the_tests():
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [code for code in RULES if f'"{code}"' not in source]
    assert untested == []
