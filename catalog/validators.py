"""Barcode (GTIN) checks: GTIN-8, UPC-A (12), EAN-13 and GTIN-14, with the GS1 check digit."""

from django.core.exceptions import ValidationError

GTIN_LENGTHS = {8: "GTIN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of `body` (the code without it): weights 3, 1, 3 ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    """Refuse a barcode that is not 8, 12, 13 or 14 digits with a correct check digit."""
    code = (value or "").strip()
    if not code:
        return
    bad = sorted({c for c in code if not c.isdigit() or not c.isascii()})
    if bad:
        shown = ", ".join(f"“{c}”" if not c.isspace() else "a space" for c in bad)
        raise ValidationError(
            f"A barcode has digits only; {code} contains {shown}.", code="gtin_not_digits"
        )
    if len(code) not in GTIN_LENGTHS:
        raise ValidationError(
            f"A barcode has 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14); "
            f"{code} has {len(code)}.",
            code="gtin_length",
        )
    expected = gtin_check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise ValidationError(
            f"The check digit of {GTIN_LENGTHS[len(code)]} {code} is wrong: the last digit "
            f"should be {expected}, not {code[-1]}. Look for a mistyped or swapped digit.",
            code="gtin_check_digit",
        )


def gtin_complete(body: str) -> str:
    """`body` with its check digit appended (for generating valid codes, e.g. demo data)."""
    return body + str(gtin_check_digit(body))
