"""Customers: matched by e-mail address (lower-case), so every order of one person shares one
record and its history."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from orders.models import Customer


def customer_match(
    *, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer | None:
    """The customer with this e-mail address, created if new; None without an address.

    Blank name and phone fields are filled from the order; what is there is kept. Safe
    against two orders of a new customer arriving at once: the unique e-mail address lets
    only one insert win, and the other reads it.
    """
    email = (email or "").strip().lower()
    if not email:
        return None
    fields = {
        "first_name": first_name[:100],
        "last_name": last_name[:100],
        "phone": phone[:40],
    }
    customer = Customer.objects.filter(email=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(email=email, **fields)
        except IntegrityError:
            customer = Customer.objects.get(email=email)
    missing = {
        name: value for name, value in fields.items() if value and not getattr(customer, name)
    }
    if missing:
        Customer.objects.filter(pk=customer.pk).update(**missing)
        for name, value in missing.items():
            setattr(customer, name, value)
    return customer
