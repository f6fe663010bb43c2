"""The fraud check's rules and thresholds as shipped; the admin edits them afterwards.

The values are copied here (not imported from orders.services.fraud) so this migration stays
what it was when it ran; tests/orders/test_fraud_rules.py checks that both agree.
"""

from django.db import migrations

RULES = [
    {
        "code": "address_mismatch",
        "name": "Billing and shipping addresses differ",
        "weight": 15,
        "params": {},
    },
    {
        "code": "high_value",
        "name": "Order value far above the store's average",
        "weight": 20,
        "params": {"multiplier": 3, "sample": 200, "min_orders": 20},
    },
    {
        "code": "first_order_express",
        "name": "First order with express shipping",
        "weight": 15,
        "params": {
            "keywords": [
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
        },
    },
    {
        "code": "velocity_email",
        "name": "Several orders from one e-mail in a short time",
        "weight": 20,
        "params": {"orders": 3, "hours": 24},
    },
    {
        "code": "velocity_address",
        "name": "Several orders to one address in a short time",
        "weight": 15,
        "params": {"orders": 3, "hours": 24},
    },
    {
        "code": "velocity_ip",
        "name": "Several orders from one IP address in a short time",
        "weight": 15,
        "params": {"orders": 3, "hours": 24},
    },
    {
        "code": "velocity_card",
        "name": "Several orders with one card in a short time",
        "weight": 25,
        "params": {"orders": 3, "hours": 24},
    },
    {
        "code": "avs_no_match",
        "name": "The card's address check (AVS) failed",
        "weight": 20,
        "params": {"codes": ["N", "C"]},
    },
    {
        "code": "avs_partial",
        "name": "The card's address check (AVS) matched only in part",
        "weight": 8,
        "params": {"codes": ["A", "B", "P", "W", "Z"]},
    },
    {
        "code": "cvv_no_match",
        "name": "The card's security code (CVV) did not match",
        "weight": 25,
        "params": {"codes": ["N"]},
    },
    {
        "code": "card_checks_passed",
        "name": "The card's address and security code both matched",
        "weight": -10,
        "params": {"avs_codes": ["Y", "X", "D", "F", "M"], "cvv_codes": ["M"]},
    },
    {
        "code": "ip_country_mismatch",
        "name": "The IP address is in another country than the billing address",
        "weight": 20,
        "params": {
            "networks": {
                "192.0.2.0/24": "US",
                "198.51.100.0/24": "GB",
                "203.0.113.0/24": "NG",
                "2001:db8::/32": "DE",
            }
        },
    },
    {
        "code": "disposable_email",
        "name": "Disposable e-mail domain",
        "weight": 25,
        "params": {
            "domains": [
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
        },
    },
    {"code": "many_units", "name": "Many units of one item", "weight": 10, "params": {"units": 10}},
    {
        "code": "customer_fraud_flag",
        "name": "Customer flagged for fraud before",
        "weight": 60,
        "params": {},
    },
    {
        "code": "customer_chargeback",
        "name": "Customer with an earlier chargeback",
        "weight": 30,
        "params": {},
    },
    {
        "code": "returning_customer",
        "name": "Returning customer with paid orders",
        "weight": -15,
        "params": {"paid_orders": 2},
    },
]


def seed(apps, schema_editor):
    FraudRule = apps.get_model("orders", "FraudRule")
    FraudSettings = apps.get_model("orders", "FraudSettings")
    for rule in RULES:
        FraudRule.objects.get_or_create(
            code=rule["code"],
            defaults={"name": rule["name"], "weight": rule["weight"], "params": rule["params"]},
        )
    FraudSettings.objects.get_or_create(
        pk=1, defaults={"medium_threshold": 30, "high_threshold": 60}
    )


def unseed(apps, schema_editor):
    apps.get_model("orders", "FraudRule").objects.filter(
        code__in=[rule["code"] for rule in RULES]
    ).delete()
    apps.get_model("orders", "FraudSettings").objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
