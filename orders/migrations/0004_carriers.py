"""The common carriers, with the address of their tracking pages (the admin edits them)."""

from django.db import migrations

CARRIERS = [
    ("UPS", "ups", "https://www.ups.com/track?tracknum={tracking}"),
    ("USPS", "usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}"),
    ("FedEx", "fedex", "https://www.fedex.com/fedextrack/?trknbr={tracking}"),
    ("DHL Express", "dhl-express", "https://www.dhl.com/en/express/tracking.html?AWB={tracking}"),
    (
        "Canada Post",
        "canada-post",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={tracking}",
    ),
    (
        "Royal Mail",
        "royal-mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}",
    ),
    ("Purolator", "purolator", "https://www.purolator.com/en/shipping/tracker?pin={tracking}"),
    (
        "Australia Post",
        "australia-post",
        "https://auspost.com.au/mypost/track/#/details/{tracking}",
    ),
    ("DPD", "dpd", "https://tracking.dpd.de/status/en_US/parcel/{tracking}"),
]


def add_carriers(apps, schema_editor):
    Carrier = apps.get_model("orders", "Carrier")
    for position, (name, code, template) in enumerate(CARRIERS):
        Carrier.objects.get_or_create(
            code=code,
            defaults={"name": name, "tracking_url_template": template, "position": position},
        )


def remove_carriers(apps, schema_editor):
    Carrier = apps.get_model("orders", "Carrier")
    Carrier.objects.filter(code__in=[code for _, code, _ in CARRIERS], shipments=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_fulfillment"),
    ]

    operations = [
        migrations.RunPython(add_carriers, remove_carriers),
    ]
