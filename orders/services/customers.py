"""Customers: matched by e-mail address (lower-case), so every order of one person shares one
record and its history."""

from __future__ import annotations

from orders.models import Customer


def customer_match(
    *, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer | None:
    """The customer with this e-mail address, created if new; None without an address.

    Blank name and phone fields are filled from the order; what is there is kept. Safe
    against two orders of a new customer arriving at once: the unique e-mail address lets
    only one insert win, and the other reads it.
    """
    person = {"email": email, "first_name": first_name, "last_name": last_name, "phone": phone}
    return customers_match_many([person]).get((email or "").strip().lower())


def customers_match_many(people: list[dict[str, str]]) -> dict[str, Customer]:
    """customer_match for many orders at once (an intake batch): {e-mail: customer}.

    `people` are dicts of email, first_name, last_name and phone. New addresses are created
    together, and a parallel insert of the same address is read back (ON CONFLICT DO
    NOTHING, then one read); blank name and phone fields are filled from the first order
    that has them.
    """
    wanted: dict[str, dict[str, str]] = {}
    for person in people:
        email = (person.get("email") or "").strip().lower()
        if email and email not in wanted:
            wanted[email] = {
                "first_name": (person.get("first_name") or "")[:100],
                "last_name": (person.get("last_name") or "")[:100],
                "phone": (person.get("phone") or "")[:40],
            }
    if not wanted:
        return {}
    found = {c.email: c for c in Customer.objects.filter(email__in=list(wanted))}
    new = [Customer(email=e, **fields) for e, fields in wanted.items() if e not in found]
    if new:
        Customer.objects.bulk_create(new, ignore_conflicts=True)
        found = {c.email: c for c in Customer.objects.filter(email__in=list(wanted))}
    for email, customer in found.items():
        missing = {
            name: value
            for name, value in wanted[email].items()
            if value and not getattr(customer, name)
        }
        if missing:
            Customer.objects.filter(pk=customer.pk).update(**missing)
            for name, value in missing.items():
                setattr(customer, name, value)
    return found
