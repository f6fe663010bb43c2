"""The staff roles (groups with their permissions) and the process catalogue of the business.

The data lives here, not imported from app code, so this migration means the same thing
whenever it runs.
"""

from datetime import time

from django.db import migrations

ROLES = [
    "Owner",
    "Manager",
    "Order reviewer",
    "Fulfillment",
    "Inventory",
    "Customer service",
    "Content editor",
    "Bookkeeper",
    "Admin",
]

# Model permissions per role ("app_label.codename"); later areas add theirs.
STAFF_PERMISSIONS = [
    "processes.view_process",
    "processes.view_workitem",
    "processes.change_workitem",
    "processes.view_shift",
    "processes.view_shiftchange",
    "processes.view_watchedhours",
]
OVERSIGHT_PERMISSIONS = STAFF_PERMISSIONS + [
    "processes.view_processevent",
    "processes.add_shift",
    "processes.change_shift",
    "processes.delete_shift",
    "processes.add_shiftchange",
    "processes.change_shiftchange",
    "processes.delete_shiftchange",
]
EDITOR_PERMISSIONS = OVERSIGHT_PERMISSIONS + [
    "processes.change_process",
    "processes.add_watchedhours",
    "processes.change_watchedhours",
    "processes.delete_watchedhours",
]
ADMIN_PERMISSIONS = EDITOR_PERMISSIONS + [
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    "auth.change_group",
    "core.view_securityevent",
    "core.view_sweeprun",
]
ROLE_PERMISSIONS = {
    "Owner": EDITOR_PERMISSIONS,
    "Manager": OVERSIGHT_PERMISSIONS,
    "Admin": ADMIN_PERMISSIONS,
}

WEEKDAYS = [(d, time(9), time(17)) for d in range(5)]
WEEK_AND_SATURDAY = WEEKDAYS + [(5, time(10), time(16))]

CATALOGUE = [
    {
        "key": "order_review",
        "name": "Order review",
        "summary": "Every new web order is looked at before it is fulfilled.",
        "owner_role": "Order reviewer",
        "target_minutes": 60,
        "hours": WEEK_AND_SATURDAY,
        "procedure": """\
New orders from the web store land in the review queue. Review the oldest first.

1. Open the order and read the **risk indicators** and the customer's history.
2. Check that every line matched a product and that the fulfillment method is right.
3. **Approve** when everything is in order; **hold** with a note when you need to ask
   the customer something; **cancel** only with the owner's agreement.

Orders waiting longer than the target time are escalated to the backup.""",
        "checklist": [
            "Read the risk indicators",
            "Check the customer's history",
            "Check lines and fulfillment method",
            "Approve, hold or cancel with a note",
        ],
    },
    {
        "key": "fraud_review",
        "name": "Fraud review",
        "summary": "Orders the fraud rules flagged get a second, careful look.",
        "owner_role": "Order reviewer",
        "target_minutes": 120,
        "hours": WEEK_AND_SATURDAY,
        "procedure": """\
An order lands here when its fraud score is above the threshold.

1. Read each rule that fired; each explains itself in a sentence.
2. Compare billing and shipping address, the IP country and the payment checks (AVS, CVV).
3. When in doubt, e-mail or call the customer from the number on file, never one given in
   the order notes.
4. Approve, or cancel and refund, and write down why.""",
        "checklist": [
            "Read every rule that fired",
            "Compare addresses, IP country and payment checks",
            "Contact the customer when in doubt",
            "Record the decision and the reason",
        ],
    },
    {
        "key": "pick_pack_ship",
        "name": "Pick, pack, ship",
        "summary": "Approved orders are picked, packed with a scan check, and shipped.",
        "owner_role": "Fulfillment",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Print the pick list for your location; pick in bin order.
2. Pack at the pack screen: **scan every unit**. The parcel only closes when everything
   is scanned.
3. Print the packing slip, enter the carrier and tracking number, and ship.""",
        "checklist": ["Pick by bin", "Scan every unit", "Packing slip in the box", "Ship"],
    },
    {
        "key": "drop_ship",
        "name": "Drop ship",
        "summary": "Lines the vendor ships go to the vendor, who confirms and sends tracking.",
        "owner_role": "Fulfillment",
        "target_minutes": 48 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Check that the vendor received the purchase order e-mail.
2. Chase vendors who have not confirmed within the target time.
3. Make sure the tracking number reaches the customer.""",
        "checklist": ["Vendor confirmed", "Tracking entered", "Customer notified"],
    },
    {
        "key": "store_pickup",
        "name": "Store pickup",
        "summary": "Orders collected in store: ready notice, pickup code, handover.",
        "owner_role": "Fulfillment",
        "target_minutes": 4 * 60,
        "hours": WEEK_AND_SATURDAY,
        "procedure": """\
1. Pick the order and put it on the pickup shelf.
2. Mark it **ready for pickup**: the customer gets the pickup code.
3. At handover, check the code (or order number and name) and record the handover.""",
        "checklist": ["Picked to the pickup shelf", "Ready notice sent", "Code checked"],
    },
    {
        "key": "local_delivery",
        "name": "Local delivery",
        "summary": "Orders delivered by the store's own drivers in delivery windows.",
        "owner_role": "Fulfillment",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Print each driver's route sheet for the day, grouped by delivery window.
2. Mark orders **out for delivery** when the van leaves.
3. Record delivered (with a note) or failed (with a reason) and reschedule failures.""",
        "checklist": ["Route sheet printed", "Out for delivery", "Delivered or rescheduled"],
    },
    {
        "key": "shipping_notice",
        "name": "Shipping notice to customers",
        "summary": "Every shipped order tells its customer the carrier and tracking link.",
        "owner_role": "Customer service",
        "target_minutes": 60,
        "hours": WEEKDAYS,
        "procedure": """\
Shipping notices are sent automatically when an order ships. Watch this queue for notices
that failed (bad e-mail address, bounced) and contact those customers another way.""",
        "checklist": ["Check failed notices", "Contact the customer another way"],
    },
    {
        "key": "out_of_stock",
        "name": "Out-of-stock handling",
        "summary": "Order lines that could not be reserved wait here for a decision.",
        "owner_role": "Inventory",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
For each backordered line decide, with the customer where needed:

- **wait** for a purchase order (tell the customer the expected date);
- **substitute** a similar item (only with the customer's agreement);
- **cancel** the line and refund it.""",
        "checklist": ["Check incoming purchase orders", "Contact the customer", "Decide"],
    },
    {
        "key": "receiving",
        "name": "Receiving",
        "summary": "Deliveries from vendors are counted in against their purchase orders.",
        "owner_role": "Inventory",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Open the purchase order and scan each item as you unpack it.
2. Record over- and under-counts; they are kept as discrepancies.
3. Put unknown items aside and flag them for the data-entry queue.""",
        "checklist": ["Scan every item", "Record discrepancies", "Flag unknown items"],
    },
    {
        "key": "pos_sync",
        "name": "POS stock sync",
        "summary": "Stock and prices from the store's POS are brought in every day.",
        "owner_role": "Inventory",
        "target_minutes": 24 * 60,
        "review_every_days": 1,
        "hours": WEEKDAYS,
        "procedure": """\
1. Export the item library from the POS.
2. Upload it, read the **preview** (new SKUs, quantity changes, price differences).
3. Apply it. A bad row rejects the whole file with its row number: fix and upload again.""",
        "checklist": ["Export from the POS", "Read the preview", "Apply"],
    },
    {
        "key": "web_ready_data",
        "name": "Web-ready data entry",
        "summary": "Items missing a picture, description, price or category get completed.",
        "owner_role": "Content editor",
        "target_minutes": 3 * 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
An item is web-ready when it has at least one picture, a real description, a retail price
and a category. Claim the oldest item, complete what is missing, and mark it verified.""",
        "checklist": ["Picture", "Description", "Retail price", "Category", "Verified"],
    },
    {
        "key": "returns",
        "name": "Returns",
        "summary": "Return requests are decided under the published return policy.",
        "owner_role": "Customer service",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Check the request against the return policy (window, final sale, quantity).
2. Approve with return instructions, or decline with the reason.
3. When the parcel arrives, scan it in and inspect each line: restock, write off or
   return to the vendor.""",
        "checklist": ["Check eligibility", "Approve or decline", "Receive", "Inspect lines"],
    },
    {
        "key": "refunds",
        "name": "Refunds",
        "summary": "Refunds are computed from the lines and issued, never beyond what was paid.",
        "owner_role": "Customer service",
        "target_minutes": 24 * 60,
        "hours": WEEKDAYS,
        "procedure": """\
1. Check the amount opsdesk computed (lines, tax share, shipping, restocking fee).
2. Refunds above the threshold need a second person's approval.
3. Issue it and record the payment provider's reference.""",
        "checklist": ["Check the amount", "Second approval if needed", "Record the reference"],
    },
    {
        "key": "site_updates",
        "name": "Site updates",
        "summary": "Store hours, holiday hours, sales, banners and pages kept accurate.",
        "owner_role": "Content editor",
        "target_minutes": 2 * 24 * 60,
        "review_every_days": 7,
        "hours": WEEKDAYS,
        "procedure": """\
Every week: check store hours and the coming holidays, the running sales and banners, and
the pages. Anything out of date is fixed the same day.""",
        "checklist": ["Hours and holidays", "Sales and banners", "Pages"],
    },
    {
        "key": "bookkeeping",
        "name": "Bookkeeping",
        "summary": "Sales, shipments, refunds and receipts are posted and exported.",
        "owner_role": "Bookkeeper",
        "target_minutes": 3 * 24 * 60,
        "review_every_days": 30,
        "hours": WEEKDAYS,
        "procedure": """\
1. Check the journal for the period: every entry balances.
2. Review the reports and export the journal for the accounting software.
3. Close the period when the month is reconciled.""",
        "checklist": ["Journal checked", "Reports reviewed", "Exported", "Period closed"],
    },
]


def _create_permissions(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are made after all migrations unless asked for; create_permissions skips
    # app configs without models_module, which migration states have.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original


def seed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Process = apps.get_model("processes", "Process")
    WatchedHours = apps.get_model("processes", "WatchedHours")

    _create_permissions(apps)
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        groups[role] = group
        wanted = ROLE_PERMISSIONS.get(role, STAFF_PERMISSIONS)
        for label in wanted:
            app_label, codename = label.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                group.permissions.add(perm)

    for entry in CATALOGUE:
        process, created = Process.objects.get_or_create(
            key=entry["key"],
            defaults={
                "name": entry["name"],
                "summary": entry["summary"],
                "owner_role": groups[entry["owner_role"]],
                "target_minutes": entry["target_minutes"],
                "review_every_days": entry.get("review_every_days"),
                "procedure": entry["procedure"],
                "checklist": entry["checklist"],
            },
        )
        if created:
            WatchedHours.objects.bulk_create(
                WatchedHours(process=process, weekday=d, start=s, end=e)
                for d, s, e in entry["hours"]
            )


def unseed(apps, schema_editor):
    Process = apps.get_model("processes", "Process")
    WatchedHours = apps.get_model("processes", "WatchedHours")
    keys = [entry["key"] for entry in CATALOGUE]
    WatchedHours.objects.filter(process__key__in=keys).delete()
    Process.objects.filter(key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("processes", "0001_initial"),
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
